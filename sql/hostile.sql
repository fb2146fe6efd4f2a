-- Hostile and careless use (issue 14), one case per item that a single
-- session can show; test/hostile.sh has the multi-session ones (concurrent
-- writers, interrupt storms, threads, memory, cancel, pgvector).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
\set SHOW_CONTEXT never

\i test/sql/err.psql

-- distance of each row's embedding from bert_embed of its own text
CREATE FUNCTION pg_temp.off(e real[], body text) RETURNS float8 LANGUAGE sql AS
$$SELECT max(abs(x - y)) FROM unnest(e, bert_embed(body, 'all-MiniLM-L6-v2')) u(x, y)$$;

-- 1. bert_embed_table on partitioned, inheritance and foreign-keyed tables:
-- each row its own embedding, filled rows left alone
CREATE TABLE hp (id int, body text, emb real[]) PARTITION BY LIST (id);
CREATE TABLE hp1 PARTITION OF hp FOR VALUES IN (1);
CREATE TABLE hp2 PARTITION OF hp FOR VALUES IN (2);
CREATE TABLE hp3 PARTITION OF hp FOR VALUES IN (3);
INSERT INTO hp (id, body) VALUES (1, 'The weather is lovely today.'), (2, 'He drove to the stadium.'),
  (3, 'It''s so sunny outside!');
UPDATE hp SET emb = '{9}' WHERE id = 3;	-- already filled: must stay
SET client_min_messages = warning;	-- the progress NOTICEs carry timings
CALL bert_embed_table('hp', 'body', 'emb');
RESET client_min_messages;
SELECT id, tableoid::regclass AS part, emb = '{9}' AS kept, pg_temp.off(emb, body) < 1e-5 AS own
FROM hp ORDER BY id;

CREATE TABLE hi (id int PRIMARY KEY, body text, emb real[]);
CREATE TABLE hi_child (extra int) INHERITS (hi);
CREATE TABLE hi_grandchild () INHERITS (hi_child);
INSERT INTO hi VALUES (1, 'A cat sat on the mat.', NULL), (2, NULL, NULL);
INSERT INTO hi_child VALUES (1, 'Stock markets fell sharply.', NULL, 0);	-- same ctid as hi's row 1
INSERT INTO hi_grandchild VALUES (1, 'Bread, butter and jam.', NULL, 0), (3, 'Rain in the harbour.', '{7}', 0);
SET client_min_messages = warning;
CALL bert_embed_table('hi', 'body', 'emb', 1);
RESET client_min_messages;
SELECT tableoid::regclass AS tab, id, body IS NULL AS null_text, emb IS NULL AS null_emb,
       emb = '{7}' AS kept, pg_temp.off(emb, body) < 1e-5 AS own
FROM hi ORDER BY 1, 2;

CREATE TABLE hk_parent (id int PRIMARY KEY);
CREATE TABLE hk (id int PRIMARY KEY, parent int NOT NULL REFERENCES hk_parent ON UPDATE CASCADE,
                 body text, emb real[]);
INSERT INTO hk_parent SELECT g FROM generate_series(1, 3) g;
INSERT INTO hk SELECT g, 1 + g % 3, 'Sentence number ' || g || '.', NULL FROM generate_series(1, 30) g;
SET client_min_messages = warning;
CALL bert_embed_table('hk', 'body', 'emb', 7);
RESET client_min_messages;
SELECT count(*) AS rows, count(*) FILTER (WHERE pg_temp.off(emb, body) < 1e-5) AS own FROM hk;

-- a row a trigger keeps NULL is tried once, then reported, never looped on
CREATE TABLE ht (id int, body text, emb real[]);
INSERT INTO ht SELECT g, 'Row ' || g, NULL FROM generate_series(1, 5) g;
CREATE FUNCTION pg_temp.keep_null() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN IF NEW.id = 3 THEN NEW.emb := NULL; END IF; RETURN NEW; END$$;
CREATE TRIGGER keep_null BEFORE UPDATE ON ht FOR EACH ROW EXECUTE FUNCTION pg_temp.keep_null();
\set VERBOSITY terse
SET client_min_messages = warning;
CALL bert_embed_table('ht', 'body', 'emb', 2);
RESET client_min_messages;
\set VERBOSITY default
SELECT id, emb IS NULL AS null_emb FROM ht ORDER BY id;
DROP TABLE ht;

-- 2. search_path: a non-superuser who may create in public plants
-- look-alikes of what the old procedure called unqualified; a superuser then
-- calls the procedure and the trainer.  Nothing of theirs may run.
CREATE ROLE regress_bert_evil;
GRANT CREATE ON SCHEMA public TO regress_bert_evil;
CREATE TABLE hijack_log (who text, what text);
GRANT INSERT ON hijack_log TO regress_bert_evil;
SET ROLE regress_bert_evil;
CREATE FUNCTION public.format(text, regclass, name, name) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.hijack_log VALUES (current_user, 'format');
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    EXECUTE 'ALTER ROLE regress_bert_evil SUPERUSER';	-- the escalation
  END IF;
  RETURN pg_catalog.format($1, $2, $3, $4);
END$$;
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.hijack_log VALUES (current_user, 'format2'); RETURN pg_catalog.format($1, $2); END$$;
CREATE FUNCTION public.evil_agg(text[], text) RETURNS text[] LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.hijack_log VALUES (current_user, 'array_agg'); RETURN $1 || $2; END$$;
CREATE AGGREGATE public.array_agg(text) (SFUNC = public.evil_agg, STYPE = text[]);
CREATE FUNCTION public.evil_div(bigint, float8) RETURNS float8 LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.hijack_log VALUES (current_user, '/'); RETURN $1::float8 / $2; END$$;
CREATE OPERATOR public./ (LEFTARG = bigint, RIGHTARG = float8, FUNCTION = public.evil_div);
CREATE FUNCTION public.evil_eq(tid, text) RETURNS bool LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.hijack_log VALUES (current_user, '='); RETURN false; END$$;
CREATE OPERATOR public.= (LEFTARG = tid, RIGHTARG = text, FUNCTION = public.evil_eq);
CREATE FUNCTION public.count(text) RETURNS bigint LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.hijack_log VALUES (current_user, 'count'); RETURN 0; END$$;
CREATE FUNCTION public.lower(name) RETURNS text LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.hijack_log VALUES (current_user, 'lower'); RETURN pg_catalog.lower($1::text); END$$;
RESET ROLE;
CREATE TABLE hs (id int, body text, emb real[]);
INSERT INTO hs SELECT g, 'Text ' || g, NULL FROM generate_series(1, 12) g;
SET client_min_messages = warning;
CALL bert_embed_table('hs', 'body', 'emb', 5);
RESET client_min_messages;
SELECT count(*) FILTER (WHERE pg_temp.off(emb, body) < 1e-5) AS filled FROM hs;
SELECT bert_train_classifier('regress-hijack', 'all-MiniLM-L6-v2',
  $$SELECT body, (id % 2)::text FROM hs$$, epochs => 2, replace => true) IS NOT NULL AS trained;
SELECT bert_drop_model('regress-hijack');
SELECT count(*) AS hijacked, (SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_bert_evil') AS evil_is_superuser
FROM hijack_log;
DROP OWNED BY regress_bert_evil;
DROP ROLE regress_bert_evil;
DROP TABLE hijack_log, hs;

-- 3. the IMMUTABLE forms follow no setting: an index built under
-- bert.max_tokens = 4 and bert.truncate = off agrees with a later seq scan
CREATE TABLE hm (id int, body text);
INSERT INTO hm VALUES (1, 'one two three four five six seven'), (2, 'one two three four five six eight'),
  (3, repeat('word ', 300));
SET bert.max_tokens = 4;
SET bert.truncate = off;
CREATE INDEX hm_emb ON hm ((bert_embed(body, 'all-MiniLM-L6-v2')));
SELECT bert_tokenize('one two three four five', 'all-MiniLM-L6-v2') AS explicit_form,
       pg_temp.err($$SELECT bert_tokenize('one two three four five')$$) AS stable_form;
SET bert.truncate = on;
SELECT bert_tokenize('one two three four five') AS stable_form_truncating;
SET bert.truncate = off;
RESET bert.max_tokens;
RESET bert.truncate;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET plan_cache_mode = force_generic_plan;	-- $1, not 384 floats, in the plan
PREPARE by_embedding(real[]) AS SELECT id FROM hm WHERE bert_embed(body, 'all-MiniLM-L6-v2') = $1 ORDER BY id;
EXPLAIN (COSTS OFF) EXECUTE by_embedding(NULL);
EXECUTE by_embedding(bert_embed('one two three four five six seven', 'all-MiniLM-L6-v2'));
EXECUTE by_embedding(bert_embed(repeat('word ', 300), 'all-MiniLM-L6-v2'));
RESET enable_seqscan;
SET enable_indexscan = off;
DEALLOCATE by_embedding;
PREPARE by_embedding(real[]) AS SELECT id FROM hm WHERE bert_embed(body, 'all-MiniLM-L6-v2') = $1 ORDER BY id;
EXPLAIN (COSTS OFF) EXECUTE by_embedding(NULL);
EXECUTE by_embedding(bert_embed('one two three four five six seven', 'all-MiniLM-L6-v2'));
EXECUTE by_embedding(bert_embed(repeat('word ', 300), 'all-MiniLM-L6-v2'));
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET plan_cache_mode;
DEALLOCATE by_embedding;
DROP TABLE hm;

-- 5. harmless interrupts every 100 ms do not make the work start over:
-- 150 long texts finish (they never did)
SET client_connection_check_interval = '100ms';
SET statement_timeout = '120s';
SELECT count(*) AS rows, count(embedding) AS embedded
FROM bert_embed_many(ARRAY(SELECT repeat('The quick brown fox jumps over the lazy dog ' || g || '. ', 5)
                           FROM generate_series(1, 150) g), 'all-MiniLM-L6-v2');
RESET client_connection_check_interval;
RESET statement_timeout;

-- 9. any array PostgreSQL accepts, in bounded memory
SELECT count(*) AS rows, count(embedding) AS embedded, min(ord) AS first, max(ord) AS last
FROM bert_embed_many(array_fill(NULL::text, ARRAY[700000]));
SELECT count(*) AS rows, count(DISTINCT embedding) AS distinct_embeddings
FROM bert_embed_many(ARRAY(SELECT CASE WHEN g % 1000 = 0 THEN NULL ELSE 'x' END FROM generate_series(1, 5000) g));

-- 10. a constant argument runs the model once per statement, not per row:
-- the calls counter of bert_models counts encoder runs
CREATE TABLE hc (id int, body text, emb real[]);
INSERT INTO hc SELECT g, 'Document ' || g || ' about ' || (ARRAY['cats', 'stocks', 'rain'])[1 + g % 3], NULL
FROM generate_series(1, 40) g;
UPDATE hc SET emb = bert_embed(body, 'all-MiniLM-L6-v2');
EXPLAIN (COSTS OFF) SELECT id FROM hc ORDER BY emb <=> bert_embed('something about cats') LIMIT 3;
SELECT calls AS c0 FROM bert_models WHERE name = 'all-MiniLM-L6-v2' \gset
SELECT id FROM hc ORDER BY emb <=> bert_embed('something about cats') LIMIT 3;
SELECT calls - :c0 AS model_calls_order_by FROM bert_models WHERE name = 'all-MiniLM-L6-v2';
EXPLAIN (COSTS OFF) SELECT count(*) FROM hc WHERE bert_similarity(body, 'weather and rain') > 0.3;
SELECT calls AS c0 FROM bert_models WHERE name = 'all-MiniLM-L6-v2' \gset
SELECT count(*) AS similar FROM hc WHERE bert_similarity(body, 'weather and rain') > 0.3;
SELECT calls - :c0 AS model_calls_similarity FROM bert_models WHERE name = 'all-MiniLM-L6-v2';
-- a parameter that changes between executions of a kept expression is embedded again
CREATE FUNCTION pg_temp.first_dims(n int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE q text; r text := '';
BEGIN
  FOR i IN 1 .. n LOOP
    q := (ARRAY['cats', 'stocks', 'rain'])[i];
    r := r || round(((bert_embed(q))[1])::numeric, 4) || ' ';
  END LOOP;
  RETURN r;
END $$;
SELECT pg_temp.first_dims(3) = round((bert_embed('cats'))[1]::numeric, 4) || ' ' ||
       round((bert_embed('stocks'))[1]::numeric, 4) || ' ' || round((bert_embed('rain'))[1]::numeric, 4) || ' '
       AS each_parameter_embedded;
DROP TABLE hc;

-- 12. offsets in a SQL_ASCII database are bytes, as PostgreSQL counts them
-- there; labels of a LATIN1 database are converted from the model's UTF-8
\getenv fixtures BERT_REGRESS_FIXTURES
\set heads_token :fixtures '/heads/token'
\set heads_seq :fixtures '/heads/seq'
SELECT current_database() AS regress_db \gset
SELECT bert_install_model('regress-hostile-token', :'heads_token', replace => true);
DROP DATABASE IF EXISTS regression_bert_sql_ascii;	-- left by an interrupted run
CREATE DATABASE regression_bert_sql_ascii TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C';
\c regression_bert_sql_ascii
SET client_min_messages = warning;
CREATE EXTENSION bert;
RESET client_min_messages;
SELECT token, start_char, end_char, substr('café Hello World', start_char + 1, end_char - start_char) AS source
FROM bert_token_labels('café Hello World', 'regress-hostile-token') ORDER BY position;
SELECT entity = substr('café Hello World', start_char + 1, end_char - start_char) AS entity_is_source
FROM bert_entities('café Hello World', 'regress-hostile-token');
\c :regress_db
DROP DATABASE regression_bert_sql_ascii;
SELECT bert_drop_model('regress-hostile-token');
DROP DATABASE IF EXISTS regression_bert_latin1_labels;	-- left by an interrupted run
CREATE DATABASE regression_bert_latin1_labels TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C';
\c regression_bert_latin1_labels
SET client_encoding = 'UTF8';	-- this file is UTF-8
SET client_min_messages = warning;
CREATE EXTENSION bert;
RESET client_min_messages;
SELECT labels FROM bert_train_classifier('regress-latin1', 'all-MiniLM-L6-v2',
  $$SELECT * FROM (VALUES ('I love it', 'café'), ('Great', 'café'), ('Awful', 'thé'), ('Bad', 'thé')) t$$,
  epochs => 5, replace => true);
SELECT labels FROM bert_models WHERE name = 'regress-latin1';
SELECT bert_classify('I love it', 'regress-latin1') IN ('café', 'thé') AS label_converted;
SELECT bert_drop_model('regress-latin1');
\c :regress_db
DROP DATABASE regression_bert_latin1_labels;
\i test/sql/err.psql
\set SHOW_CONTEXT never

-- 13. silent no-ops and misleading errors: each now a clear error
CREATE TABLE hn (id int, body text, emb real[]);
INSERT INTO hn VALUES (1, 'x', NULL);
CALL bert_embed_table('hn', 'body', 'emb', 4, NULL);
CALL bert_embed_table(NULL, 'body', 'emb');
CALL bert_embed_table('hn', NULL, 'emb');
CALL bert_embed_table('hn', 'body', 'body');
BEGIN;
CALL bert_embed_table('hn', 'body', 'emb');
ROLLBACK;
CREATE FUNCTION pg_temp.fill() RETURNS void LANGUAGE plpgsql AS
$$BEGIN CALL bert_embed_table('hn', 'body', 'emb'); END$$;
SELECT pg_temp.fill();
CREATE VIEW hn_view AS SELECT * FROM hn;
CALL bert_embed_table('hn_view', 'body', 'emb');
CREATE TABLE hn_part (id int, body text, emb real[]) PARTITION BY LIST (id);
CREATE TABLE hn_part1 PARTITION OF hn_part FOR VALUES IN (1);
CREATE EXTENSION file_fdw;
CREATE SERVER hn_files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE hn_part2 PARTITION OF hn_part FOR VALUES IN (2) SERVER hn_files
  OPTIONS (filename '/dev/null');
CALL bert_embed_table('hn_part', 'body', 'emb');
CREATE TABLE hn_int (id int, body text, emb int);
CALL bert_embed_table('hn_int', 'body', 'emb');
SELECT emb IS NULL AS still_null FROM hn;
SELECT pg_temp.err($$SET bert.preload_models = 'all-MiniLM-L6-v2'$$);
SHOW bert.preload_models;
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'UPDATE hn SET id = 2 RETURNING body, body')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT 1; SELECT 2')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'WITH d AS (DELETE FROM hn RETURNING *) SELECT body, body FROM d')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, body FROM hn FOR UPDATE')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, body FROM hn', epochs => NULL)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, NULL::jsonb FROM hn', replace => NULL)$$);
SELECT pg_temp.err(format($$SELECT bert_install_model('regress-x', %L, NULL)$$, :'heads_seq'));
SELECT pg_temp.err(format($$SELECT bert_install_model(NULL, %L)$$, :'heads_seq'));
SELECT pg_temp.err($$SELECT bert_drop_model(NULL)$$);
SELECT count(*) AS hn_rows FROM hn;
DROP TABLE hn, hn_int, hn_part CASCADE;
DROP EXTENSION file_fdw CASCADE;
DROP TABLE hp, hi, hk, hk_parent CASCADE;
