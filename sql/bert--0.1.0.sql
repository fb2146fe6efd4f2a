-- bert 0.1.0
\echo Use "CREATE EXTENSION bert" to load this file. \quit

-- Model-dependent functions are IMMUTABLE: a model name always denotes the
-- same weights (reinstall a changed model under a new name, or rebuild any
-- index built on the old results).

CREATE FUNCTION bert_embed(input text, model text DEFAULT 'all-MiniLM-L6-v2')
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000;

COMMENT ON FUNCTION bert_embed(text, text) IS
'sentence embedding of input (pooled and, for embedding models, L2-normalised)';

CREATE FUNCTION bert_tokenize(input text, model text DEFAULT 'all-MiniLM-L6-v2')
RETURNS text[]
AS 'MODULE_PATHNAME', 'bert_tokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_token_ids(input text, model text DEFAULT 'all-MiniLM-L6-v2')
RETURNS int[]
AS 'MODULE_PATHNAME', 'bert_token_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_token_count(input text, model text DEFAULT 'all-MiniLM-L6-v2')
RETURNS int
AS 'MODULE_PATHNAME', 'bert_token_count'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;

CREATE FUNCTION bert_similarity(a text, b text, model text DEFAULT 'all-MiniLM-L6-v2')
RETURNS float8
AS 'MODULE_PATHNAME', 'bert_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 40000;

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
	OUT cpu_features text)
AS 'MODULE_PATHNAME', 'bert_info'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
