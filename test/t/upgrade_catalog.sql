-- A text description of the lead_scoring extension's catalog objects, used by
-- test/t/006_upgrade.pl to compare a database updated from 0.1.0 with a fresh
-- install: one block per object, "== kind name" then its details, sorted, with
-- no OIDs (names only), so two databases can be compared with diff.
--
-- Covered: every member object of the extension (pg_depend deptype 'e') and
-- every object that depends on a covered one automatically or internally
-- (indexes, constraints, triggers, policies, rules, row types, the relations
-- of composite types). Objects that refresh creates for a model (ranking
-- tables, state tables, capture triggers on CRM tables) are not members and do
-- not depend that way, so they stay out.
-- An ACL as a sorted list "grantee=privilege[*] by grantor".
CREATE FUNCTION pg_temp.acl_text(a aclitem[]) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.string_agg(x, ', ' ORDER BY x COLLATE "C") FROM (
        SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE e.grantee::regrole::text END || '=' || e.privilege_type
               || CASE WHEN e.is_grantable THEN '*' ELSE '' END || ' by ' || e.grantor::regrole::text AS x
          FROM pg_catalog.aclexplode(a) e) s
$$;

WITH RECURSIVE
ext AS (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'lead_scoring'),
covered(classid, objid) AS (
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
    UNION
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d JOIN covered c
        ON d.refclassid = c.classid AND d.refobjid = c.objid
     WHERE d.deptype IN ('a', 'i')
),
blocks(k, body) AS (
    -- the member list itself
    SELECT 'member ' || pg_catalog.pg_describe_object(d.classid, d.objid, 0),
           'deptype e'
      FROM pg_catalog.pg_depend d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'

    -- the extension row: version, schema, config tables and their conditions
    UNION ALL
    SELECT 'extension lead_scoring',
           'version ' || e.extversion || E'\nschema ' || e.extnamespace::regnamespace::text
           || E'\nrelocatable ' || e.extrelocatable
           || E'\nconfig ' || coalesce((
                SELECT pg_catalog.string_agg(c.rel::regclass::text || ' condition ' || pg_catalog.quote_literal(c.cond),
                                             ', ' ORDER BY c.rel::regclass::text COLLATE "C")
                  FROM ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS c(rel, cond)), '(none)')
      FROM pg_catalog.pg_extension e WHERE e.extname = 'lead_scoring'

    -- schemas
    UNION ALL
    SELECT 'schema ' || n.nspname,
           'owner ' || n.nspowner::regrole::text
           || E'\nacl ' || coalesce(pg_temp.acl_text(n.nspacl), '(default)')
      FROM pg_catalog.pg_namespace n JOIN covered c ON c.classid = 'pg_catalog.pg_namespace'::regclass AND c.objid = n.oid

    -- functions, procedures and aggregates: the whole definition and attributes
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure::text,
           'kind ' || p.prokind::text
           || ' language ' || l.lanname
           || ' volatility ' || p.provolatile::text
           || ' strict ' || p.proisstrict
           || ' security_definer ' || p.prosecdef
           || ' leakproof ' || p.proleakproof
           || ' parallel ' || p.proparallel::text
           || ' cost ' || p.procost || ' rows ' || p.prorows
           || ' support ' || p.prosupport::regproc::text
           || E'\nowner ' || p.proowner::regrole::text
           || E'\nresult ' || pg_catalog.pg_get_function_result(p.oid)
           || E'\nargs ' || pg_catalog.pg_get_function_arguments(p.oid)
           || E'\nconfig ' || coalesce(pg_catalog.array_to_string(p.proconfig, ', '), '(none)')
           || E'\nacl ' || coalesce(pg_temp.acl_text(p.proacl), '(default)')
           || CASE WHEN p.prokind = 'a' THEN
                E'\naggregate kind ' || ag.aggkind::text || ' direct_args ' || ag.aggnumdirectargs
                || E'\n  transfn ' || ag.aggtransfn::regprocedure::text
                || ' finalfn ' || ag.aggfinalfn::regproc::text
                || ' combinefn ' || ag.aggcombinefn::regproc::text
                || ' serialfn ' || ag.aggserialfn::regproc::text
                || ' deserialfn ' || ag.aggdeserialfn::regproc::text
                || E'\n  mtransfn ' || ag.aggmtransfn::regproc::text
                || ' minvtransfn ' || ag.aggminvtransfn::regproc::text
                || ' mfinalfn ' || ag.aggmfinalfn::regproc::text
                || E'\n  finalextra ' || ag.aggfinalextra || ' mfinalextra ' || ag.aggmfinalextra
                || ' finalmodify ' || ag.aggfinalmodify::text || ' mfinalmodify ' || ag.aggmfinalmodify::text
                || ' sortop ' || ag.aggsortop::regoperator::text
                || E'\n  transtype ' || ag.aggtranstype::regtype::text || ' transspace ' || ag.aggtransspace
                || ' mtranstype ' || ag.aggmtranstype::regtype::text || ' mtransspace ' || ag.aggmtransspace
                || E'\n  initval ' || coalesce(pg_catalog.quote_literal(ag.agginitval), 'NULL')
                || ' minitval ' || coalesce(pg_catalog.quote_literal(ag.aggminitval), 'NULL')
              ELSE E'\n' || pg_catalog.pg_get_functiondef(p.oid) END
      FROM pg_catalog.pg_proc p
      JOIN covered c ON c.classid = 'pg_catalog.pg_proc'::regclass AND c.objid = p.oid
      JOIN pg_catalog.pg_language l ON l.oid = p.prolang
      LEFT JOIN pg_catalog.pg_aggregate ag ON ag.aggfnoid = p.oid

    -- relations: tables, views, sequences, indexes, composite types' relations
    UNION ALL
    SELECT 'relation ' || r.oid::regclass::text,
           'kind ' || r.relkind::text || ' persistence ' || r.relpersistence::text
           || ' rowsecurity ' || r.relrowsecurity || ' forcerowsecurity ' || r.relforcerowsecurity
           || ' replident ' || r.relreplident::text
           || E'\nowner ' || r.relowner::regrole::text
           || E'\noptions ' || coalesce(pg_catalog.array_to_string(r.reloptions, ', '), '(none)')
           || E'\nacl ' || coalesce(pg_temp.acl_text(r.relacl), '(default)')
           || coalesce(E'\n' || (
                SELECT pg_catalog.string_agg(
                         '  column ' || a.pos || ' ' || pg_catalog.quote_ident(a.attname)
                         || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
                         || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                         || coalesce(' DEFAULT ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '')
                         || CASE WHEN a.attcollation <> 0 THEN ' COLLATE ' || co.collname ELSE '' END
                         || CASE WHEN a.attidentity <> '' THEN ' IDENTITY ' || a.attidentity::text ELSE '' END
                         || CASE WHEN a.attgenerated <> '' THEN ' GENERATED ' || a.attgenerated::text ELSE '' END
                         || coalesce(' OPTIONS ' || (SELECT pg_catalog.string_agg(o, ', ' ORDER BY o COLLATE "C")
                                                     FROM pg_catalog.unnest(a.attoptions) o
                                                    WHERE o NOT LIKE 'pg\_attver=%'), '')
                         || coalesce(' ACL ' || pg_temp.acl_text(a.attacl), ''),
                         E'\n' ORDER BY a.attnum)
                  FROM (SELECT at.*, pg_catalog.row_number() OVER (ORDER BY at.attnum) AS pos
                          FROM pg_catalog.pg_attribute at
                         WHERE at.attrelid = r.oid AND at.attnum > 0 AND NOT at.attisdropped) a
                  LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                  LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
                ), '')
           || CASE WHEN r.relkind IN ('v', 'm') THEN E'\nview ' || pg_catalog.pg_get_viewdef(r.oid, true) ELSE '' END
           || CASE WHEN r.relkind = 'i' THEN E'\nindex ' || pg_catalog.pg_get_indexdef(r.oid) ELSE '' END
           || CASE WHEN r.relkind = 'S' THEN (
                SELECT E'\nsequence type ' || s.seqtypid::regtype::text || ' start ' || s.seqstart
                       || ' increment ' || s.seqincrement || ' min ' || s.seqmin || ' max ' || s.seqmax
                       || ' cache ' || s.seqcache || ' cycle ' || s.seqcycle
                       || coalesce((SELECT ' owned by ' || d.refobjid::regclass::text || '.' || att.attname
                                      FROM pg_catalog.pg_depend d
                                      JOIN pg_catalog.pg_attribute att ON att.attrelid = d.refobjid AND att.attnum = d.refobjsubid
                                     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = r.oid
                                       AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')), '')
                  FROM pg_catalog.pg_sequence s WHERE s.seqrelid = r.oid) ELSE '' END
      FROM pg_catalog.pg_class r JOIN covered c ON c.classid = 'pg_catalog.pg_class'::regclass AND c.objid = r.oid
     -- TOAST tables are named after OIDs, and follow from the columns anyway
     WHERE r.relnamespace <> 'pg_toast'::regnamespace

    -- types (composite, enum, domain, base, range; a table's row type too)
    UNION ALL
    SELECT 'type ' || t.oid::regtype::text,
           'kind ' || t.typtype::text || ' category ' || t.typcategory::text
           || ' relation ' || coalesce(t.typrelid::regclass::text, '-')
           || ' base ' || coalesce(pg_catalog.format_type(t.typbasetype, t.typtypmod), '-')
           || ' notnull ' || t.typnotnull
           || coalesce(' default ' || t.typdefault, '')
           || E'\nowner ' || t.typowner::regrole::text
           || E'\nacl ' || coalesce(pg_temp.acl_text(t.typacl), '(default)')
           || coalesce(E'\nlabels ' || (SELECT pg_catalog.string_agg(e.enumlabel::text, ', ' ORDER BY e.enumsortorder)
                                          FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), '')
      FROM pg_catalog.pg_type t JOIN covered c ON c.classid = 'pg_catalog.pg_type'::regclass AND c.objid = t.oid

    -- constraints (of tables and domains)
    UNION ALL
    SELECT 'constraint ' || co.conname || ' on ' || coalesce(co.conrelid::regclass::text, co.contypid::regtype::text),
           'type ' || co.contype::text || ' deferrable ' || co.condeferrable || ' deferred ' || co.condeferred
           || ' validated ' || co.convalidated
           || E'\n' || pg_catalog.pg_get_constraintdef(co.oid, true)
      FROM pg_catalog.pg_constraint co JOIN covered c ON c.classid = 'pg_catalog.pg_constraint'::regclass AND c.objid = co.oid

    -- triggers
    UNION ALL
    SELECT 'trigger ' || tg.tgname || ' on ' || tg.tgrelid::regclass::text,
           'enabled ' || tg.tgenabled::text || E'\n' || pg_catalog.pg_get_triggerdef(tg.oid, true)
      FROM pg_catalog.pg_trigger tg JOIN covered c ON c.classid = 'pg_catalog.pg_trigger'::regclass AND c.objid = tg.oid
     WHERE NOT tg.tgisinternal

    -- row-level security policies
    UNION ALL
    SELECT 'policy ' || po.polname || ' on ' || po.polrelid::regclass::text,
           'command ' || po.polcmd::text || ' permissive ' || po.polpermissive
           || E'\nroles ' || (SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE r::regrole::text END,
                                                           ', ' ORDER BY 1)
                                FROM pg_catalog.unnest(po.polroles) r)
           || E'\nusing ' || coalesce(pg_catalog.pg_get_expr(po.polqual, po.polrelid, true), '-')
           || E'\nwith check ' || coalesce(pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid, true), '-')
      FROM pg_catalog.pg_policy po JOIN covered c ON c.classid = 'pg_catalog.pg_policy'::regclass AND c.objid = po.oid

    -- rules other than views' _RETURN (those are the view definitions)
    UNION ALL
    SELECT 'rule ' || ru.rulename || ' on ' || ru.ev_class::regclass::text, pg_catalog.pg_get_ruledef(ru.oid, true)
      FROM pg_catalog.pg_rewrite ru JOIN covered c ON c.classid = 'pg_catalog.pg_rewrite'::regclass AND c.objid = ru.oid
     WHERE ru.rulename <> '_RETURN'

    -- comments on every covered object and on the columns of covered relations
    UNION ALL
    SELECT 'comment on ' || pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
      FROM pg_catalog.pg_description d JOIN covered c ON c.classid = d.classoid AND c.objid = d.objoid

    -- the privileges pg_dump treats as the extension's own (pg_init_privs)
    UNION ALL
    SELECT 'initial privileges of ' || pg_catalog.pg_describe_object(ip.classoid, ip.objoid, ip.objsubid),
           'type ' || ip.privtype::text || E'\nacl ' || coalesce(pg_temp.acl_text(ip.initprivs), '(none)')
      FROM pg_catalog.pg_init_privs ip JOIN covered c ON c.classid = ip.classoid AND c.objid = ip.objoid
)
SELECT pg_catalog.string_agg('== ' || k || E'\n' || body, E'\n' ORDER BY k COLLATE "C", body COLLATE "C")
  FROM blocks;
