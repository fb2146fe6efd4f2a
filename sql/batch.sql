-- Batches: bert_embed_many and the bert_embed_table procedure.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE TEMP TABLE s AS
SELECT g AS id, CASE WHEN g % 7 = 0 THEN NULL
                     ELSE repeat((ARRAY['The cat sat on the mat. ', 'Stock markets fell sharply on Monday. ',
                                        'It rained all day in the old harbour town. ', 'Bread, butter and jam. '])[1 + g % 4],
                                 1 + g % 9) END AS body
FROM generate_series(1, 60) g;

-- in input order, NULL for NULL, equal to bert_embed of each element
SELECT count(*) AS rows, count(embedding) AS embedded,
       bool_and(m.ord = s.id) AS in_order,
       max((SELECT max(abs(x - y)) FROM unnest(m.embedding, bert_embed(s.body, 'all-MiniLM-L6-v2')) u(x, y))) < 1e-5
         AS max_abs_diff_below_1e_5
FROM bert_embed_many((SELECT array_agg(body ORDER BY id) FROM s), 'all-MiniLM-L6-v2') m
JOIN s ON s.id = m.ord;
SELECT * FROM bert_embed_many('{}');
SELECT ord, embedding IS NULL AS is_null FROM bert_embed_many(ARRAY[NULL, 'x', NULL]::text[]);

-- a whole table, in batches of 7, committing as it goes; then nothing left to do
CREATE TABLE docs AS SELECT id, body, NULL::real[] AS embedding FROM s;
SET client_min_messages = warning;	-- the progress NOTICEs carry timings
CALL bert_embed_table('docs', 'body', 'embedding', 7);
RESET client_min_messages;
SELECT count(*) FILTER (WHERE d.embedding IS NOT NULL) AS filled,
       count(*) FILTER (WHERE d.embedding IS NULL) AS left_null,
       count(*) FILTER (WHERE d.body IS NULL) AS null_texts,
       bool_and(d.embedding = m.embedding) AS same_as_embed_many
FROM docs d LEFT JOIN bert_embed_many((SELECT array_agg(body ORDER BY id) FROM s), 'all-MiniLM-L6-v2') m
  ON m.ord = d.id;
SET bert.bulk_threads = 1;	-- the first NOTICE says how many threads it may use
CALL bert_embed_table('docs', 'body', 'embedding');
RESET bert.bulk_threads;
-- resumes: clear some rows, run again
UPDATE docs SET embedding = NULL WHERE id % 5 = 0;
SET client_min_messages = warning;
CALL bert_embed_table('docs', 'body', 'embedding', 3);
RESET client_min_messages;
SELECT count(*) FILTER (WHERE embedding IS NULL AND body IS NOT NULL) AS missing FROM docs;
\set VERBOSITY terse
CALL bert_embed_table('docs', 'body', 'embedding', 0);
CALL bert_embed_table('docs', 'no_such_column', 'embedding');
CALL bert_embed_table('no_such_table', 'body', 'embedding');
\set VERBOSITY default
DROP TABLE docs;
