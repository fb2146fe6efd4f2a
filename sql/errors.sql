-- Every error message, with its SQLSTATE and detail.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
\set SHOW_CONTEXT never

\i test/sql/err.psql

-- unknown and invalid model names
SELECT pg_temp.err($$SELECT bert_embed('x', 'no-such-model')$$);
SELECT pg_temp.err($$SELECT bert_embed('x', '../../../etc/passwd')$$);
SELECT pg_temp.err($$SELECT bert_token_ids('x', '')$$);
SELECT pg_temp.err($$SELECT bert_tokenize('x', '.hidden')$$);
SELECT pg_temp.err($$SELECT bert_token_count('x', repeat('m', 65))$$);
SELECT pg_temp.err($$SELECT bert_similarity('a', 'b', 'no/such')$$);

-- malformed arrays
SELECT pg_temp.err($$SELECT bert_cosine_similarity('{1,2,3}', '{1,2}')$$);
SELECT pg_temp.err($$SELECT bert_cosine_similarity('{1,NULL}', '{1,2}')$$);
SELECT pg_temp.err($$SELECT bert_cosine_similarity('{}', '{}')$$);
SELECT pg_temp.err($$SELECT bert_cosine_similarity('{{1,2},{3,4}}', '{1,2,3,4}')$$);
SELECT pg_temp.err($$SELECT '{1,2}'::real[] <=> '{1,2,3}'::real[]$$);

-- damaged model files, written by the server into a scratch directory
-- (bert.model_dir is superuser-only)
SET bert.model_dir = '/tmp';
COPY (SELECT 'this is not a model') TO '/tmp/bert_regress_garbage.bert';
SELECT pg_temp.err($$SELECT bert_embed('x', 'bert_regress_garbage')$$);
COPY (SELECT repeat('x', 600)) TO '/tmp/bert_regress_garbage2.bert';
SELECT pg_temp.err($$SELECT bert_embed('x', 'bert_regress_garbage2')$$);
RESET bert.model_dir;

-- the GUC is superuser-only
CREATE ROLE bert_regress_user;
SET ROLE bert_regress_user;
SELECT pg_temp.err($$SET bert.model_dir = '/tmp'$$);
SELECT pg_temp.err($$SET bert.no_such_setting = 1$$);
RESET ROLE;
DROP ROLE bert_regress_user;

-- a plain error, as psql shows it
SELECT bert_embed('x', 'no-such-model');
