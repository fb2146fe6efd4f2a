-- bert 0.1.0 -> 0.2.0: ALTER EXTENSION bert UPDATE TO '0.2.0'.
-- Every change to the install script (extension/parts/*.sql) since 0.1.0 has
-- its counterpart here; test/upgrade.sh checks that an updated catalogue
-- equals a fresh install.
\echo Use "ALTER EXTENSION bert UPDATE TO '0.2.0'" to load this file. \quit

-- Models are database state (issue 13): the registry, its functions and
-- privileges, as extension/parts/30-registry.sql and 00-core.sql make them.

-- bert_models has new columns (storage, content hash, base model, bytes in
-- the database and in the cache, who installed it and when): recreated.
DROP VIEW bert_models;
DROP FUNCTION bert_models();
CREATE FUNCTION bert_models(
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

CREATE VIEW bert_models AS SELECT * FROM @extschema@.bert_models();
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
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

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
