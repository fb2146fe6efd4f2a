-- The registry: install, drop, replace and train are transactional writes of
-- this database; privileges by GRANT; the sizes of stored models; snapshots
-- shared by content.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
\set SHOW_CONTEXT never

\i test/sql/err.psql

SELECT directory || '/all-MiniLM-L6-v2.bert' AS fp32_path, content_hash AS fp32_hash
FROM bert_models WHERE name = 'all-MiniLM-L6-v2' \gset
SELECT directory || '/all-MiniLM-L6-v2-int8.bert' AS int8_path, content_hash AS int8_hash
FROM bert_models WHERE name = 'all-MiniLM-L6-v2-int8' \gset

\i test/sql/topics.psql
-- twelve of them: six about cooking, six about computing
CREATE TABLE regress_topics AS
  SELECT row_number() OVER (ORDER BY id)::int AS id, body, topic FROM topics
  WHERE id BETWEEN 1 AND 6 OR id BETWEEN 19 AND 24;
DROP TABLE topics;

-- ROLLBACK undoes an install ...
BEGIN;
SELECT bert_install_model('regress-tx', :'fp32_path');
SELECT name, storage FROM bert_models WHERE name = 'regress-tx';
SELECT array_length(bert_embed('seen inside', 'regress-tx'), 1) AS dims;
ROLLBACK;
SELECT count(*) AS after_rollback FROM bert_models WHERE name = 'regress-tx';
SELECT pg_temp.err($$SELECT bert_embed('x', 'regress-tx')$$);
SELECT count(*) AS chunks_left FROM _bert.model_chunk WHERE content_hash = :'fp32_hash';

-- ... a drop
SELECT bert_install_model('regress-tx', :'fp32_path');
BEGIN;
SELECT bert_drop_model('regress-tx');
SELECT pg_temp.err($$SELECT bert_embed('x', 'regress-tx')$$);
ROLLBACK;
SELECT bert_embed('back', 'regress-tx') = bert_embed('back', 'all-MiniLM-L6-v2') AS back;

-- ... a replacement
BEGIN;
SELECT bert_install_model('regress-tx', :'int8_path', replace => true);
SELECT content_hash = :'int8_hash' AS replaced,
       bert_embed('w', 'regress-tx') = bert_embed('w', 'all-MiniLM-L6-v2-int8') AS new_weights
FROM bert_models WHERE name = 'regress-tx';
ROLLBACK;
SELECT content_hash = :'fp32_hash' AS original,
       bert_embed('w', 'regress-tx') = bert_embed('w', 'all-MiniLM-L6-v2') AS original_weights
FROM bert_models WHERE name = 'regress-tx';

-- ... a training
SET client_min_messages = warning;
BEGIN;
SELECT examples FROM bert_train_classifier('regress-tx-clf', 'regress-tx',
       'SELECT body, topic FROM regress_topics', epochs => 2);
SELECT bert_classify('Bake the bread.', 'regress-tx-clf') IS NOT NULL AS usable;
ROLLBACK;
RESET client_min_messages;
SELECT count(*) AS after_rollback FROM bert_models WHERE name = 'regress-tx-clf';
SELECT pg_temp.err($$SELECT bert_classify('x', 'regress-tx-clf')$$);

-- ... and a savepoint only its part
BEGIN;
SELECT bert_install_model('regress-sp', :'fp32_path');
SAVEPOINT s;
SELECT bert_drop_model('regress-tx');
ROLLBACK TO s;
COMMIT;
SELECT name FROM bert_models WHERE name IN ('regress-sp', 'regress-tx') ORDER BY name;

-- read-only transactions refuse every write at once (25006); models work
BEGIN READ ONLY;
SELECT pg_temp.err(format('SELECT bert_install_model(%L, %L)', 'regress-ro', :'fp32_path'));
SELECT pg_temp.err($$SELECT bert_install_model('regress-ro', '\x00'::bytea)$$);
SELECT pg_temp.err($$SELECT bert_drop_model('regress-tx')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-ro', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM regress_topics')$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-ro', 'all-MiniLM-L6-v2', 'SELECT body, NULL::jsonb FROM regress_topics')$$);
SELECT array_length(bert_embed('reading is fine', 'regress-tx'), 1) AS dims;
ROLLBACK;

-- the registry's rows; names with the same weights share their bytes
SELECT name, kind, layers, hidden, labels, pooling, normalized, bytes, base_hash
FROM _bert.model WHERE name LIKE 'regress-%' ORDER BY name;
SELECT count(*) AS chunks, sum(octet_length(data)) AS bytes
FROM _bert.model_chunk WHERE content_hash = :'fp32_hash';

-- sizes: a trained 2-label classifier is an overlay on its base model, a
-- few kilobytes in the database and in the cache
CREATE TEMP TABLE size_before AS
SELECT pg_total_relation_size('_bert.model') + pg_total_relation_size('_bert.model_chunk') AS db,
       array(SELECT f FROM pg_ls_dir('pg_bert/cache') f WHERE f LIKE '%.bert') AS snapshots;
SET client_min_messages = warning;
SELECT labels, examples FROM bert_train_classifier('regress-small', 'all-MiniLM-L6-v2',
       'SELECT body, topic FROM regress_topics ORDER BY id', epochs => 20);
RESET client_min_messages;
SELECT bert_classify('Simmer the soup until it thickens.', 'regress-small') AS topic,
       bert_classify('Reboot the router.', 'regress-small') AS other;
SELECT m.kind, m.base_model, m.base_hash = :'fp32_hash' AS on_base, m.bytes,
       m.bytes_in_database BETWEEN m.bytes AND 1048576 AS db_bytes_small,
       m.bytes_in_cache = m.bytes AS cache_holds_the_overlay,
       pg_total_relation_size('_bert.model') + pg_total_relation_size('_bert.model_chunk') - b.db
         <= 1048576 AS tables_grew_under_1mb,
       array(SELECT f FROM pg_ls_dir('pg_bert/cache') f WHERE f LIKE '%.bert'
             EXCEPT SELECT unnest(b.snapshots)) = array[m.content_hash || '.bert'] AS one_new_snapshot
FROM bert_models m, size_before b WHERE m.name = 'regress-small';

-- four names over two distinct weight sets: two snapshots, each content
-- stored once
\getenv fixtures BERT_REGRESS_FIXTURES
\set heads_seq :fixtures '/heads/seq'
\set heads_token :fixtures '/heads/token'
SELECT bert_install_model('regress-seq-1', :'heads_seq'),
       bert_install_model('regress-seq-2', :'heads_seq'),
       bert_install_model('regress-tok-1', :'heads_token'),
       bert_install_model('regress-tok-2', :'heads_token');
SELECT (SELECT array_agg(score) FROM bert_classify_scores('Hello World', 'regress-seq-1')) =
       (SELECT array_agg(score) FROM bert_classify_scores('Hello World', 'regress-seq-2')) AS same_seq,
       (SELECT array_agg(label) FROM bert_token_labels('Hello World', 'regress-tok-1')) =
       (SELECT array_agg(label) FROM bert_token_labels('Hello World', 'regress-tok-2')) AS same_tok;
SELECT count(*) AS names, count(DISTINCT content_hash) AS contents,
       count(*) FILTER (WHERE bytes_in_cache = bytes) AS names_with_snapshot
FROM bert_models WHERE name ~ '^regress-(seq|tok)-';
SELECT count(*) AS snapshot_files FROM pg_ls_dir('pg_bert/cache') f
WHERE f IN (SELECT content_hash || '.bert' FROM bert_models WHERE name ~ '^regress-(seq|tok)-');
SELECT count(DISTINCT content_hash) AS stored_contents,
       sum(octet_length(data)) = (SELECT sum(DISTINCT bytes) FROM bert_models
                                  WHERE name ~ '^regress-(seq|tok)-') AS stored_once
FROM _bert.model_chunk
WHERE content_hash IN (SELECT content_hash FROM bert_models WHERE name ~ '^regress-(seq|tok)-');

-- training keeps its base loaded for the whole training, even when the
-- training query replaces that base (0.1.0 then trained on freed memory:
-- another encoder, or "encoder rejected its input")
SELECT bert_install_model('regress-pin-base', :'int8_path');
SET client_min_messages = warning;
SELECT round(loss::numeric, 6) AS loss FROM bert_train_classifier('regress-pin-ref', 'regress-pin-base',
       'SELECT body, topic FROM regress_topics ORDER BY id', epochs => 5) \gset ref_
SELECT round(loss::numeric, 6) = :ref_loss AS same_loss
FROM bert_train_classifier('regress-pin', 'regress-pin-base',
       format($q$SELECT t.body, t.topic FROM regress_topics t,
                 LATERAL (SELECT CASE WHEN t.id = 3 THEN bert_install_model('regress-pin-base', %L, true) END) swap,
                 LATERAL (SELECT bert_token_count(t.body, 'all-MiniLM-L6-v2')) other
                 ORDER BY t.id$q$, :'fp32_path'), epochs => 5);
RESET client_min_messages;
SELECT name, base_hash = :'int8_hash' AS on_int8, content_hash = :'fp32_hash' AS now_fp32
FROM bert_models WHERE name IN ('regress-pin', 'regress-pin-base', 'regress-pin-ref') ORDER BY name;
SELECT (SELECT array_agg(score) FROM bert_classify_scores('Stir the sauce.', 'regress-pin')) =
       (SELECT array_agg(score) FROM bert_classify_scores('Stir the sauce.', 'regress-pin-ref')) AS same_model;

-- privileges: everyone may use the models; changing the registry is
-- revoked from PUBLIC and granted, like pg_stat_statements_reset()
CREATE ROLE regress_bert_user;
SET ROLE regress_bert_user;
SELECT array_length(bert_embed('everyone may use models', 'regress-tx'), 1) AS dims;
-- server paths only for roles that may read server files
SELECT name, storage, directory, source FROM bert_models
WHERE name IN ('all-MiniLM-L6-v2', 'regress-tx') ORDER BY name;
SELECT models_directory FROM bert_info();
SELECT pg_temp.err(format('SELECT bert_install_model(%L, %L)', 'regress-user', :'int8_path'));
SELECT pg_temp.err($$SELECT bert_install_model('regress-user', '\x00'::bytea)$$);
SELECT pg_temp.err($$SELECT bert_drop_model('regress-tx')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-user', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM regress_topics')$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-user', 'all-MiniLM-L6-v2', 'SELECT body, NULL::jsonb FROM regress_topics')$$);
SELECT pg_temp.err($$SELECT bert_models_reset()$$);
SELECT pg_temp.err($$SELECT count(*) FROM _bert.model$$);
SELECT pg_temp.err($$SELECT count(*) FROM _bert.model_chunk$$);
RESET ROLE;

-- the recipe: grant a role what it may do; it needs no privilege on _bert
GRANT EXECUTE ON FUNCTION bert_install_model(text, bytea, boolean), bert_drop_model(text),
      bert_train_classifier(text, text, text, int, float8, float8, int, boolean, boolean)
   TO regress_bert_user;
CREATE TABLE regress_blob AS SELECT pg_read_binary_file(:'int8_path') AS data;
GRANT SELECT ON regress_blob TO regress_bert_user;
SET ROLE regress_bert_user;
SELECT bert_install_model('regress-sent', data) FROM regress_blob;
SELECT name, storage, content_hash = :'int8_hash' AS same_content, installed_by, source
FROM bert_models WHERE name = 'regress-sent';
SELECT bert_embed('sent bytes', 'regress-sent') = bert_embed('sent bytes', 'all-MiniLM-L6-v2-int8') AS same;
-- reading a server path is another function, not granted
SELECT pg_temp.err(format('SELECT bert_install_model(%L, %L)', 'regress-user', :'int8_path'));
-- the training query runs as the caller: rows it may not read, it cannot train on
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-user-clf', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM regress_topics')$$);
SELECT bert_drop_model('regress-sent');
RESET ROLE;
GRANT SELECT ON regress_topics TO regress_bert_user;
SET ROLE regress_bert_user;
SET client_min_messages = warning;
SELECT examples FROM bert_train_classifier('regress-user-clf', 'all-MiniLM-L6-v2',
       'SELECT body, topic FROM regress_topics', epochs => 2);
RESET client_min_messages;
SELECT installed_by, base_model FROM bert_models WHERE name = 'regress-user-clf';
RESET ROLE;
-- installing from a server path also needs pg_read_server_files
GRANT EXECUTE ON FUNCTION bert_install_model(text, text, boolean) TO regress_bert_user;
SET ROLE regress_bert_user;
SELECT pg_temp.err(format('SELECT bert_install_model(%L, %L)', 'regress-path', :'int8_path'));
RESET ROLE;
GRANT pg_read_server_files TO regress_bert_user;
SET ROLE regress_bert_user;
SELECT bert_install_model('regress-path', :'int8_path');
SELECT name, source = :'int8_path' AS sees_its_path FROM bert_models WHERE name = 'regress-path';
RESET ROLE;

-- bytes that are no model are refused
SELECT pg_temp.err($$SELECT bert_install_model('regress-garbage', 'not a model'::bytea)$$);
SELECT pg_temp.err($$SELECT bert_install_model('regress-garbage', substr(data, 1, 100000)) FROM regress_blob$$);
SELECT pg_temp.err($$SELECT bert_install_model('regress-garbage', overlay(data placing '\xff'::bytea from 9 for 1)) FROM regress_blob$$);

-- bert_distribute_models() needs Citus (test/citus.sh runs it on a cluster)
SELECT pg_temp.err('SELECT bert_distribute_models()');

-- clean up: no bytes stay that no model uses
SELECT count(bert_drop_model(name)) AS dropped FROM bert_models WHERE name LIKE 'regress-%';
SELECT count(*) AS rows_left, (SELECT count(*) FROM _bert.model_chunk c
  WHERE NOT EXISTS (SELECT FROM _bert.model m
                    WHERE c.content_hash IN (m.content_hash, m.base_hash))) AS orphan_chunks
FROM _bert.model WHERE name LIKE 'regress-%';
DROP TABLE regress_topics, regress_blob;
DROP OWNED BY regress_bert_user;
DROP ROLE regress_bert_user;
