// lead_scoring.refresh: the ranking (target) table: resolving it, creating it
// with its indexes and its _ranked view, migrating a table written by 0.1.0.
//
// Error boundary: C++ objects are alive (called under ls_refresh's
// LS_FUNCTION); every PostgreSQL call runs inside pg_call.
#include "pg/refresh_internal.hpp"

#include <string>

extern "C" {
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "parser/parse_type.h"
#include "utils/syscache.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace ls::pg::refresh {

namespace {

// ---------------------------------------------------------------- target

// The ranking table's columns besides lead_id (doc/rank.md, "The ranking table").
const char* kTargetColumns[][2] = {
    {"score", "float8"},  {"fit", "float8"},         {"activity", "float8"},   {"grade", "text"},
    {"stage", "text"},    {"disqualified", "bool"},  {"rfm_code", "text"},     {"rfm_segment", "text"},
    {"as_of", "timestamptz"}, {"changed_at", "timestamptz"},
};

AttrNumber attnum_of(Oid relid, const char* col) {
    AttrNumber a = InvalidAttrNumber;
    pg_call([&] { a = get_attnum(relid, col); });
    return a;
}

// The view <target>_ranked: rank() among qualified leads over the index on
// score, and percentile from rank, the number of peers and the count of
// qualified leads refresh keeps in refresh_state in the same transaction as the
// table (percent_rank() itself would read the whole table before the first row).
// A table no model refreshes any more has no count: percentile NULL. The table
// is looked up by its (qualified) name when the view is read, not by an OID
// fixed in the view: after a dump and restore the view still finds its count.
std::string ranked_view_ddl(const Target& t) {
    const std::string cols = "t.lead_id, t.score, t.fit, t.activity, t.grade, t.stage, t.disqualified, t.rfm_code, "
                             "t.rfm_segment, t.as_of, t.changed_at";
    return "CREATE OR REPLACE VIEW " + t.vname + " AS SELECT q.lead_id, q.score, q.fit, q.activity, q.grade, q.stage, "
           "q.disqualified, q.rfm_code, q.rfm_segment, q.as_of, q.changed_at, q.rank, "
           "CASE WHEN n.qualified OPERATOR(pg_catalog.>) 1 THEN "
           "(n.qualified OPERATOR(pg_catalog.-) q.rank OPERATOR(pg_catalog.+) 1 OPERATOR(pg_catalog.-) q.peers)::float8 "
           "OPERATOR(pg_catalog./) (n.qualified OPERATOR(pg_catalog.-) 1)::float8 WHEN n.qualified IS NOT NULL THEN "
           "0::float8 END AS percentile "
           "FROM (SELECT " + cols + ", pg_catalog.rank() OVER w AS rank, pg_catalog.count(*) OVER w AS peers FROM " +
           t.qname + " t WHERE NOT t.disqualified WINDOW w AS (ORDER BY t.score DESC RANGE BETWEEN CURRENT ROW AND "
           "CURRENT ROW)) q LEFT JOIN LATERAL (SELECT s.qualified FROM lead_scoring.refresh_state s WHERE s.target "
           "OPERATOR(pg_catalog.=) pg_catalog.to_regclass(" + quote_literal(t.qname) + ")::pg_catalog.oid) n ON true "
           "UNION ALL SELECT " + cols + ", NULL::bigint, NULL::float8 FROM " + t.qname + " t WHERE t.disqualified; "
           "COMMENT ON VIEW " + t.vname + " IS " +
           quote_literal("Ranking with rank (1 = best, among qualified leads; NULL when disqualified) and percentile "
                         "(1 = best, 0 = worst); WHERE rank <= N reads N index entries (doc/rank.md)");
}

std::string target_indexes_ddl(const Target& t) {
    return "CREATE INDEX ON " + t.qname + " (score DESC) WHERE NOT disqualified; CREATE INDEX ON " + t.qname +
           " (stage, score DESC); ";
}

// A ranking table written by lead_scoring 0.1.0 (rank, percentile and
// refreshed_at columns) becomes a v2 table: rank and percentile are dropped
// (with their indexes), refreshed_at is renamed changed_at, the v2 indexes and
// the _ranked view are created. A user's view or other object on rank or
// percentile would be dropped with them: refused, with a hint.
bool migrate_v1_target(Ctx& c, Target& t) {
    const AttrNumber rank = attnum_of(t.relid, "rank"), pct = attnum_of(t.relid, "percentile");
    const AttrNumber refreshed = attnum_of(t.relid, "refreshed_at"), changed = attnum_of(t.relid, "changed_at");
    if (rank <= 0 || pct <= 0 || refreshed <= 0 || changed > 0) return false;
    Params p;
    p.add(OIDOID, ObjectIdGetDatum(t.relid));
    p.add(INT4OID, Int32GetDatum(rank));
    p.add(INT4OID, Int32GetDatum(pct));
    const uint64 n = exec("SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_catalog.pg_depend d "
                          "WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND "
                          "d.refobjid OPERATOR(pg_catalog.=) $1 AND d.refobjsubid OPERATOR(pg_catalog.=) ANY "
                          "(ARRAY[$2, $3]) AND d.deptype OPERATOR(pg_catalog.=) 'n' AND d.classid OPERATOR(pg_catalog.<>) "
                          "'pg_catalog.pg_class'::pg_catalog.regclass OR (d.refobjid OPERATOR(pg_catalog.=) $1 AND "
                          "d.refobjsubid OPERATOR(pg_catalog.=) ANY (ARRAY[$2, $3]) AND d.classid OPERATOR(pg_catalog.=) "
                          "'pg_catalog.pg_rewrite'::pg_catalog.regclass) ORDER BY 1 LIMIT 1",
                          &p, true);
    if (n > 0) {
        char* what = nullptr;
        pg_call([&] { what = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1); });
        const char* tq = t.qname.c_str();
        const char* model = c.model.c_str();
        pg_call([&] {
            ereport(ERROR, (errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
                            errmsg("cannot update ranking table %s of lead scoring model \"%s\" to rankings v2: %s "
                                   "depends on its column rank or percentile",
                                   tq, model, what ? what : "an object"),
                            errhint("Rankings v2 no longer store rank and percentile (read them from the view %s_ranked). "
                                    "Drop or redefine that object, then refresh again.",
                                    tq)));
        });
    }
    exec("ALTER TABLE " + t.qname + " DROP COLUMN rank, DROP COLUMN percentile; ALTER TABLE " + t.qname +
         " RENAME COLUMN refreshed_at TO changed_at; " + target_indexes_ddl(t));
    return true;
}

}  // namespace

// Resolves the target table, creating it (and its _ranked view) when missing
// and updating a 0.1.0 table; an existing table must have every column of the
// v2 layout with the right type.
Target resolve_target(Ctx& c) {
    Target t;
    const bool dflt = c.m->source.target.empty();
    const std::string name = dflt ? "lead_scoring.ranking_" + c.model : c.m->source.target;
    RangeVar* rv = parse_relname(name, "$.source.target");
    Oid nsp = InvalidOid;
    Oid relid = InvalidOid;
    // Locked as found: the owner check below then holds for the name until the
    // transaction ends (no DROP and re-CREATE by the owner of the schema, no
    // RENAME, can swap another table in under the same name meanwhile).
    pg_call([&] {
        nsp = get_namespace_oid(rv->schemaname, true);
        if (OidIsValid(nsp)) relid = RangeVarGetRelidExtended(rv, RowExclusiveLock, RVR_MISSING_OK, nullptr, nullptr);
    });
    if (!OidIsValid(nsp))
        pg_error(ERRCODE_UNDEFINED_SCHEMA, "schema \"" + std::string(rv->schemaname) + "\" of $.source.target does not exist");
    t.schema = rv->schemaname;
    t.relname = rv->relname;
    if (t.relname.size() + strlen("_ranked") >= NAMEDATALEN)
        throw ls::Error(ls::ErrorCode::InvalidParameter,
                        "target \"" + name + "\" of $.source.target: the name is too long for its view " + t.relname +
                            "_ranked (at most " + std::to_string(NAMEDATALEN - 1 - 7) + " bytes)");
    t.qname = quote_ident(rv->schemaname) + "." + quote_ident(rv->relname);
    t.vname = quote_ident(rv->schemaname) + "." + quote_ident(t.relname + "_ranked");
    if (OidIsValid(relid)) {
        t.existed = true;
        t.relid = relid;
        // Only a table of the model's owner's very own: the refresh writes it as
        // that owner, so its triggers, rules and defaults run with the owner's
        // rights. A table found by name may be another role's (a deleted
        // model's default target, owned by that model's owner, is the user's
        // data and stays); membership is not enough either (a superuser is a
        // member of every role, and any other member of the table's owner
        // could plant a trigger). doc/privileges.md
        Oid relowner = InvalidOid;
        pg_call([&] {
            HeapTuple tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
            if (!HeapTupleIsValid(tp)) elog(ERROR, "cache lookup failed for relation %u", relid);
            relowner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tp))->relowner;
            ReleaseSysCache(tp);
        });
        if (relowner != c.owner) {
            const Oid mo = c.owner;
            const char* model = c.model.c_str();
            const char* tq = t.qname.c_str();
            pg_call([&] {
                const char* ro = GetUserNameFromId(relowner, true);
                const char* on = GetUserNameFromId(mo, false);
                ereport(ERROR,
                        (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                         errmsg("target table %s of lead scoring model \"%s\" is owned by %s, not by the model's owner %s",
                                tq, model, ro ? quote_identifier(ro) : psprintf("role %u", relowner), quote_identifier(on)),
                         errhint("Drop that table (its owner or a superuser can), or set $.source.target to a table %s owns.",
                                 quote_identifier(on))));
            });
        }
        char kind = 0;
        pg_call([&] { kind = get_rel_relkind(relid); });
        if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
            throw ls::Error(ls::ErrorCode::InvalidParameter, "target \"" + name + "\" of $.source.target is not a table");
        const bool migrated = migrate_v1_target(c, t);
        auto check = [&](const char* col, Oid want) {
            AttrNumber a = InvalidAttrNumber;
            Oid have = InvalidOid;
            pg_call([&] {
                a = get_attnum(relid, col);
                if (a > 0) have = get_atttype(relid, a);
            });
            if (a <= 0 || have != want)
                throw ls::Error(ls::ErrorCode::InvalidParameter,
                                "target \"" + name + "\" of $.source.target must have a column " + col + " of type " +
                                    type_name(want) + " (doc/rank.md, \"The ranking table\")");
        };
        check("lead_id", c.src.id_type);
        for (auto& col : kTargetColumns) {
            Oid want = InvalidOid;
            const char* tn = col[1];
            pg_call([&] { want = typenameTypeId(nullptr, LS_TYPE_STRING_TO_TYPE_NAME(tn)); });
            check(col[0], want);
        }
        // The view: (re)made when missing or after the update from 0.1.0.
        Oid view = InvalidOid;
        const std::string vname = t.relname + "_ranked";
        pg_call([&] { view = get_relname_relid(vname.c_str(), nsp); });
        if (migrated || !OidIsValid(view)) {
            if (dflt) {
                exec_owner(ranked_view_ddl(t));
                std::string owner;
                const Oid owner_id = c.owner;
                pg_call([&] { owner = GetUserNameFromId(owner_id, false); });
                exec_owner("ALTER VIEW " + t.vname + " OWNER TO " + quote_ident(owner));
            } else {
                exec(ranked_view_ddl(t));
            }
            t.changed = true;
        }
        return t;
    }
    const std::string idt = type_name(c.src.id_type);
    std::string ddl = "CREATE TABLE " + t.qname + " (lead_id " + idt +
                      " PRIMARY KEY, score float8 NOT NULL, fit float8 NOT NULL, activity float8 NOT NULL, grade text, "
                      "stage text NOT NULL, disqualified boolean NOT NULL, rfm_code text, rfm_segment text, "
                      "as_of timestamptz NOT NULL, changed_at timestamptz NOT NULL)";
    std::string idx = target_indexes_ddl(t) + "COMMENT ON TABLE " + t.qname + " IS " +
                      quote_literal("Ranking of lead scoring model " + c.model +
                                    " (written by lead_scoring.refresh; rank and percentile: the view " + t.relname +
                                    "_ranked)");
    t.changed = true;
    if (dflt) {
        // The default target lives in lead_scoring's schema: created by the
        // extension owner, then handed to the model's owner.
        exec_owner(ddl);
        exec_owner(idx);
        pg_call([&] { t.relid = get_relname_relid(rv->relname, nsp); });
        exec_owner(ranked_view_ddl(t));
        std::string owner;
        const Oid owner_id = c.owner;
        pg_call([&] { owner = GetUserNameFromId(owner_id, false); });
        exec_owner("ALTER TABLE " + t.qname + " OWNER TO " + quote_ident(owner) + "; ALTER VIEW " + t.vname +
                   " OWNER TO " + quote_ident(owner));
        // DROP EXTENSION then names this table (and CASCADE drops it) instead of
        // leaving it behind in schema lead_scoring, which the extension does not own.
        const char* relname = rv->relname;
        pg_call([&] {
            ObjectAddress tab, ext;
            ObjectAddressSet(tab, RelationRelationId, get_relname_relid(relname, nsp));
            ObjectAddressSet(ext, ExtensionRelationId, get_extension_oid("lead_scoring", false));
            recordDependencyOn(&tab, &ext, DEPENDENCY_NORMAL);
        });
    } else {
        exec(ddl);
        exec(idx);
        pg_call([&] { t.relid = get_relname_relid(rv->relname, nsp); });
        exec(ranked_view_ddl(t));
    }
    return t;
}

}  // namespace ls::pg::refresh
