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

-- Models are database state (issue 13): the registry, its functions and
-- privileges, as extension/parts/30-registry.sql and 00-core.sql make them.

-- bert_models has new columns (storage, content hash, base model, bytes in
-- the database and in the cache, who installed it and when).  The view keeps
-- 0.1.0's columns first and in their order (bytes_on_disk is now bytes), so
-- that views built on it survive the update: the new bert_models() is made
-- under another name, the view moved onto it, the old one dropped, the new
-- one renamed.
CREATE FUNCTION bert_models_during_update(
	OUT name text,
	OUT kind text,
	OUT storage text,
	OUT layers int,
	OUT hidden int,
	OUT heads int,
	OUT vocab_size int,
	OUT max_positions int,
	OUT max_seq_len int,
	OUT labels text[],
	OUT pooling text,
	OUT normalized bool,
	OUT content_hash text,
	OUT base_model text,
	OUT base_hash text,
	OUT bytes bigint,
	OUT bytes_in_database bigint,
	OUT bytes_in_cache bigint,
	OUT bytes_resident bigint,
	OUT directory text,
	OUT source text,
	OUT installed_by text,
	OUT installed_at timestamptz,
	OUT loaded_since timestamptz,
	OUT calls bigint,
	OUT tokens bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_models'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
ALTER VIEW bert_models RENAME COLUMN bytes_on_disk TO bytes;
CREATE OR REPLACE VIEW bert_models AS SELECT
	name, kind, layers, hidden, heads, vocab_size, max_positions, max_seq_len,
	labels, pooling, normalized, directory, bytes, bytes_resident, loaded_since,
	calls, tokens, storage, content_hash, base_model, base_hash, bytes_in_database,
	bytes_in_cache, source, installed_by, installed_at
FROM @extschema@.bert_models_during_update();
DROP FUNCTION bert_models();
ALTER FUNCTION bert_models_during_update() RENAME TO bert_models;
-- once more, so that its range table names bert_models as a fresh install's does
CREATE OR REPLACE VIEW bert_models AS SELECT
	name, kind, layers, hidden, heads, vocab_size, max_positions, max_seq_len,
	labels, pooling, normalized, directory, bytes, bytes_resident, loaded_since,
	calls, tokens, storage, content_hash, base_model, base_hash, bytes_in_database,
	bytes_in_cache, source, installed_by, installed_at
FROM @extschema@.bert_models();
GRANT SELECT ON bert_models TO PUBLIC;

COMMENT ON FUNCTION bert_models() IS 'every model this database can use (stored in its registry or shipped), its sizes and its use';
COMMENT ON VIEW bert_models IS 'every model this database can use (stored in its registry or shipped), its sizes and its use';

CREATE SCHEMA _bert;
COMMENT ON SCHEMA _bert IS 'bert: the model registry (extension configuration, in every dump)';

CREATE TABLE _bert.model (
	name text PRIMARY KEY,
	kind text NOT NULL,
	content_hash text NOT NULL
		CHECK (content_hash OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$'),
	base_hash text
		CHECK (base_hash OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$'),
	base_name text,
	bytes bigint NOT NULL,
	layers int NOT NULL,
	hidden int NOT NULL,
	heads int NOT NULL,
	vocab_size int NOT NULL,
	max_positions int NOT NULL,
	max_seq_len int NOT NULL,
	labels text[] NOT NULL,
	pooling text NOT NULL,
	normalized boolean NOT NULL,
	source text,
	installed_by name NOT NULL,
	installed_at timestamptz NOT NULL
);

CREATE TABLE _bert.model_chunk (
	content_hash text NOT NULL,
	seq int NOT NULL,
	data bytea NOT NULL,
	PRIMARY KEY (content_hash, seq)
);
ALTER TABLE _bert.model_chunk ALTER COLUMN data SET STORAGE EXTERNAL;

SELECT pg_catalog.pg_extension_config_dump('_bert.model', '');
SELECT pg_catalog.pg_extension_config_dump('_bert.model_chunk', '');

CREATE FUNCTION _bert.registry_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'bert_registry_changed'
LANGUAGE C;
REVOKE ALL ON FUNCTION _bert.registry_changed() FROM PUBLIC;

CREATE TRIGGER model_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON _bert.model
FOR EACH STATEMENT EXECUTE FUNCTION _bert.registry_changed();

CREATE FUNCTION bert_install_model(name text, data bytea, replace boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'bert_install_model_bytes'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

CREATE FUNCTION bert_models_reset(name text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'bert_models_reset'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON TABLE _bert.model IS 'bert: a row per model installed or trained in this database';
COMMENT ON TABLE _bert.model_chunk IS 'bert: the bytes of each model content, a megabyte per row';
COMMENT ON FUNCTION _bert.registry_changed() IS 'trigger: a registry change makes every backend look its model names up again';
COMMENT ON FUNCTION bert_install_model(text, bytea, boolean) IS 'install a model from the bytes of a model file sent by the client';
COMMENT ON FUNCTION bert_models_reset(text) IS 'zero the usage counters of one model (NULL: every model) in this database';

REVOKE EXECUTE ON FUNCTION
	bert_install_model(text, text, boolean),
	bert_install_model(text, bytea, boolean),
	bert_drop_model(text),
	bert_train_classifier(text, text, text, int, float8, float8, int, boolean, boolean),
	bert_train_token_classifier(text, text, text, int, float8, float8, int, boolean, boolean),
	bert_models_reset(text)
FROM PUBLIC;

-- 0.1.0 kept installed and trained models as files in $PGDATA/pg_bert/models,
-- for the whole server: each database that updates stores a copy of every
-- one in its own registry (the files stay, for the databases that update
-- later).  The importer exists only while this script runs.
CREATE FUNCTION _bert.registry_import()
RETURNS int
AS 'MODULE_PATHNAME', 'bert_registry_import'
LANGUAGE C;
SELECT _bert.registry_import();
DROP FUNCTION _bert.registry_import();

-- bert_distribute_models() (issue 18), as extension/parts/40-citus.sql makes it.

-- Models on every node of a Citus cluster (docs/scale-out.md): run once on
-- the coordinator, it makes the registry's two tables Citus reference
-- tables, a copy on every node.  An install, a drop or a training on the
-- coordinator is then one distributed transaction (two-phase committed on
-- every node), each worker reads its own copy, and a worker added later gets
-- the copies from Citus (replicate_reference_tables).  Returns the number of
-- nodes that hold the models; running it again changes nothing.
CREATE FUNCTION bert_distribute_models()
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- Citus's notices about the local rows it copied: they are truncated here
SET client_min_messages = warning
AS $$
DECLARE
  t regclass;
  unsafe_triggers text;
  nodes int;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus') THEN
    RAISE EXCEPTION 'Citus is not installed in this database'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'bert_distribute_models() makes the model registry Citus reference tables.',
            HINT = 'Run it on the coordinator of a Citus cluster, after CREATE EXTENSION citus.';
  END IF;
  IF NOT pg_catalog.citus_is_coordinator() THEN
    RAISE EXCEPTION 'bert_distribute_models() must run on the Citus coordinator'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'This node is a worker, or a coordinator without nodes in its metadata.',
            HINT = 'Run it on the coordinator after citus_set_coordinator_host() or citus_add_node().';
  END IF;
  -- the registry's trigger goes with the copies: Citus refuses tables with
  -- triggers unless told; restored below (and by an error's rollback)
  unsafe_triggers := pg_catalog.current_setting('citus.enable_unsafe_triggers');
  PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
  FOREACH t IN ARRAY ARRAY['_bert.model'::pg_catalog.regclass, '_bert.model_chunk'::pg_catalog.regclass] LOOP
    -- (a table distributed otherwise is refused by Citus itself)
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                   WHERE p.logicalrelid OPERATOR(pg_catalog.=) t
                     AND p.partmethod OPERATOR(pg_catalog.=) 'n'
                     AND p.repmodel OPERATOR(pg_catalog.=) 't') THEN
      -- copies the rows to every node; the coordinator's own table keeps
      -- them too until they are truncated
      PERFORM pg_catalog.create_reference_table(t);
      PERFORM pg_catalog.truncate_local_data_after_distributing_table(t);
    END IF;
  END LOOP;
  PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', unsafe_triggers, true);
  SELECT pg_catalog.count(DISTINCT pl.groupid)::int INTO nodes
    FROM pg_catalog.pg_dist_shard s JOIN pg_catalog.pg_dist_placement pl ON pl.shardid OPERATOR(pg_catalog.=) s.shardid
    WHERE s.logicalrelid OPERATOR(pg_catalog.=) '_bert.model'::pg_catalog.regclass;
  RETURN nodes;
END
$$;

COMMENT ON FUNCTION bert_distribute_models() IS 'on a Citus coordinator: make the model registry reference tables, so that every node has the models';

REVOKE EXECUTE ON FUNCTION bert_distribute_models() FROM PUBLIC;
