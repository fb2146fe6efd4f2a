-- The input policy: NULLs, empty and blank text, long inputs and the token
-- limit, odd characters, other database encodings, cancellation.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
\set SHOW_CONTEXT never

\i test/sql/err.psql

-- NULL in, NULL out
SELECT bert_embed(NULL) IS NULL AS embed, bert_embed(NULL, 'all-MiniLM-L6-v2') IS NULL AS embed2,
       bert_embed('x', NULL) IS NULL AS null_model, bert_tokenize(NULL) IS NULL AS tokenize,
       bert_token_ids(NULL) IS NULL AS ids, bert_token_count(NULL) IS NULL AS count,
       bert_similarity(NULL, 'x') IS NULL AS similarity, bert_cosine_similarity(NULL, '{1}') IS NULL AS cosine,
       bert_embed('x', 'all-MiniLM-L6-v2', NULL) IS NULL AS null_limit;

-- empty and whitespace-only text: the embedding of [CLS] [SEP]
SELECT bert_tokenize('') AS empty, bert_tokenize(E' \t\n\r ') AS blank,
       bert_embed('') = bert_embed(E' \t\n ') AS same_embedding,
       (SELECT array_agg(round(x::numeric, 4)) FROM unnest((bert_embed(''))[1:6]) x) AS first6;

-- a 1 MB input: truncated to the model's 256 tokens; the count is the whole input
CREATE TEMP TABLE big AS SELECT repeat('All work and no play makes Jack a dull boy. ', 23832) AS t;
SELECT octet_length(t) AS bytes, bert_token_count(t) AS tokens,
       array_length(bert_token_ids(t), 1) AS kept, (bert_token_ids(t))[256] AS last_is_sep,
       bert_embed(t) = bert_embed(substr(t, 1, 1200)) AS embeds_first_256
FROM big;

-- the limit: bert.max_tokens, and a max_tokens argument per call
SET bert.max_tokens = 8;
SELECT bert_tokenize('one two three four five six seven eight nine ten') AS cut_to_8;
SELECT bert_embed('one two three four five six') = bert_embed('one two three four five six seven eight', 'all-MiniLM-L6-v2', 8) AS same_cut;
RESET bert.max_tokens;
SELECT bert_tokenize('one two three four five', 'all-MiniLM-L6-v2', 4) AS per_call_4;
SELECT pg_temp.err($$SELECT bert_embed('x', 'all-MiniLM-L6-v2', 1)$$);
SELECT pg_temp.err($$SELECT bert_embed('x', 'all-MiniLM-L6-v2', 513)$$);
SET bert.max_tokens = 600;
SELECT pg_temp.err($$SELECT bert_embed('x')$$);
RESET bert.max_tokens;

-- bert.truncate = off: an error that says how long the input was
SET bert.truncate = off;
SELECT pg_temp.err($$SELECT bert_embed(t) FROM big$$);
SELECT pg_temp.err($$SELECT bert_token_ids(repeat('word ', 300))$$);
SELECT array_length(bert_embed(repeat('word ', 254)), 1) AS exactly_256_is_fine;
SELECT bert_token_count(t) AS count_is_never_cut FROM big;
RESET bert.truncate;

-- control, zero-width, BOM, CJK, emoji, combining accents, right-to-left:
-- ids as Hugging Face gives them (the tokenizer test checks many more)
SELECT bert_token_ids(E'a\u0001b\u200bc\ufeffd') AS controls_zero_width_bom,
       bert_token_ids('我爱北京') AS cjk,
       bert_token_ids(E'I \u2764\ufe0f \U0001F355') AS emoji,
       bert_token_ids(E'cafe\u0301') AS combining,
       bert_token_ids('שלום עולם') AS hebrew;

-- cancellation: a statement timeout stops a long batch, and the session goes on
SET statement_timeout = '300ms';
SELECT pg_temp.err($$SELECT count(bert_embed(t || g)) FROM big, generate_series(1, 100000) g$$);
RESET statement_timeout;
SELECT array_length(bert_embed('still usable'), 1) AS after_cancel;

-- a LATIN1 database gives the same tokens and embeddings for the same characters
SELECT bert_tokenize('Café Ünïcödé naïve façade') AS utf8_tokens,
       bert_embed('Café Ünïcödé naïve façade')::text AS utf8_embedding \gset
SELECT current_database() AS regress_db \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regression_bert_latin1;	-- left by an interrupted run
RESET client_min_messages;
CREATE DATABASE regression_bert_latin1 TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C';
\c regression_bert_latin1
SET client_encoding = 'UTF8';	-- this file is UTF-8
SET client_min_messages = warning;
CREATE EXTENSION bert;
RESET client_min_messages;
SELECT current_setting('server_encoding') AS encoding,
       bert_tokenize('Café Ünïcödé naïve façade') AS latin1_tokens,
       bert_tokenize('Café Ünïcödé naïve façade')::text = :'utf8_tokens' AS same_tokens,
       bert_embed('Café Ünïcödé naïve façade')::text = :'utf8_embedding' AS same_embedding,
       bert_token_ids('Ångström') AS ids;
\c :regress_db
DROP DATABASE regression_bert_latin1;
