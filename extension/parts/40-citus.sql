
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
