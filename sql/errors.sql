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

-- damaged model files, written by the server into this run's scratch
-- directory (test/regress-fixtures.sh; bert.model_dir is superuser-only)
\getenv fixtures BERT_REGRESS_FIXTURES
\set scratch :fixtures '/scratch'
\set garbage :scratch '/bert_regress_garbage.bert'
\set garbage2 :scratch '/bert_regress_garbage2.bert'
SET bert.model_dir = :'scratch';
COPY (SELECT 'this is not a model') TO :'garbage';
SELECT pg_temp.err($$SELECT bert_embed('x', 'bert_regress_garbage')$$);
COPY (SELECT repeat('x', 600)) TO :'garbage2';
SELECT pg_temp.err($$SELECT bert_embed('x', 'bert_regress_garbage2')$$);
RESET bert.model_dir;

-- the GUC is superuser-only
CREATE ROLE regress_bert_user;
SET ROLE regress_bert_user;
SELECT pg_temp.err($$SET bert.model_dir = '/tmp'$$);
SELECT pg_temp.err($$SET bert.no_such_setting = 1$$);
RESET ROLE;
DROP ROLE regress_bert_user;

-- a plain error, as psql shows it
SELECT bert_embed('x', 'no-such-model');
