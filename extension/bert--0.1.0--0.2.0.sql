-- bert 0.1.0 -> 0.2.0: ALTER EXTENSION bert UPDATE TO '0.2.0'.
-- Every change to the install script (extension/parts/*.sql) since 0.1.0 has
-- its counterpart here; test/upgrade.sh checks that an updated catalogue
-- equals a fresh install.
\echo Use "ALTER EXTENSION bert UPDATE TO '0.2.0'" to load this file. \quit

-- bert_entities with an aggregation strategy (none, simple, first, average, max)
CREATE FUNCTION bert_entities(input text, model text, aggregation text,
	OUT entity text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_entities'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;

-- bert_train_token_classifier trains a tagger with features and label
-- transitions; 10 epochs by default (was 30)
-- Train an entity tagger (BIO labels) on the word pieces of a frozen
-- embedding model: training_query returns (text, entities jsonb) rows,
-- entities like [{"start": 0, "end": 5, "label": "PER"}] in characters.  Its
-- head reads each piece's state with its word's and the neighbouring words'
-- states and the words' shapes in the text (capitals), and carries label
-- transitions (a CRF) that bert_entities decodes with.
CREATE OR REPLACE FUNCTION bert_train_token_classifier(name text, base_model text, training_query text,
	epochs int DEFAULT 10, learning_rate float8 DEFAULT 0.01, l2 float8 DEFAULT 0,
	seed int DEFAULT 42, balanced boolean DEFAULT true, replace boolean DEFAULT false,
	OUT model text, OUT labels text[], OUT examples bigint,
	OUT loss float8, OUT accuracy float8)
RETURNS record
AS 'MODULE_PATHNAME', 'bert_train_token_classifier'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- Hostile and concurrent use (issue 14).
-- bert_embed_table is C: correct on partitioned, inheritance and busy
-- tables, its SQL schema-qualified, bulk threads, clear errors.
CREATE OR REPLACE PROCEDURE bert_embed_table(source regclass, text_column name, target_column name,
                                  batch_size int DEFAULT 256,
                                  model text DEFAULT 'all-MiniLM-L6-v2')
AS 'MODULE_PATHNAME', 'bert_embed_table'
LANGUAGE C;

-- functions that act: a NULL argument is an error, not a silent no-op
ALTER FUNCTION bert_install_model(text, text, boolean) CALLED ON NULL INPUT;
ALTER FUNCTION bert_drop_model(text) CALLED ON NULL INPUT;
ALTER FUNCTION bert_train_classifier(text, text, text, int, float8, float8, int, boolean, boolean)
	CALLED ON NULL INPUT;
ALTER FUNCTION bert_train_token_classifier(text, text, text, int, float8, float8, int, boolean, boolean)
	CALLED ON NULL INPUT;

-- bert_info: threads of the last encoder call, and the usable cores
DROP FUNCTION bert_info();
CREATE FUNCTION bert_info(
	OUT blis_version text,
	OUT kernel text,
	OUT kernel_reason text,
	OUT threads int,
	OUT format_version int,
	OUT models_directory text,
	OUT cpu_features text,
	OUT simd text,
	OUT usable_cores int)
AS 'MODULE_PATHNAME', 'bert_info'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

-- A comment on every function, procedure, view and operator (\df+, \dx+);
-- 0.1.0 had two.
COMMENT ON FUNCTION bert_embed(text) IS
'sentence embedding of input by the model in bert.default_model';

COMMENT ON FUNCTION bert_embed(text, text, integer) IS
'sentence embedding of input, cut at max_tokens word pieces for this call';

COMMENT ON FUNCTION bert_tokenize(text, text) IS
'word pieces the model sees for input, with [CLS] and [SEP] (cut at the token limit)';

COMMENT ON FUNCTION bert_tokenize(text, text, integer) IS
'word pieces the model sees for input, cut at max_tokens for this call';

COMMENT ON FUNCTION bert_tokenize(text) IS
'word pieces the model in bert.default_model sees for input, with [CLS] and [SEP]';

COMMENT ON FUNCTION bert_token_ids(text, text) IS
'vocabulary ids of the word pieces the model sees for input, with [CLS] and [SEP]';

COMMENT ON FUNCTION bert_token_ids(text, text, integer) IS
'vocabulary ids of the word pieces of input, cut at max_tokens for this call';

COMMENT ON FUNCTION bert_token_ids(text) IS
'vocabulary ids of the word pieces the model in bert.default_model sees for input';

COMMENT ON FUNCTION bert_token_count(text, text) IS
'number of word pieces of the whole input, with [CLS] and [SEP] (never cut)';

COMMENT ON FUNCTION bert_token_count(text) IS
'number of word pieces of the whole input for the model in bert.default_model (never cut)';

COMMENT ON FUNCTION bert_similarity(text, text, text) IS
'cosine similarity of the sentence embeddings of a and b';

COMMENT ON FUNCTION bert_similarity(text, text) IS
'cosine similarity of the sentence embeddings of a and b by the model in bert.default_model';

COMMENT ON FUNCTION bert_cosine_similarity(real[], real[]) IS
'cosine similarity of two vectors; NaN if either is all zeros';

COMMENT ON FUNCTION bert_cosine_distance(real[], real[]) IS
'cosine distance of two vectors, 1 - cosine similarity (the operator <=>)';

COMMENT ON OPERATOR <=> (real[], real[]) IS
'cosine distance of two vectors, 1 - cosine similarity';

COMMENT ON FUNCTION bert_info() IS
'BLIS version, kernel set in use and why, threads, model format version, models directories, CPU features';

COMMENT ON FUNCTION bert_models() IS
'every installed model: its shape, labels, pooling, files, and its use by this server';

COMMENT ON VIEW bert_models IS
'every installed model: its shape, labels, pooling, files, and its use by this server';

COMMENT ON FUNCTION bert_install_model(text, text, boolean) IS
'install a model from a server path: a converted .bert file or a Hugging Face checkpoint directory';

COMMENT ON FUNCTION bert_drop_model(text) IS
'remove a model installed with bert_install_model';

COMMENT ON FUNCTION bert_embed_many(text[]) IS
'embeddings of many texts at once by the model in bert.default_model, in input order';

COMMENT ON PROCEDURE bert_embed_table(regclass, name, name, integer, text) IS
'fill target_column with the embeddings of text_column where it is NULL, committing every batch_size rows';

COMMENT ON FUNCTION bert_token_embeddings(text, text) IS
'last hidden state of every word piece of input, [CLS] (position 0) and [SEP] included';

COMMENT ON FUNCTION bert_token_embeddings(text) IS
'last hidden state of every word piece of input by the model in bert.default_model';

COMMENT ON FUNCTION bert_token_labels(text, text) IS
'most likely label of every word piece of input, its probability and character offsets';

COMMENT ON FUNCTION bert_token_labels(text) IS
'most likely label of every word piece of input by the model in bert.default_model';

COMMENT ON FUNCTION bert_entities(text, text) IS
'entities in input: the original substring, label, mean score and character offsets (Hugging Face''s simple aggregation)';

COMMENT ON FUNCTION bert_entities(text) IS
'entities in input by the model in bert.default_model';

COMMENT ON FUNCTION bert_classify(text, text) IS
'most likely label of input by a sequence-classification model';

COMMENT ON FUNCTION bert_classify(text) IS
'most likely label of input by the model in bert.default_model';

COMMENT ON FUNCTION bert_classify_scores(text, text) IS
'every label''s probability for input (softmax), in label order';

COMMENT ON FUNCTION bert_classify_scores(text) IS
'every label''s probability for input by the model in bert.default_model';

COMMENT ON FUNCTION bert_train_classifier(text, text, text, integer, double precision, double precision, integer, boolean, boolean) IS
'train a sequence classifier on (text, label) rows over a frozen base model and install it as model name';

COMMENT ON FUNCTION bert_train_token_classifier(text, text, text, integer, double precision, double precision, integer, boolean, boolean) IS
'train an entity tagger (BIO labels) on (text, entities jsonb) rows over a frozen base model and install it as model name';

COMMENT ON FUNCTION bert_entities(text, text, text) IS
'entities in input grouped by an aggregation strategy (none, simple, first, average, max), decoded under the BIO rule';
