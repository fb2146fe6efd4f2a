
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
-- batch_size rows per transaction, reporting progress as NOTICEs, on
-- bert.bulk_threads threads (default: every usable core).  Resumes where it
-- stopped: rows already filled are skipped.  Rows whose text is NULL are left
-- alone.  Partitioned and inheritance tables are filled leaf by leaf; a row
-- gets an embedding only while it is NULL and its text is the one embedded,
-- whatever other sessions do meanwhile.  It commits, so it must be called
-- outside a transaction block; in C, its SQL schema-qualified throughout
-- (a procedure that commits cannot pin search_path with SET).
CREATE PROCEDURE bert_embed_table(source regclass, text_column name, target_column name,
                                  batch_size int DEFAULT 256,
                                  model text DEFAULT 'all-MiniLM-L6-v2')
AS 'MODULE_PATHNAME', 'bert_embed_table'
LANGUAGE C;
COMMENT ON PROCEDURE bert_embed_table(regclass, name, name, integer, text) IS
'fill target_column with the embeddings of text_column where it is NULL, committing every batch_size rows';
