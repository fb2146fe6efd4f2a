-- Every member of the extension bert (pg_depend deptype 'e') and what
-- defines it, one property per line, sorted, free of OIDs: test/upgrade.sh
-- diffs this between an updated and a freshly created extension.
WITH m AS (
	SELECT classid, objid FROM pg_catalog.pg_depend
	WHERE refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND deptype = 'e'
	  AND refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'bert')
),
rel AS (
	SELECT c.* FROM m JOIN pg_catalog.pg_class c
	  ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = m.objid
),
line AS (
	-- the extension itself
	SELECT format('extension: version=%s relocatable=%s schema=%s', extversion, extrelocatable,
				  extnamespace::pg_catalog.regnamespace) AS l
	FROM pg_catalog.pg_extension WHERE extname = 'bert'
	UNION ALL
	SELECT format('extension: config table %s where %L', t::pg_catalog.regclass, coalesce(c, ''))
	FROM pg_catalog.pg_extension e,
		 unnest(e.extconfig, e.extcondition) AS u(t, c)
	WHERE e.extname = 'bert'
	UNION ALL
	-- every member by name
	SELECT 'member: ' || pg_catalog.pg_describe_object(classid, objid, 0) FROM m
	UNION ALL
	-- comments, on members and on their columns
	SELECT 'comment: ' || pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) || ' = ' || d.description
	FROM pg_catalog.pg_description d JOIN m ON d.classoid = m.classid AND d.objoid = m.objid
	UNION ALL
	-- privileges the extension's scripts set (what pg_dump keeps apart)
	SELECT 'initial privileges: ' || pg_catalog.pg_describe_object(i.classoid, i.objoid, i.objsubid)
		   || ' = ' || i.initprivs::text
	FROM pg_catalog.pg_init_privs i JOIN m ON i.classoid = m.classid AND i.objoid = m.objid
	WHERE i.privtype = 'e'
	UNION ALL
	-- functions and procedures
	SELECT format('%s %s: %s', CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
				  p.oid::pg_catalog.regprocedure, x)
	FROM m JOIN pg_catalog.pg_proc p ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = m.objid,
	LATERAL unnest(ARRAY[
		'schema=' || p.pronamespace::pg_catalog.regnamespace,
		'kind=' || p.prokind::text,
		'arguments=' || pg_catalog.pg_get_function_arguments(p.oid),
		'result=' || coalesce(pg_catalog.pg_get_function_result(p.oid), ''),
		'language=' || (SELECT lanname FROM pg_catalog.pg_language WHERE oid = p.prolang),
		'volatility=' || p.provolatile::text,
		'strict=' || p.proisstrict,
		'parallel=' || p.proparallel::text,
		'security_definer=' || p.prosecdef,
		'leakproof=' || p.proleakproof,
		'cost=' || p.procost,
		'rows=' || p.prorows,
		'returns_set=' || p.proretset,
		'config=' || coalesce(p.proconfig::text, ''),
		'support=' || p.prosupport::pg_catalog.regproc,
		'owner=' || p.proowner::pg_catalog.regrole,
		'acl=' || coalesce(p.proacl::text, 'default'),
		'bin=' || coalesce(p.probin, ''),
		'src=' || replace(coalesce(p.prosrc, ''), E'\n', E'\n\t| ')]) AS x
	UNION ALL
	-- tables, views, sequences, indexes of the extension
	SELECT format('relation %s: %s', c.oid::pg_catalog.regclass, x)
	FROM rel c,
	LATERAL unnest(ARRAY[
		'kind=' || c.relkind::text,
		'persistence=' || c.relpersistence::text,
		'owner=' || c.relowner::pg_catalog.regrole,
		'acl=' || coalesce(c.relacl::text, 'default'),
		'options=' || coalesce(c.reloptions::text, ''),
		'row_security=' || c.relrowsecurity || '/' || c.relforcerowsecurity,
		'definition=' || replace(coalesce(pg_catalog.pg_get_viewdef(c.oid), ''), E'\n', E'\n\t| ')]) AS x
	UNION ALL
	SELECT format('relation %s: column %s %s%s%s storage=%s acl=%s', c.oid::pg_catalog.regclass, a.attname,
				  pg_catalog.format_type(a.atttypid, a.atttypmod),
				  CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
				  coalesce(' DEFAULT ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), ''),
				  a.attstorage, coalesce(a.attacl::text, 'default'))
	FROM rel c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
	UNION ALL
	SELECT format('relation %s: constraint %s %s', c.oid::pg_catalog.regclass, k.conname,
				  pg_catalog.pg_get_constraintdef(k.oid))
	FROM rel c JOIN pg_catalog.pg_constraint k ON k.conrelid = c.oid
	UNION ALL
	SELECT format('relation %s: index %s', c.oid::pg_catalog.regclass, pg_catalog.pg_get_indexdef(i.indexrelid))
	FROM rel c JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
	UNION ALL
	SELECT format('relation %s: trigger %s', c.oid::pg_catalog.regclass, pg_catalog.pg_get_triggerdef(t.oid))
	FROM rel c JOIN pg_catalog.pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
	UNION ALL
	SELECT format('relation %s: policy %s %s to %s using %s check %s', c.oid::pg_catalog.regclass, p.polname,
				  p.polcmd, p.polroles::pg_catalog.regrole[], pg_catalog.pg_get_expr(p.polqual, p.polrelid),
				  pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
	FROM rel c JOIN pg_catalog.pg_policy p ON p.polrelid = c.oid
	UNION ALL
	-- operators
	SELECT format('operator %s: %s', o.oid::pg_catalog.regoperator, x)
	FROM m JOIN pg_catalog.pg_operator o ON m.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = m.objid,
	LATERAL unnest(ARRAY[
		'result=' || o.oprresult::pg_catalog.regtype,
		'function=' || o.oprcode::pg_catalog.regprocedure,
		'commutator=' || o.oprcom::pg_catalog.regoperator,
		'negator=' || o.oprnegate::pg_catalog.regoperator,
		'restrict=' || o.oprrest::pg_catalog.regproc,
		'join=' || o.oprjoin::pg_catalog.regproc,
		'merges=' || o.oprcanmerge || ' hashes=' || o.oprcanhash,
		'owner=' || o.oprowner::pg_catalog.regrole]) AS x
	UNION ALL
	-- casts
	SELECT format('cast (%s AS %s): function=%s context=%s method=%s', k.castsource::pg_catalog.regtype,
				  k.casttarget::pg_catalog.regtype, k.castfunc::pg_catalog.regprocedure, k.castcontext, k.castmethod)
	FROM m JOIN pg_catalog.pg_cast k ON m.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass AND k.oid = m.objid
	UNION ALL
	-- types and domains
	SELECT format('type %s: type=%s input=%s output=%s receive=%s send=%s base=%s not_null=%s default=%s owner=%s acl=%s',
				  t.oid::pg_catalog.regtype, t.typtype, t.typinput, t.typoutput, t.typreceive, t.typsend,
				  t.typbasetype::pg_catalog.regtype, t.typnotnull, coalesce(t.typdefault, ''),
				  t.typowner::pg_catalog.regrole, coalesce(t.typacl::text, 'default'))
	FROM m JOIN pg_catalog.pg_type t ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = m.objid
	UNION ALL
	-- schemas
	SELECT format('schema %s: owner=%s acl=%s', n.nspname, n.nspowner::pg_catalog.regrole, coalesce(n.nspacl::text, 'default'))
	FROM m JOIN pg_catalog.pg_namespace n ON m.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND n.oid = m.objid
)
SELECT l FROM line ORDER BY l COLLATE "C";
