
-- Heads: token embeddings, token labels, entities, sequence classification,
-- and heads trained from labeled rows.  Offsets (start_char, end_char) are
-- 0-based character positions in the original input, end exclusive (as
-- Hugging Face's offsets); [CLS] and [SEP] cover no characters and are left
-- out of bert_token_labels and bert_entities, as Hugging Face's pipelines do.

-- The last hidden state of every word piece, [CLS] (position 0) and [SEP]
-- included.
CREATE FUNCTION bert_token_embeddings(input text, model text,
	OUT "position" int, OUT token text, OUT embedding real[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_embeddings'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;
COMMENT ON FUNCTION bert_token_embeddings(text, text) IS
'last hidden state of every word piece of input, [CLS] (position 0) and [SEP] included';

CREATE FUNCTION bert_token_embeddings(input text,
	OUT "position" int, OUT token text, OUT embedding real[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_embeddings'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;
COMMENT ON FUNCTION bert_token_embeddings(text) IS
'last hidden state of every word piece of input by the model in bert.default_model';

-- Token classification: the most likely label of every word piece.
CREATE FUNCTION bert_token_labels(input text, model text,
	OUT "position" int, OUT token text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_labels'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;
COMMENT ON FUNCTION bert_token_labels(text, text) IS
'most likely label of every word piece of input, its probability and character offsets';

CREATE FUNCTION bert_token_labels(input text,
	OUT "position" int, OUT token text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_labels'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;
COMMENT ON FUNCTION bert_token_labels(text) IS
'most likely label of every word piece of input by the model in bert.default_model';

-- Entities as Hugging Face's token-classification pipeline with
-- aggregation_strategy="simple": entity is the original substring.
CREATE FUNCTION bert_entities(input text, model text,
	OUT entity text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_entities'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;
COMMENT ON FUNCTION bert_entities(text, text) IS
'entities in input: the original substring, label, mean score and character offsets (Hugging Face''s simple aggregation)';

CREATE FUNCTION bert_entities(input text,
	OUT entity text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_entities'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;
COMMENT ON FUNCTION bert_entities(text) IS
'entities in input by the model in bert.default_model';

-- The same with the pipeline's aggregation_strategy: none, simple (what the
-- forms above use), first, average or max.  A head with label transitions
-- (a trained tagger) decodes with Viterbi under the BIO rule instead of
-- taking each unit's most likely label.
CREATE FUNCTION bert_entities(input text, model text, aggregation text,
	OUT entity text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_entities'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;
COMMENT ON FUNCTION bert_entities(text, text, text) IS
'entities in input grouped by an aggregation strategy (none, simple, first, average, max), decoded under the BIO rule';

-- Sequence classification: the most likely label, or every label's probability.
CREATE FUNCTION bert_classify(input text, model text)
RETURNS text
AS 'MODULE_PATHNAME', 'bert_classify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000;
COMMENT ON FUNCTION bert_classify(text, text) IS
'most likely label of input by a sequence-classification model';

CREATE FUNCTION bert_classify(input text)
RETURNS text
AS 'MODULE_PATHNAME', 'bert_classify'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000;
COMMENT ON FUNCTION bert_classify(text) IS
'most likely label of input by the model in bert.default_model';

CREATE FUNCTION bert_classify_scores(input text, model text,
	OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_classify_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;
COMMENT ON FUNCTION bert_classify_scores(text, text) IS
'every label''s probability for input (softmax), in label order';

CREATE FUNCTION bert_classify_scores(input text,
	OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_classify_scores'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;
COMMENT ON FUNCTION bert_classify_scores(text) IS
'every label''s probability for input by the model in bert.default_model';

-- Train a sequence classifier on the sentence embeddings of a frozen
-- embedding model: training_query returns (text, label) rows (label of any
-- type, taken as its text form; rows with a NULL are skipped).  Writes and
-- installs model "name" (as bert_install_model: superusers and members of
-- pg_read_server_files only).  Deterministic for a given seed and row order.
-- Not STRICT: a NULL argument is an error, not a silent no-op.
CREATE FUNCTION bert_train_classifier(name text, base_model text, training_query text,
	epochs int DEFAULT 100, learning_rate float8 DEFAULT 0.01, l2 float8 DEFAULT 1e-4,
	seed int DEFAULT 42, balanced boolean DEFAULT false, replace boolean DEFAULT false,
	OUT model text, OUT labels text[], OUT examples bigint,
	OUT loss float8, OUT accuracy float8)
RETURNS record
AS 'MODULE_PATHNAME', 'bert_train_classifier'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION bert_train_classifier(text, text, text, integer, double precision, double precision, integer, boolean, boolean) IS
'train a sequence classifier on (text, label) rows over a frozen base model and install it as model name';

-- Train an entity tagger (BIO labels) on the word pieces of a frozen
-- embedding model: training_query returns (text, entities jsonb) rows,
-- entities like [{"start": 0, "end": 5, "label": "PER"}] in characters.  Its
-- head reads each piece's state with its word's and the neighbouring words'
-- states and the words' shapes in the text (capitals), and carries label
-- transitions (a CRF) that bert_entities decodes with.
CREATE FUNCTION bert_train_token_classifier(name text, base_model text, training_query text,
	epochs int DEFAULT 10, learning_rate float8 DEFAULT 0.01, l2 float8 DEFAULT 0,
	seed int DEFAULT 42, balanced boolean DEFAULT true, replace boolean DEFAULT false,
	OUT model text, OUT labels text[], OUT examples bigint,
	OUT loss float8, OUT accuracy float8)
RETURNS record
AS 'MODULE_PATHNAME', 'bert_train_token_classifier'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION bert_train_token_classifier(text, text, text, integer, double precision, double precision, integer, boolean, boolean) IS
'train an entity tagger (BIO labels) on (text, entities jsonb) rows over a frozen base model and install it as model name';
