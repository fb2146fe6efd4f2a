-- bert 0.1.0 -> 0.2.0: ALTER EXTENSION bert UPDATE TO '0.2.0'.
-- Every change to the install script (extension/parts/*.sql) since 0.1.0 has
-- its counterpart here; test/upgrade.sh checks that an updated catalogue
-- equals a fresh install.
\echo Use "ALTER EXTENSION bert UPDATE TO '0.2.0'" to load this file. \quit

-- bert_entities with an aggregation strategy (none, simple, first, average, max)
CREATE FUNCTION bert_entities(input text, model text, aggregation text,
	OUT entity text, OUT label text, OUT score real,
	OUT start_char int, OUT end_char int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_entities'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20000 ROWS 4;
