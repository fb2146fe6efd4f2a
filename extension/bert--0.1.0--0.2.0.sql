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

-- bert_embed_table refuses Citus tables, naming the statement that fills one.
CREATE OR REPLACE PROCEDURE bert_embed_table(source regclass, text_column name, target_column name,
                                  batch_size int DEFAULT 256,
                                  model text DEFAULT 'all-MiniLM-L6-v2')
LANGUAGE plpgsql
AS $$
DECLARE
  todo bigint;
  done bigint := 0;
  n bigint;
  last tid := '(0,0)';
  started timestamptz := clock_timestamp();
  elapsed float8;
  rate float8;
  citus_method "char";
BEGIN
  IF batch_size IS NULL OR batch_size < 1 THEN
    RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
    EXECUTE 'SELECT partmethod FROM pg_catalog.pg_dist_partition WHERE logicalrelid OPERATOR(pg_catalog.=) $1'
      INTO citus_method USING source;
    IF citus_method IS NOT NULL THEN
      RAISE EXCEPTION 'bert_embed_table cannot fill Citus table %', source
        USING ERRCODE = 'feature_not_supported',
              DETAIL = 'It finds rows by ctid, which does not identify a row across the shards and replicas of a Citus table.',
              HINT = CASE WHEN citus_method OPERATOR(pg_catalog.=) 'n'
                THEN pg_catalog.format('Fill it in one statement: UPDATE %s SET %I = bert_embed(%I, %L) WHERE %I IS NULL;',
                                       source, target_column, text_column, model, target_column)
                ELSE pg_catalog.format('Run it on every shard, on the workers: SELECT * FROM run_command_on_shards(%L, %L);',
                                       source::text, pg_catalog.format('CALL bert_embed_table(%%L, %s)',
                                       pg_catalog.replace(pg_catalog.format('%L, %L, %s, %L', text_column,
                                                          target_column, batch_size, model), '%', '%%')))
                END;
    END IF;
  END IF;
  EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NULL AND %I IS NOT NULL',
                 source, target_column, text_column) INTO todo;
  RAISE NOTICE 'bert_embed_table: % rows of % to embed', todo, source;
  LOOP
    -- the next batch_size rows after the last one done, in physical order
    EXECUTE format(
      $q$WITH batch AS (
           SELECT ctid AS row_id, row_number() OVER (ORDER BY ctid)::int AS ord, %2$I AS body
           FROM %1$s
           WHERE ctid > $1 AND %3$I IS NULL AND %2$I IS NOT NULL
           ORDER BY ctid
           LIMIT $2),
         embedded AS (
           SELECT b.row_id, e.embedding
           FROM @extschema@.bert_embed_many((SELECT array_agg(body ORDER BY ord) FROM batch), $3) e
           JOIN batch b USING (ord)),
         updated AS (
           UPDATE %1$s t SET %3$I = embedded.embedding
           FROM embedded WHERE t.ctid = embedded.row_id
           RETURNING t.ctid AS row_id)
       SELECT count(*), max(row_id) FROM batch$q$,
      source, text_column, target_column)
    INTO n, last USING last, batch_size, model;
    EXIT WHEN n = 0;
    done := done + n;
    COMMIT;
    elapsed := extract(epoch FROM clock_timestamp() - started);
    rate := done / greatest(elapsed, 1e-6);
    RAISE NOTICE 'bert_embed_table: % / % rows, % rows/s, ETA % s',
      done, todo, round(rate::numeric, 1), round(((todo - done) / greatest(rate, 1e-6))::numeric, 0);
  END LOOP;
END
$$;

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
