-- Heads: Hugging Face token and sequence classification checkpoints checked
-- against the same heads computed in SQL, heads trained from labeled rows,
-- entities with offsets, and every error message.
-- Needs $BERT_REGRESS_FIXTURES/heads (test/make-head-checkpoints.sh, made per
-- run by test/regress-fixtures.sh).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;
\set SHOW_CONTEXT never

\i test/sql/err.psql

-- Hugging Face checkpoints with random weights and a cased vocabulary:
-- BertForTokenClassification (no pooler) and BertForSequenceClassification
\getenv fixtures BERT_REGRESS_FIXTURES
\set heads_token :fixtures '/heads/token'
\set heads_seq :fixtures '/heads/seq'
\set head_csv_token :heads_token '/head.csv'
\set head_csv_seq :heads_seq '/head.csv'
SELECT bert_install_model('regress-hf-token', :'heads_token', replace => true);
SELECT bert_install_model('regress-hf-seq', :'heads_seq', replace => true);
SELECT name, kind, hidden, labels FROM bert_models WHERE name LIKE 'regress-hf-%' ORDER BY name;

-- their heads' weights, as make_checkpoint wrote them
CREATE TEMP TABLE head (model text, tensor text, r int, c int, v float8);
CREATE TEMP TABLE head_in (tensor text, r int, c int, v float8);
COPY head_in FROM :'head_csv_token' WITH (FORMAT csv);
INSERT INTO head SELECT 'regress-hf-token', * FROM head_in;
TRUNCATE head_in;
COPY head_in FROM :'head_csv_seq' WITH (FORMAT csv);
INSERT INTO head SELECT 'regress-hf-seq', * FROM head_in;
SELECT model, tensor, count(*) FROM head GROUP BY 1, 2 ORDER BY 1, 2;

-- word pieces and their last hidden states; [CLS] is position 0
SELECT position, token, array_length(embedding, 1) AS dims
FROM bert_token_embeddings('Hello World, McDonald café', 'regress-hf-token');

-- the token head in SQL: softmax(W h + b) for each piece
CREATE TEMP TABLE sql_token AS
WITH h AS (
  SELECT t.position, t.token, e.i - 1 AS c, e.x
  FROM bert_token_embeddings('Hello World, McDonald café', 'regress-hf-token') t,
       unnest(t.embedding) WITH ORDINALITY AS e(x, i)),
logit AS (
  SELECT h.position, h.token, w.r AS label_id,
         sum(w.v * h.x) + (SELECT v FROM head WHERE model = 'regress-hf-token'
                             AND tensor = 'classifier.bias' AND r = w.r) AS z
  FROM h JOIN head w ON w.model = 'regress-hf-token' AND w.tensor = 'classifier.weight' AND w.c = h.c
  GROUP BY h.position, h.token, w.r),
zc AS (
  SELECT position, token, label_id, z - max(z) OVER (PARTITION BY position) AS z FROM logit),
p AS (
  SELECT position, token, label_id, exp(z) / sum(exp(z)) OVER (PARTITION BY position) AS prob FROM zc)
SELECT DISTINCT ON (position) position, token, label_id, prob
FROM p ORDER BY position, prob DESC;

-- bert_token_labels: the same labels and scores, [CLS] and [SEP] left out;
-- offsets are characters of the input, end exclusive
SELECT l.position, l.token, l.label, round(l.score::numeric, 4) AS score, l.start_char, l.end_char,
       substr('Hello World, McDonald café', l.start_char + 1, l.end_char - l.start_char) AS text,
       (m.labels)[s.label_id + 1] = l.label AS same_label,
       abs(l.score - s.prob) < 1e-5 AS same_score
FROM bert_token_labels('Hello World, McDonald café', 'regress-hf-token') l
JOIN sql_token s USING (position)
CROSS JOIN (SELECT labels FROM bert_models WHERE name = 'regress-hf-token') m
ORDER BY l.position;
SELECT count(*) AS cls_and_sep_rows FROM sql_token
WHERE position NOT IN (SELECT position FROM bert_token_labels('Hello World, McDonald café', 'regress-hf-token'));

-- entities: Hugging Face's "simple" grouping of those labels
SELECT entity, label, round(score::numeric, 4) AS score, start_char, end_char
FROM bert_entities('Hello World, McDonald café', 'regress-hf-token');

-- Hugging Face's aggregation strategies: none (pieces, full labels, O left
-- out), simple (the two-argument form), and first, average, max (whole
-- words: "McDonalds" is McDonald ##s)
SELECT bert_tokenize('Hello McDonalds, the cafés World', 'regress-hf-token');
SELECT a AS aggregation, e.entity, e.label, round(e.score::numeric, 4) AS score, e.start_char, e.end_char
FROM unnest(ARRAY['none', 'simple', 'first', 'average', 'max']) WITH ORDINALITY AS s(a, i),
     bert_entities('Hello McDonalds, the cafés World', 'regress-hf-token', a) e
ORDER BY s.i, e.start_char;
SELECT (SELECT array_agg(format('%s %s %s', label, start_char, round(score::numeric, 6)) ORDER BY start_char)
        FROM bert_entities('Hello McDonalds, the cafés World', 'regress-hf-token', 'none')) =
       (SELECT array_agg(format('%s %s %s', label, start_char, round(score::numeric, 6)) ORDER BY start_char)
        FROM bert_token_labels('Hello McDonalds, the cafés World', 'regress-hf-token') WHERE label <> 'O')
       AS none_is_token_labels_without_o,
       (SELECT array_agg(e ORDER BY start_char) FROM bert_entities('Hello World, McDonald café', 'regress-hf-token', 'simple') e) =
       (SELECT array_agg(e ORDER BY start_char) FROM bert_entities('Hello World, McDonald café', 'regress-hf-token') e)
       AS simple_is_the_default;
SELECT pg_temp.err($$SELECT * FROM bert_entities('x', 'regress-hf-token', 'words')$$);

-- the sequence head in SQL: softmax(W_c tanh(W_p h_[CLS] + b_p) + b_c)
CREATE TEMP TABLE sql_seq AS
WITH h AS (
  SELECT e.i - 1 AS c, e.x
  FROM bert_token_embeddings('Hello World', 'regress-hf-seq') t, unnest(t.embedding) WITH ORDINALITY AS e(x, i)
  WHERE t.position = 0),
pooled AS (
  SELECT w.r AS c, tanh(sum(w.v * h.x) + (SELECT v FROM head WHERE model = 'regress-hf-seq'
                                           AND tensor = 'pooler.dense.bias' AND r = w.r)) AS x
  FROM h JOIN head w ON w.model = 'regress-hf-seq' AND w.tensor = 'pooler.dense.weight' AND w.c = h.c
  GROUP BY w.r),
logit AS (
  SELECT w.r AS label_id, sum(w.v * p.x) + (SELECT v FROM head WHERE model = 'regress-hf-seq'
                                             AND tensor = 'classifier.bias' AND r = w.r) AS z
  FROM pooled p JOIN head w ON w.model = 'regress-hf-seq' AND w.tensor = 'classifier.weight' AND w.c = p.c
  GROUP BY w.r),
zc AS (SELECT label_id, z - max(z) OVER () AS z FROM logit)
SELECT label_id, exp(z) / sum(exp(z)) OVER () AS prob FROM zc;

SELECT s.label, round(s.score::numeric, 4) AS score, abs(s.score - q.prob) < 1e-5 AS same_score
FROM bert_classify_scores('Hello World', 'regress-hf-seq') WITH ORDINALITY AS s(label, score, i)
JOIN sql_seq q ON q.label_id = s.i - 1
ORDER BY s.i;
SELECT bert_classify('Hello World', 'regress-hf-seq') AS label,
       (SELECT label FROM bert_classify_scores('Hello World', 'regress-hf-seq') ORDER BY score DESC LIMIT 1) AS top;

-- a classifier trained from labeled rows: cooking or computing
\i test/sql/topics.psql

-- NOTICE per epoch (loss and accuracy on the training rows), NULLs skipped
SELECT model, labels, examples, round(loss::numeric, 2) AS loss, accuracy
FROM bert_train_classifier('regress-topic', 'all-MiniLM-L6-v2',
       'SELECT body, topic FROM topics ORDER BY id', epochs => 5, learning_rate => 0.05);
SELECT name, kind, labels, pooling, normalized FROM bert_models WHERE name = 'regress-topic';

-- held-out sentences
SELECT s AS sentence, bert_classify(s, 'regress-topic') AS topic
FROM unnest(ARRAY['Preheat the oven and butter the baking tray.',
                  'Mash the bananas and fold them into the batter.',
                  'The website returns an error after the deployment.',
                  'Reboot the router and check the cable.']) AS s;
SELECT label, score > 0.5 AS likely
FROM bert_classify_scores('Whisk the cream until it forms soft peaks.', 'regress-topic');

-- the same seed gives the same model, another seed another one
SET client_min_messages = warning;
CREATE TEMP TABLE probe AS
SELECT array_agg(score ORDER BY label) AS s FROM bert_classify_scores('Stir the sauce.', 'regress-topic');
SELECT examples FROM bert_train_classifier('regress-topic', 'all-MiniLM-L6-v2',
       'SELECT body, topic FROM topics ORDER BY id', epochs => 5, learning_rate => 0.05, replace => true);
SELECT (SELECT array_agg(score ORDER BY label) FROM bert_classify_scores('Stir the sauce.', 'regress-topic')) = s AS same_seed_same_model FROM probe;
SELECT examples FROM bert_train_classifier('regress-topic', 'all-MiniLM-L6-v2',
       'SELECT body, topic FROM topics ORDER BY id', epochs => 5, learning_rate => 0.05, seed => 7, replace => true);
SELECT (SELECT array_agg(score ORDER BY label) FROM bert_classify_scores('Stir the sauce.', 'regress-topic')) <> s AS other_seed_other_model FROM probe;
RESET client_min_messages;

-- labels of any type, sorted bytewise (COLLATE "C")
SET client_min_messages = warning;
SELECT labels FROM bert_train_classifier('regress-typed', 'all-MiniLM-L6-v2',
       $$SELECT body, CASE WHEN topic = 'cooking' THEN 10 ELSE 9 END FROM topics$$, epochs => 1);
SELECT labels FROM bert_train_classifier('regress-typed', 'all-MiniLM-L6-v2',
       $$SELECT body, CASE WHEN topic = 'cooking' THEN 'b' ELSE 'B' END FROM topics$$, epochs => 1, replace => true);
RESET client_min_messages;
SELECT bert_drop_model('regress-typed');

-- named entities from a few annotated sentences (PER and LOC)
CREATE TABLE people (id int, body text, entities jsonb);
INSERT INTO people
SELECT row_number() OVER (), s, jsonb_agg(jsonb_build_object('start', strpos(s, e) - 1,
                                                             'end', strpos(s, e) - 1 + length(e),
                                                             'label', l))
FROM (VALUES
  ('Mary Ann moved to New Hampshire last year.', 'Mary Ann', 'PER'),
  ('Mary Ann moved to New Hampshire last year.', 'New Hampshire', 'LOC'),
  ('John drove from Texas to Ohio.', 'John', 'PER'),
  ('John drove from Texas to Ohio.', 'Texas', 'LOC'),
  ('John drove from Texas to Ohio.', 'Ohio', 'LOC'),
  ('Have you seen Peter Paul lately?', 'Peter Paul', 'PER'),
  ('Linda was born in North Dakota.', 'Linda', 'PER'),
  ('Linda was born in North Dakota.', 'North Dakota', 'LOC'),
  ('The governor of Rhode Island called Susan.', 'Rhode Island', 'LOC'),
  ('The governor of Rhode Island called Susan.', 'Susan', 'PER'),
  ('Robert and Emily met in New York.', 'Robert', 'PER'),
  ('Robert and Emily met in New York.', 'Emily', 'PER'),
  ('Robert and Emily met in New York.', 'New York', 'LOC'),
  ('George Henry works for a bank in Utah.', 'George Henry', 'PER'),
  ('George Henry works for a bank in Utah.', 'Utah', 'LOC'),
  ('Send the package to Alice in South Carolina.', 'Alice', 'PER'),
  ('Send the package to Alice in South Carolina.', 'South Carolina', 'LOC'),
  ('When Thomas visited West Virginia, it rained.', 'Thomas', 'PER'),
  ('When Thomas visited West Virginia, it rained.', 'West Virginia', 'LOC'),
  ('Karen Lee said the roads in New Mexico were closed.', 'Karen Lee', 'PER'),
  ('Karen Lee said the roads in New Mexico were closed.', 'New Mexico', 'LOC'),
  ('Our neighbour Daniel grew up in Oregon.', 'Daniel', 'PER'),
  ('Our neighbour Daniel grew up in Oregon.', 'Oregon', 'LOC'),
  ('Anna Schmidt flew to Maine.', 'Anna Schmidt', 'PER'),
  ('Anna Schmidt flew to Maine.', 'Maine', 'LOC'),
  ('José García has never been to Nevada.', 'José García', 'PER'),
  ('José García has never been to Nevada.', 'Nevada', 'LOC'),
  ('The farms of Iowa were sold to Paul Weber.', 'Iowa', 'LOC'),
  ('The farms of Iowa were sold to Paul Weber.', 'Paul Weber', 'PER'),
  ('Ask Helen Fischer about the trip to North Carolina.', 'Helen Fischer', 'PER'),
  ('Ask Helen Fischer about the trip to North Carolina.', 'North Carolina', 'LOC'),
  ('Maria Rossi was born in New Jersey.', 'Maria Rossi', 'PER'),
  ('Maria Rossi was born in New Jersey.', 'New Jersey', 'LOC'))
  AS v(s, e, l)
GROUP BY s;
INSERT INTO people VALUES (100, 'The meeting was moved to Friday.', '[]');

SELECT model, labels, examples, round(loss::numeric, 2) AS loss, round(accuracy::numeric, 2) AS accuracy
FROM bert_train_token_classifier('regress-ner', 'all-MiniLM-L6-v2',
       'SELECT body, entities FROM people ORDER BY id', epochs => 3);
SET client_min_messages = warning;
SELECT examples FROM bert_train_token_classifier('regress-ner', 'all-MiniLM-L6-v2',
       'SELECT body, entities FROM people ORDER BY id', epochs => 100, replace => true);
RESET client_min_messages;
SELECT name, kind, labels FROM bert_models WHERE name = 'regress-ner';

-- multi-word entities merged, offsets in characters (accents count one)
SELECT s AS sentence, e.entity, e.label, e.start_char, e.end_char,
       substr(s, e.start_char + 1, e.end_char - e.start_char) = e.entity AS offsets_match
FROM unnest(ARRAY['Zoë Müller moved to South Dakota.',
                  'Yesterday Anne Marie drove to New Hampshire.']) AS s,
     bert_entities(s, 'regress-ner') e;
SELECT token, label, start_char, end_char
FROM bert_token_labels('Zoë Müller moved to South Dakota.', 'regress-ner');

-- the trained tagger has label transitions: Viterbi under the BIO rule, on
-- words with 'first'; unseen names and places in unseen sentence shapes
SELECT s AS sentence, e.entity, e.label, e.start_char, e.end_char
FROM unnest(ARRAY['Priscilla Yolanda opened a bakery in Baton Rouge.',
                  'Ask Bartholomew about the weather in Kuala Lumpur.']) AS s,
     bert_entities(s, 'regress-ner', 'first') e;

-- 'first' never puts an entity boundary inside a word: 48 held-out sentences
CREATE TEMP TABLE held_out AS
SELECT format(t, p, l) AS text
FROM unnest(ARRAY['%s moved to %s last year.', 'Yesterday %s flew home to %s.',
                  'In %2$s, %1$s opened a small bakery.']) AS t,
     unnest(ARRAY['Yolanda', 'Priscilla Ann', 'Tremaine Holloway', 'Xiomara']) AS p,
     unnest(ARRAY['Baton Rouge', 'Kuala Lumpur', 'Wyoming', 'Saskatchewan']) AS l;
SELECT count(DISTINCT h.text) AS sentences, count(*) AS entities,
       count(*) FILTER (WHERE (e.start_char > 0 AND substr(h.text, e.start_char, 2) ~ '^[[:alnum:]]{2}$')
                           OR (e.end_char < length(h.text) AND substr(h.text, e.end_char, 2) ~ '^[[:alnum:]]{2}$'))
         AS boundaries_inside_a_word
FROM held_out h, bert_entities(h.text, 'regress-ner', 'first') e;

-- errors: using a model of the wrong kind
SELECT pg_temp.err($$SELECT bert_classify('x', 'all-MiniLM-L6-v2')$$);
SELECT pg_temp.err($$SELECT * FROM bert_classify_scores('x', 'regress-ner')$$);
SELECT pg_temp.err($$SELECT * FROM bert_token_labels('x', 'regress-topic')$$);
SELECT pg_temp.err($$SELECT * FROM bert_entities('x', 'all-MiniLM-L6-v2')$$);

-- errors: training
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-topic', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('bad/name', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'no-such-model', 'SELECT body, topic FROM topics')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'regress-hf-seq', 'SELECT body, topic FROM topics')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics WHERE false')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics WHERE body IS NULL OR topic IS NULL')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT body, 'all' FROM topics$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body FROM topics')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT id, body, topic FROM topics')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT id, topic FROM topics')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SET work_mem = 1000')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT nonsense FROM topics')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics', epochs => 0)$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics', learning_rate => 0)$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics', learning_rate => 'NaN')$$);
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics', l2 => -1)$$);

SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, entities::text FROM people')$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann', '{"start": 0}'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann', '[1]'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann', '[{"start": "0", "end": 3, "label": "PER"}]'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann', '[{"start": 0.5, "end": 3, "label": "PER"}]'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann', '[{"start": 0, "end": 4, "label": "PER"}]'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann', '[{"start": 2, "end": 2, "label": "PER"}]'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann', '[{"start": 0, "end": 3, "label": 1}]'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann', '[{"start": 0, "end": 3, "label": "O"}]'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann', '[{"start": 0, "end": 3, "label": "B-PER"}]'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann Lee', '[{"start": 0, "end": 5, "label": "PER"}, {"start": 4, "end": 7, "label": "PER"}]'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', $q$SELECT 'Ann', '[]'::jsonb$q$)$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'regress-hf-token', 'SELECT body, entities FROM people')$$);

-- entities the word pieces cannot show are counted
SET bert.max_tokens = 6;
SELECT examples FROM bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2',
       'SELECT body, entities FROM people ORDER BY id', epochs => 1);
RESET bert.max_tokens;
SELECT bert_drop_model('regress-x');

-- training writes the registry: revoked from PUBLIC, granted like any function
CREATE ROLE regress_bert_trainer;
GRANT SELECT ON topics TO regress_bert_trainer;
SET ROLE regress_bert_trainer;
SELECT pg_temp.err($$SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, topic FROM topics')$$);
SELECT pg_temp.err($$SELECT bert_train_token_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body, entities FROM people')$$);
-- everyone may use the trained models
SELECT bert_classify('Boil the pasta in salted water.', 'regress-topic');
RESET ROLE;
DROP OWNED BY regress_bert_trainer;
DROP ROLE regress_bert_trainer;

-- a plain error, as psql shows it
SELECT bert_train_classifier('regress-x', 'all-MiniLM-L6-v2', 'SELECT body FROM topics');

SELECT bert_drop_model(name) FROM bert_models WHERE name LIKE 'regress-%' ORDER BY name;
DROP TABLE topics, people;
