-- The quantised variant all-MiniLM-L6-v2-int8 (make install-model installs
-- it beside the fp32 model): int8 weights per output channel (Q8P) for every
-- linear layer but the feed-forward output of layers 2 to 4 (Q16P: 10-bit
-- weights, 16-bit activations); opt-in by model name.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
\set VERBOSITY terse

SELECT name, kind, layers, hidden,
       round(bytes / (SELECT bytes FROM bert_models WHERE name = 'all-MiniLM-L6-v2')::numeric, 2) AS size_vs_default
FROM bert_models WHERE name LIKE 'all-MiniLM-L6-v2%' ORDER BY name;

-- the published similarities, within 0.002 of the fp32 references
SELECT a, b, round(sim::numeric, 3) AS cosine, abs(sim - ref) <= 0.002 AS near_reference
FROM (VALUES ('The weather is lovely today.', 'It''s so sunny outside!', 0.6660),
             ('The weather is lovely today.', 'He drove to the stadium.', 0.1046),
             ('It''s so sunny outside!', 'He drove to the stadium.', 0.1411)) AS t(a, b, ref),
     LATERAL (SELECT bert_similarity(a, b, 'all-MiniLM-L6-v2-int8') AS sim) s;

-- every embedding within cosine 0.998 of the fp32 model's, odd inputs included
SELECT left(t, 40) AS input, bert_cosine_similarity(bert_embed(t), bert_embed(t, 'all-MiniLM-L6-v2-int8')) >= 0.998 AS faithful
FROM (VALUES ('The weather is lovely today.'), ('hello world'), (''), ('!!! ??? ... ---'),
             ('Zoë Müller flew from São Paulo to Zürich on Tuesday.'), ('東京は日本の首都です。'),
             (repeat('antidisestablishmentarianism ', 100))) AS v(t);

-- batches (on two threads) equal single calls, within 1e-4: threads move the
-- last bit of an activation, which can move its quantisation by one step
SET bert.threads = 2;
SELECT count(*) AS rows,
       max((SELECT max(abs(x - y)) FROM unnest(m.embedding, bert_embed(t.body, 'all-MiniLM-L6-v2-int8')) u(x, y))) < 1e-4 AS close
FROM (SELECT i, 'row ' || i || ' of a batch about ' || (ARRAY['weather', 'cars', 'databases', 'music'])[1 + i % 4]
             || repeat(' and more words', i % 9) AS body
      FROM generate_series(1, 120) i) t
JOIN bert_embed_many((SELECT array_agg('row ' || i || ' of a batch about ' || (ARRAY['weather', 'cars', 'databases', 'music'])[1 + i % 4]
                                       || repeat(' and more words', i % 9) ORDER BY i)
                      FROM generate_series(1, 120) i), 'all-MiniLM-L6-v2-int8') m ON m.ord = t.i;
RESET bert.threads;
