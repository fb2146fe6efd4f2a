-- Every function, procedure, view and operator of the extension has a
-- COMMENT (what \df+ and \dx+ show).  Lists the members without one: none.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;

CREATE TEMP VIEW member AS
SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object,
       CASE WHEN d.classid = 'pg_proc'::regclass THEN
                 CASE (SELECT prokind FROM pg_proc WHERE oid = d.objid)
                      WHEN 'p' THEN 'procedure' ELSE 'function' END
            WHEN d.classid = 'pg_operator'::regclass THEN 'operator'
            WHEN d.classid = 'pg_class'::regclass
                 AND (SELECT relkind FROM pg_class WHERE oid = d.objid) IN ('v', 'm') THEN 'view'
       END AS kind,
       obj_description(d.objid, d.classid::regclass::name) AS comment
FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'bert')
  AND d.deptype = 'e';

SELECT kind, object AS without_comment
FROM member WHERE kind IS NOT NULL AND coalesce(comment, '') = '' ORDER BY 1, 2;

-- the check sees every kind it is about
SELECT array_agg(DISTINCT kind ORDER BY kind) AS kinds_checked FROM member WHERE kind IS NOT NULL;

-- \df+ shows them
SELECT p.oid::regprocedure AS function, d.description
FROM pg_proc p JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass
WHERE p.proname = 'bert_embed' ORDER BY p.oid::regprocedure::text;
