-- bert 0.1.0
\echo Use "CREATE EXTENSION bert" to load this file. \quit

-- Like to_tsvector(), each model-dependent function comes in two forms:
-- with an explicit model it is IMMUTABLE (a model name always denotes the
-- same weights: install changed weights under a new name, or rebuild what
-- was computed from the old ones); without one it uses bert.default_model
-- and is STABLE.  Use the explicit form in indexes and generated columns.

CREATE FUNCTION bert_embed(input text, model text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000;

CREATE FUNCTION bert_embed(input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_embed'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000;

-- max_tokens overrides bert.max_tokens for one call
CREATE FUNCTION bert_embed(input text, model text, max_tokens int)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000;

COMMENT ON FUNCTION bert_embed(text, text) IS
'sentence embedding of input (pooled and, for embedding models, L2-normalised)';

CREATE FUNCTION bert_tokenize(input text, model text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'bert_tokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_tokenize(input text, model text, max_tokens int)
RETURNS text[]
AS 'MODULE_PATHNAME', 'bert_tokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_tokenize(input text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'bert_tokenize'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_token_ids(input text, model text)
RETURNS int[]
AS 'MODULE_PATHNAME', 'bert_token_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_token_ids(input text, model text, max_tokens int)
RETURNS int[]
AS 'MODULE_PATHNAME', 'bert_token_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_token_ids(input text)
RETURNS int[]
AS 'MODULE_PATHNAME', 'bert_token_ids'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_token_count(input text, model text)
RETURNS int
AS 'MODULE_PATHNAME', 'bert_token_count'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_token_count(input text)
RETURNS int
AS 'MODULE_PATHNAME', 'bert_token_count'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_similarity(a text, b text, model text)
RETURNS float8
AS 'MODULE_PATHNAME', 'bert_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 40000;

CREATE FUNCTION bert_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'bert_similarity'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 40000;

CREATE FUNCTION bert_cosine_similarity(a real[], b real[])
RETURNS float8
AS 'MODULE_PATHNAME', 'bert_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10;

CREATE FUNCTION bert_cosine_distance(a real[], b real[])
RETURNS float8
AS 'MODULE_PATHNAME', 'bert_cosine_distance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10;

CREATE OPERATOR <=> (
	LEFTARG = real[],
	RIGHTARG = real[],
	FUNCTION = bert_cosine_distance,
	COMMUTATOR = <=>
);

CREATE FUNCTION bert_info(
	OUT blis_version text,
	OUT kernel text,
	OUT kernel_reason text,
	OUT threads int,
	OUT format_version int,
	OUT models_directory text,
	OUT cpu_features text,
	OUT simd text)
AS 'MODULE_PATHNAME', 'bert_info'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

-- The model catalogue: every installed model, and its use by this server.
CREATE FUNCTION bert_models(
	OUT name text,
	OUT kind text,
	OUT layers int,
	OUT hidden int,
	OUT heads int,
	OUT vocab_size int,
	OUT max_positions int,
	OUT max_seq_len int,
	OUT labels text[],
	OUT pooling text,
	OUT normalized bool,
	OUT directory text,
	OUT bytes_on_disk bigint,
	OUT bytes_resident bigint,
	OUT loaded_since timestamptz,
	OUT calls bigint,
	OUT tokens bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_models'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

CREATE VIEW bert_models AS SELECT * FROM @extschema@.bert_models();

-- Install a model from a server path: a converted .bert file, or a Hugging
-- Face checkpoint directory (converted with bert-convert).  Superusers and
-- members of pg_read_server_files only.
CREATE FUNCTION bert_install_model(name text, path text, replace boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'bert_install_model'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION bert_drop_model(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'bert_drop_model'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

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

-- Heads: token embeddings, token labels, entities, sequence classification,
-- and heads trained from labeled rows.  Offsets (start_char, end_char) are
-- 0-based character positions in the original input, end exclusive (as
-- Hugging Face's offsets); [CLS] and [SEP] cover no characters and are left
-- out of bert_token_labels and bert_entities, as Hugging Face's pipelines do.

-- The last hidden state of every word piece, [CLS] (position 0) and [SEP]
-- included.
CREATE FUNCTION bert_token_embeddings(input text, model text,
	OUT "position" int, OUT token text, OUT embedding real[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_embeddings'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;

CREATE FUNCTION bert_token_embeddings(input text,
	OUT "position" int, OUT token text, OUT embedding real[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_embeddings'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;

-- Token classification: the most likely label of every word piece.
CREATE FUNCTION bert_token_labels(input text, model text,
	OUT "position" int, OUT token text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_labels'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;

CREATE FUNCTION bert_token_labels(input text,
	OUT "position" int, OUT token text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_labels'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 32;

-- Entities as Hugging Face's token-classification pipeline with
-- aggregation_strategy="simple": entity is the original substring.
CREATE FUNCTION bert_entities(input text, model text,
	OUT entity text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_entities'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;

CREATE FUNCTION bert_entities(input text,
	OUT entity text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_entities'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;

-- Sequence classification: the most likely label, or every label's probability.
CREATE FUNCTION bert_classify(input text, model text)
RETURNS text
AS 'MODULE_PATHNAME', 'bert_classify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000;

CREATE FUNCTION bert_classify(input text)
RETURNS text
AS 'MODULE_PATHNAME', 'bert_classify'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000;

CREATE FUNCTION bert_classify_scores(input text, model text,
	OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_classify_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;

CREATE FUNCTION bert_classify_scores(input text,
	OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_classify_scores'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;

-- Train a sequence classifier on the sentence embeddings of a frozen
-- embedding model: training_query returns (text, label) rows (label of any
-- type, taken as its text form; rows with a NULL are skipped).  Writes and
-- installs model "name" (as bert_install_model: superusers and members of
-- pg_read_server_files only).  Deterministic for a given seed and row order.
CREATE FUNCTION bert_train_classifier(name text, base_model text, training_query text,
	epochs int DEFAULT 100, learning_rate float8 DEFAULT 0.01, l2 float8 DEFAULT 1e-4,
	seed int DEFAULT 42, balanced boolean DEFAULT false, replace boolean DEFAULT false,
	OUT model text, OUT labels text[], OUT examples bigint,
	OUT loss float8, OUT accuracy float8)
RETURNS record
AS 'MODULE_PATHNAME', 'bert_train_classifier'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- Train a token classifier (BIO labels) on the word-piece hidden states of a
-- frozen embedding model: training_query returns (text, entities jsonb) rows,
-- entities like [{"start": 0, "end": 5, "label": "PER"}] in characters.
CREATE FUNCTION bert_train_token_classifier(name text, base_model text, training_query text,
	epochs int DEFAULT 30, learning_rate float8 DEFAULT 0.01, l2 float8 DEFAULT 0,
	seed int DEFAULT 42, balanced boolean DEFAULT true, replace boolean DEFAULT false,
	OUT model text, OUT labels text[], OUT examples bigint,
	OUT loss float8, OUT accuracy float8)
RETURNS record
AS 'MODULE_PATHNAME', 'bert_train_token_classifier'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
