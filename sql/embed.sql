-- Sentence embeddings with all-MiniLM-L6-v2.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
\set VERBOSITY terse

-- 384 components, unit norm
SELECT array_length(e, 1) AS dims,
       round(sqrt((SELECT sum(x * x) FROM unnest(e) x))::numeric, 4) AS norm
FROM (SELECT bert_embed('hello world') AS e) s;

-- leading components, rounded to 4 decimals
SELECT (SELECT array_agg(round(x::numeric, 4)) FROM unnest(e[1:8]) x) AS first8,
       (SELECT array_agg(round(x::numeric, 4)) FROM unnest(e[377:384]) x) AS last8
FROM (SELECT bert_embed('The weather is lovely today.') AS e) s;

-- the published sentence-transformers similarities, within 0.0002
SELECT a, b, round(sim::numeric, 4) AS cosine, abs(sim - ref) <= 0.0002 AS matches_reference
FROM (VALUES ('The weather is lovely today.', 'It''s so sunny outside!', 0.6660),
             ('The weather is lovely today.', 'He drove to the stadium.', 0.1046),
             ('It''s so sunny outside!', 'He drove to the stadium.', 0.1411)) AS t(a, b, ref),
     LATERAL (SELECT bert_similarity(a, b) AS sim) s;

-- bert_similarity is the cosine of the two embeddings
SELECT abs(bert_similarity('cats purr', 'dogs bark')
           - bert_cosine_similarity(bert_embed('cats purr'), bert_embed('dogs bark'))) < 1e-9 AS same;

-- the same text gives bit-identical embeddings, call after call
SELECT bert_embed('repeatable') = bert_embed('repeatable') AS repeatable;

-- empty and blank text embed as [CLS] [SEP], like Hugging Face
SELECT bert_embed('') = bert_embed('   ') AS blank_is_empty,
       array_length(bert_embed(''), 1) AS dims;

-- explicit model argument
SELECT bert_embed('hello world', 'all-MiniLM-L6-v2') = bert_embed('hello world') AS default_model;

-- semantic search with the <=> cosine-distance operator on real[]
CREATE TABLE docs (id int PRIMARY KEY, body text, embedding real[]);
INSERT INTO docs (id, body) VALUES
  (1, 'The cat sat on the mat.'),
  (2, 'Stock markets fell sharply on Monday.'),
  (3, 'A kitten is sleeping on the rug.'),
  (4, 'The recipe needs two cups of flour.'),
  (5, 'Investors sold shares as prices dropped.');
UPDATE docs SET embedding = bert_embed(body);
SELECT id, body, round((embedding <=> bert_embed('a small cat resting'))::numeric, 4) AS distance
FROM docs ORDER BY embedding <=> bert_embed('a small cat resting') LIMIT 2;
SELECT id, body FROM docs ORDER BY embedding <=> bert_embed('finance news') LIMIT 2;
DROP TABLE docs;

-- cosine on literal arrays
SELECT bert_cosine_similarity('{1,0,0}', '{0,1,0}') AS orthogonal,
       bert_cosine_similarity('{1,2,3}', '{2,4,6}') AS parallel,
       '{1,0}'::real[] <=> '{-1,0}'::real[] AS opposite_distance,
       bert_cosine_similarity('{0,0}', '{1,1}') AS zero_vector;

-- NULL in, NULL out (STRICT)
SELECT bert_embed(NULL) IS NULL AS null_embed, bert_similarity('a', NULL) IS NULL AS null_sim;
