
-- The registry: the models installed or trained in this database, as
-- extension configuration tables, so that pg_dump carries them, replicas
-- replay them and ROLLBACK undoes them.  In a schema of its own, "_bert":
-- pg_restore loads table data sorted by schema name, and "_bert" sorts
-- before every schema whose name starts with a lower-case letter, so the
-- models are back before the rows of a table whose generated columns use
-- them.  Only the extension's owner may read or write these tables; the
-- functions below do it for the caller.
CREATE SCHEMA _bert;
COMMENT ON SCHEMA _bert IS 'bert: the model registry (extension configuration, in every dump)';

-- A row per model name.  content_hash is the SHA-256 of the model file; an
-- overlay (a trained head) names its base model's content in base_hash.
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

-- The bytes of each content, a megabyte per row, shared by every name with
-- that content; stored uncompressed (weights do not compress).
CREATE TABLE _bert.model_chunk (
	content_hash text NOT NULL,
	seq int NOT NULL,
	data bytea NOT NULL,
	PRIMARY KEY (content_hash, seq)
);
ALTER TABLE _bert.model_chunk ALTER COLUMN data SET STORAGE EXTERNAL;

SELECT pg_catalog.pg_extension_config_dump('_bert.model', '');
SELECT pg_catalog.pg_extension_config_dump('_bert.model_chunk', '');

-- Any change to the registry, ours or a superuser's own DML, makes every
-- backend look its model names up again (a relcache invalidation).
CREATE FUNCTION _bert.registry_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'bert_registry_changed'
LANGUAGE C;
REVOKE ALL ON FUNCTION _bert.registry_changed() FROM PUBLIC;

CREATE TRIGGER model_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON _bert.model
FOR EACH STATEMENT EXECUTE FUNCTION _bert.registry_changed();

-- Install a model from its bytes, sent by the client: no server file is
-- read, so no pg_read_server_files is needed.
CREATE FUNCTION bert_install_model(name text, data bytea, replace boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'bert_install_model_bytes'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- Zero the calls and tokens counted for one model (NULL: every model) in
-- this database.
CREATE FUNCTION bert_models_reset(name text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'bert_models_reset'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON TABLE _bert.model IS 'bert: a row per model installed or trained in this database';
COMMENT ON TABLE _bert.model_chunk IS 'bert: the bytes of each model content, a megabyte per row';
COMMENT ON FUNCTION _bert.registry_changed() IS 'trigger: a registry change makes every backend look its model names up again';
COMMENT ON FUNCTION bert_install_model(text, bytea, boolean) IS 'install a model from the bytes of a model file sent by the client';
COMMENT ON FUNCTION bert_models_reset(text) IS 'zero the usage counters of one model (NULL: every model) in this database';

-- Who may change the registry is granted, like pg_stat_statements_reset():
-- GRANT EXECUTE ON FUNCTION ... TO some_role.
REVOKE EXECUTE ON FUNCTION
	bert_install_model(text, text, boolean),
	bert_install_model(text, bytea, boolean),
	bert_drop_model(text),
	bert_train_classifier(text, text, text, int, float8, float8, int, boolean, boolean),
	bert_train_token_classifier(text, text, text, int, float8, float8, int, boolean, boolean),
	bert_models_reset(text)
FROM PUBLIC;
