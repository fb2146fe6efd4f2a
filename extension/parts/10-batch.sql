
-- Batches and whole tables.

CREATE FUNCTION bert_embed_many(inputs text[], model text)
RETURNS TABLE (ord int, embedding real[])
AS 'MODULE_PATHNAME', 'bert_embed_many'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 100;

CREATE FUNCTION bert_embed_many(inputs text[])
RETURNS TABLE (ord int, embedding real[])
AS 'MODULE_PATHNAME', 'bert_embed_many'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 100;

COMMENT ON FUNCTION bert_embed_many(text[], text) IS
'embeddings of many texts at once, in input order (ord is the 1-based array index)';

-- Fill target_column with the embeddings of text_column wherever it is NULL,
-- batch_size rows per transaction, reporting progress as NOTICEs.  Resumes
-- where it stopped: rows already filled are skipped.  Rows whose text is
-- NULL are left alone.  Refuses Citus tables: it finds rows by ctid, which
-- identifies no row of a table whose rows are in shards or replicas; the
-- hint names the statement that fills one (docs/scale-out.md).
CREATE PROCEDURE bert_embed_table(source regclass, text_column name, target_column name,
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
