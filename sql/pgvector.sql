-- bert with pgvector (make installcheck-pgvector; test/vendor/pgvector.sh
-- installs pgvector 0.8.6): casts to vector(384) and halfvec(384),
-- bert_embed_table into a vector(384) column, the README's search query on an
-- HNSW index, a generated column with an HNSW expression index, and cosines
-- equal to pgvector's.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
CREATE EXTENSION IF NOT EXISTS vector;
RESET client_min_messages;

-- casts: vector(384) keeps every value, halfvec(384) rounds to half precision
SELECT vector_dims(bert_embed('hello world')::vector(384)) AS dims,
       round(vector_norm(bert_embed('hello world')::vector(384))::numeric, 4) AS norm,
       (bert_embed('hello world')::vector(384))::real[] = bert_embed('hello world') AS exact,
       (SELECT max(abs(h - e)) < 5e-4 FROM unnest((bert_embed('hello world')::halfvec(384))::real[],
                                                  bert_embed('hello world')) AS u(h, e)) AS halfvec_close,
       round(l2_norm(bert_embed('hello world')::halfvec(384))::numeric, 3) AS halfvec_norm;
SELECT bert_embed('hello world')::vector(768);

-- bert_embed_table fills a vector(384) column (assignment cast from real[])
CREATE TABLE docs (id bigserial PRIMARY KEY, body text NOT NULL, vec vector(384));
INSERT INTO docs (body) VALUES
  ('The cat sleeps on the warm windowsill.'),
  ('My kitten chases a ball of yarn.'),
  ('Cats purr when they are content.'),
  ('A stray cat meowed at the back door.'),
  ('The dog barked at the mailman.'),
  ('Puppies need a lot of exercise.'),
  ('The stock market fell sharply today.'),
  ('Interest rates were raised by the central bank.'),
  ('Investors moved money into government bonds.'),
  ('The quarterly earnings beat expectations.'),
  ('It rained all afternoon in the city.'),
  ('A heat wave is expected this weekend.'),
  ('Snow closed the mountain pass overnight.'),
  ('The forecast calls for clear skies.'),
  ('She baked bread with rosemary and olive oil.'),
  ('Simmer the tomato sauce for twenty minutes.'),
  ('The recipe needs two cups of flour.'),
  ('Grill the vegetables until they are charred.'),
  ('The team won the championship in overtime.'),
  ('He scored a goal in the final minute.'),
  ('The marathon runners crossed the bridge.'),
  ('Tennis players practise their serve daily.'),
  ('The database index speeds up the query.'),
  ('PostgreSQL supports extensions written in C.'),
  ('The compiler reported a type error.'),
  ('Unit tests caught the regression early.'),
  ('The train to Berlin was delayed.'),
  ('We booked a flight to Lisbon.'),
  ('The hotel room overlooked the harbour.'),
  ('Pack sunscreen for the beach trip.'),
  ('The violinist played a Bach partita.'),
  ('The choir rehearsed every Thursday.'),
  ('Jazz musicians improvised late into the night.'),
  ('The orchestra tuned before the concert.'),
  ('Photosynthesis turns light into chemical energy.'),
  ('The telescope observed a distant galaxy.'),
  ('Volcanoes release gases from deep underground.'),
  ('Bees pollinate flowers in the spring.'),
  ('The library opens at nine in the morning.'),
  ('A new bicycle lane opened downtown.');
SET client_min_messages = warning;	-- progress NOTICEs carry timings
CALL bert_embed_table('docs', 'body', 'vec');
RESET client_min_messages;
SELECT count(*) AS rows, count(vec) AS embedded,
       bool_and((SELECT max(abs(v - e)) <= 1e-5
                 FROM unnest(vec::real[], bert_embed(body, 'all-MiniLM-L6-v2')) AS u(v, e))) AS same_as_bert_embed
FROM docs;

-- the README's search query, on an HNSW index
CREATE INDEX docs_vec_hnsw ON docs USING hnsw (vec vector_cosine_ops);
ANALYZE docs;
SET enable_seqscan = off;	-- a 40-row table is cheaper to scan: show the index can serve the query
EXPLAIN (COSTS OFF)
SELECT id, body FROM docs
ORDER BY vec <=> bert_embed('something about cats')::vector(384)
LIMIT 10;
SELECT id, body FROM docs
ORDER BY vec <=> bert_embed('something about cats')::vector(384)
LIMIT 4;
RESET enable_seqscan;
-- the same four rows as the exact search
SELECT array_agg(id ORDER BY id) AS exact_top4 FROM (
  SELECT id FROM docs ORDER BY vec::real[] <=> bert_embed('something about cats') LIMIT 4) t;

-- a generated column, indexed by an HNSW expression index
ALTER TABLE docs ADD COLUMN embedding real[]
  GENERATED ALWAYS AS (bert_embed(body, 'all-MiniLM-L6-v2')) STORED;
CREATE INDEX docs_embedding_hnsw ON docs USING hnsw ((embedding::vector(384)) vector_cosine_ops);
INSERT INTO docs (body) VALUES ('A tabby cat dozed in a patch of sunlight.');
ANALYZE docs;
SET enable_seqscan = off;
-- (the explicit-model form is IMMUTABLE: the plan holds the query's vector as a constant)
CREATE FUNCTION pg_temp.plan(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    RETURN NEXT regexp_replace(line, '''\[[^]]*\]''', '''[...]''');
  END LOOP;
END $$;
SELECT pg_temp.plan($$
SELECT id FROM docs
ORDER BY embedding::vector(384) <=> bert_embed('a sleepy cat in the sun', 'all-MiniLM-L6-v2')::vector(384)
LIMIT 3$$);
SELECT id, body FROM docs
ORDER BY embedding::vector(384) <=> bert_embed('a sleepy cat in the sun', 'all-MiniLM-L6-v2')::vector(384)
LIMIT 3;
RESET enable_seqscan;

-- cosines equal to pgvector's within 1e-6: every pair of the 41 embeddings
-- (820 pairs), then 300 pairs of random 384-dimensional vectors of any length
SELECT count(*) AS pairs,
       max(abs(bert_cosine_similarity(a.embedding, b.embedding)
               - (1 - (a.embedding::vector <=> b.embedding::vector)))) < 1e-6 AS similarity_within_1e_6,
       max(abs((a.embedding <=> b.embedding) - (a.embedding::vector <=> b.embedding::vector))) < 1e-6
         AS distance_within_1e_6
FROM docs a JOIN docs b ON a.id < b.id;
SELECT setseed(0.17);
CREATE TEMP TABLE rnd AS
SELECT i, (SELECT array_agg((random() * 20 - 10)::real) FROM generate_series(1, 384) WHERE i > 0) AS x,
          (SELECT array_agg((random() * 0.02 - 0.01)::real) FROM generate_series(1, 384) WHERE i > 0) AS y
FROM generate_series(1, 300) i;
SELECT count(*) AS pairs,
       max(abs(bert_cosine_similarity(x, y) - (1 - (x::vector <=> y::vector)))) < 1e-6 AS similarity_within_1e_6,
       max(abs((x <=> y) - (x::vector <=> y::vector))) < 1e-6 AS distance_within_1e_6,
       max(abs(bert_cosine_similarity(x, x) - 1)) < 1e-6 AS self_within_1e_6
FROM rnd;

DROP TABLE docs, rnd;
DROP EXTENSION vector;
