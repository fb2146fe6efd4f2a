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
