
-- Batches and whole tables.

CREATE FUNCTION bert_embed_many(inputs text[], model text)
RETURNS TABLE (ord int, embedding real[])
AS 'MODULE_PATHNAME', 'bert_embed_many'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 100;

CREATE FUNCTION bert_embed_many(inputs text[])
RETURNS TABLE (ord int, embedding real[])
AS 'MODULE_PATHNAME', 'bert_embed_many'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 100;
COMMENT ON FUNCTION bert_embed_many(text[]) IS
'embeddings of many texts at once by the model in bert.default_model, in input order';

COMMENT ON FUNCTION bert_embed_many(text[], text) IS
'embeddings of many texts at once, in input order (ord is the 1-based array index)';

-- Fill target_column with the embeddings of text_column wherever it is NULL,
-- batch_size rows per transaction, reporting progress as NOTICEs.  Resumes
-- where it stopped: rows already filled are skipped.  Rows whose text is
-- NULL are left alone.
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
BEGIN
  IF batch_size IS NULL OR batch_size < 1 THEN
    RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
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
COMMENT ON PROCEDURE bert_embed_table(regclass, name, name, integer, text) IS
'fill target_column with the embeddings of text_column where it is NULL, committing every batch_size rows';
