
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

CREATE FUNCTION bert_token_embeddings(input text,
	OUT "position" int, OUT token text, OUT embedding real[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_embeddings'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;

-- Token classification: the most likely label of every word piece.
CREATE FUNCTION bert_token_labels(input text, model text,
	OUT "position" int, OUT token text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_labels'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;

CREATE FUNCTION bert_token_labels(input text,
	OUT "position" int, OUT token text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_labels'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;

-- Entities as Hugging Face's token-classification pipeline with
-- aggregation_strategy="simple": entity is the original substring.
CREATE FUNCTION bert_entities(input text, model text,
	OUT entity text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_entities'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;

CREATE FUNCTION bert_entities(input text,
	OUT entity text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_entities'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;

-- Sequence classification: the most likely label, or every label's probability.
CREATE FUNCTION bert_classify(input text, model text)
RETURNS text
AS 'MODULE_PATHNAME', 'bert_classify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000;

CREATE FUNCTION bert_classify(input text)
RETURNS text
AS 'MODULE_PATHNAME', 'bert_classify'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000;

CREATE FUNCTION bert_classify_scores(input text, model text,
	OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_classify_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;

CREATE FUNCTION bert_classify_scores(input text,
	OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_classify_scores'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;

-- Train a sequence classifier on the sentence embeddings of a frozen
-- embedding model: training_query returns (text, label) rows (label of any
-- type, taken as its text form; rows with a NULL are skipped).  Stores the
-- head as model "name" in the registry (an overlay on the base model: a few
-- kilobytes).  The query runs as the caller.  Revoked from PUBLIC
-- (30-registry.sql).  Deterministic for a given seed and row order.
CREATE FUNCTION bert_train_classifier(name text, base_model text, training_query text,
	epochs int DEFAULT 100, learning_rate float8 DEFAULT 0.01, l2 float8 DEFAULT 1e-4,
	seed int DEFAULT 42, balanced boolean DEFAULT false, replace boolean DEFAULT false,
	OUT model text, OUT labels text[], OUT examples bigint,
	OUT loss float8, OUT accuracy float8)
RETURNS record
AS 'MODULE_PATHNAME', 'bert_train_classifier'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- Train a token classifier (BIO labels) on the word-piece hidden states of a
-- frozen embedding model: training_query returns (text, entities jsonb) rows,
-- entities like [{"start": 0, "end": 5, "label": "PER"}] in characters.
CREATE FUNCTION bert_train_token_classifier(name text, base_model text, training_query text,
	epochs int DEFAULT 30, learning_rate float8 DEFAULT 0.01, l2 float8 DEFAULT 0,
	seed int DEFAULT 42, balanced boolean DEFAULT true, replace boolean DEFAULT false,
	OUT model text, OUT labels text[], OUT examples bigint,
	OUT loss float8, OUT accuracy float8)
RETURNS record
AS 'MODULE_PATHNAME', 'bert_train_token_classifier'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
