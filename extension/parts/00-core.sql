-- bert: the install script, made by the Makefile from extension/parts/*.sql
\echo Use "CREATE EXTENSION bert" to load this file. \quit

-- Like to_tsvector(), each model-dependent function comes in two forms:
-- with an explicit model it is IMMUTABLE (a model name always denotes the
-- same weights: install changed weights under a new name, or rebuild what
-- was computed from the old ones) and depends on its arguments only: the
-- model's own token limit (or the max_tokens argument), always truncating;
-- without one it uses bert.default_model, bert.max_tokens and bert.truncate
-- and is STABLE.  Use the explicit form in indexes and generated columns.

CREATE FUNCTION bert_embed(input text, model text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000;

CREATE FUNCTION bert_embed(input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_embed'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 20000;
COMMENT ON FUNCTION bert_embed(text) IS
'sentence embedding of input by the model in bert.default_model';

-- max_tokens instead of the model's own limit
CREATE FUNCTION bert_embed(input text, model text, max_tokens int)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000;
COMMENT ON FUNCTION bert_embed(text, text, integer) IS
'sentence embedding of input, cut at max_tokens word pieces for this call';

COMMENT ON FUNCTION bert_embed(text, text) IS
'sentence embedding of input (pooled and, for embedding models, L2-normalised)';

CREATE FUNCTION bert_tokenize(input text, model text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'bert_tokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;
COMMENT ON FUNCTION bert_tokenize(text, text) IS
'word pieces the model sees for input, with [CLS] and [SEP] (cut at the token limit)';

CREATE FUNCTION bert_tokenize(input text, model text, max_tokens int)
RETURNS text[]
AS 'MODULE_PATHNAME', 'bert_tokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;
COMMENT ON FUNCTION bert_tokenize(text, text, integer) IS
'word pieces the model sees for input, cut at max_tokens for this call';

CREATE FUNCTION bert_tokenize(input text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'bert_tokenize'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 500;
COMMENT ON FUNCTION bert_tokenize(text) IS
'word pieces the model in bert.default_model sees for input, with [CLS] and [SEP]';

CREATE FUNCTION bert_token_ids(input text, model text)
RETURNS int[]
AS 'MODULE_PATHNAME', 'bert_token_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;
COMMENT ON FUNCTION bert_token_ids(text, text) IS
'vocabulary ids of the word pieces the model sees for input, with [CLS] and [SEP]';

CREATE FUNCTION bert_token_ids(input text, model text, max_tokens int)
RETURNS int[]
AS 'MODULE_PATHNAME', 'bert_token_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;
COMMENT ON FUNCTION bert_token_ids(text, text, integer) IS
'vocabulary ids of the word pieces of input, cut at max_tokens for this call';

CREATE FUNCTION bert_token_ids(input text)
RETURNS int[]
AS 'MODULE_PATHNAME', 'bert_token_ids'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 500;
COMMENT ON FUNCTION bert_token_ids(text) IS
'vocabulary ids of the word pieces the model in bert.default_model sees for input';

CREATE FUNCTION bert_token_count(input text, model text)
RETURNS int
AS 'MODULE_PATHNAME', 'bert_token_count'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;
COMMENT ON FUNCTION bert_token_count(text, text) IS
'number of word pieces of the whole input, with [CLS] and [SEP] (never cut)';

CREATE FUNCTION bert_token_count(input text)
RETURNS int
AS 'MODULE_PATHNAME', 'bert_token_count'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 500;
COMMENT ON FUNCTION bert_token_count(text) IS
'number of word pieces of the whole input for the model in bert.default_model (never cut)';

CREATE FUNCTION bert_similarity(a text, b text, model text)
RETURNS float8
AS 'MODULE_PATHNAME', 'bert_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 40000;
COMMENT ON FUNCTION bert_similarity(text, text, text) IS
'cosine similarity of the sentence embeddings of a and b';

CREATE FUNCTION bert_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'bert_similarity'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 40000;
COMMENT ON FUNCTION bert_similarity(text, text) IS
'cosine similarity of the sentence embeddings of a and b by the model in bert.default_model';

CREATE FUNCTION bert_cosine_similarity(a real[], b real[])
RETURNS float8
AS 'MODULE_PATHNAME', 'bert_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10;
COMMENT ON FUNCTION bert_cosine_similarity(real[], real[]) IS
'cosine similarity of two vectors; NaN if either is all zeros';

CREATE FUNCTION bert_cosine_distance(a real[], b real[])
RETURNS float8
AS 'MODULE_PATHNAME', 'bert_cosine_distance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10;
COMMENT ON FUNCTION bert_cosine_distance(real[], real[]) IS
'cosine distance of two vectors, 1 - cosine similarity (the operator <=>)';

CREATE OPERATOR <=> (
	LEFTARG = real[],
	RIGHTARG = real[],
	FUNCTION = bert_cosine_distance,
	COMMUTATOR = <=>
);
COMMENT ON OPERATOR <=> (real[], real[]) IS
'cosine distance of two vectors, 1 - cosine similarity';

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
COMMENT ON FUNCTION bert_info() IS
'BLIS version, kernel set in use and why, threads, model format version, models directories, CPU features';

-- The model catalogue: the models stored in this database's registry (installed
-- or trained here) and those shipped with the extension, and their use.
-- Server paths (directory, source) are shown only to roles that may read
-- server files.
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

-- The view: 0.1.0's columns first, in their order, then the new ones.
CREATE VIEW bert_models AS SELECT
	name, kind, layers, hidden, heads, vocab_size, max_positions, max_seq_len,
	labels, pooling, normalized, directory, bytes, bytes_resident, loaded_since,
	calls, tokens, storage, content_hash, base_model, base_hash, bytes_in_database,
	bytes_in_cache, source, installed_by, installed_at
FROM @extschema@.bert_models();
GRANT SELECT ON bert_models TO PUBLIC;

COMMENT ON FUNCTION bert_models() IS 'every model this database can use (stored in its registry or shipped), its sizes and its use';
COMMENT ON VIEW bert_models IS 'every model this database can use (stored in its registry or shipped), its sizes and its use';

-- Install a model from a server path (a converted .bert file, or a Hugging
-- Face checkpoint directory, converted in the server) into this database's
-- registry: also needs superuser or pg_read_server_files.  Revoked from
-- PUBLIC (30-registry.sql); GRANT EXECUTE to whom may install.  Not STRICT: a NULL argument is an
-- error, not a silent no-op.
CREATE FUNCTION bert_install_model(name text, path text, replace boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'bert_install_model'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION bert_install_model(text, text, boolean) IS
'install a model from a server path: a converted .bert file or a Hugging Face checkpoint directory';

CREATE FUNCTION bert_drop_model(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'bert_drop_model'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION bert_drop_model(text) IS
'remove a model installed with bert_install_model';
