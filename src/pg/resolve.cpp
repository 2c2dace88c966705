// Source resolution for refresh and the evaluation functions; the rules are in
// pg/resolve.hpp.
//
// Error boundary: LS_FUNCTION at the three SQL entry points; every PostgreSQL
// call made while C++ objects are alive goes through pg_call.
#include "core/error.hpp"
#include "core/spec.hpp"

#include "pg/glue.hpp"
#include "pg/model_cache.hpp"
#include "pg/resolve.hpp"

#include <algorithm>
#include <string>
#include <vector>

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/regproc.h"
#include "utils/lsyscache.h"
}

namespace ls::pg {

std::string quote_ident(const std::string& s) {
    const char* q = nullptr;
    const char* in = s.c_str();
    pg_call([&] { q = quote_identifier(in); });
    return q;
}

void pg_error(int sqlstate, const std::string& msg) {
    const char* m = msg.c_str();
    pg_call([&] { ereport(ERROR, (errcode(sqlstate), errmsg("%s", m))); });
    throw ls::Error(ls::ErrorCode::InvalidParameter, msg);  // not reached
}

// Parses a possibly qualified name; a syntax error (e.g. "crm.leads; DROP
// TABLE x") is a 22023 naming the spec path. Unqualified names are looked up in
// schema public (the refresh runs with search_path = pg_catalog, pg_temp).
RangeVar* parse_relname(const std::string& name, const std::string& path) {
    const char* cname = name.c_str();
    RangeVar* volatile rv = nullptr;
    try {
        pg_call([&] {
            List* names = LS_STRING_TO_QUALIFIED_NAME_LIST(cname);
            rv = makeRangeVarFromNameList(names);
            if (!rv->schemaname) rv->schemaname = pstrdup("public");
        });
    } catch (PgError& e) {
        pg_call([&] { FreeErrorData(e.edata); });
        throw ls::Error(ls::ErrorCode::InvalidParameter,
                        "invalid table name at " + path + ": \"" + name + "\" is not a (schema-qualified) table name");
    }
    return rv;
}

Oid resolve_relation(const std::string& table, const std::string& path, char* relkind, std::string* qname) {
    RangeVar* rv = parse_relname(table, path);
    Oid relid = InvalidOid;
    try {
        pg_call([&] { relid = RangeVarGetRelid(rv, AccessShareLock, true); });
    } catch (PgError& e) {
        // No USAGE on the schema: say whose right is missing and for which path.
        if (e.edata->sqlerrcode != ERRCODE_INSUFFICIENT_PRIVILEGE) throw;
        std::string who;
        pg_call([&] {
            FreeErrorData(e.edata);
            who = GetUserNameFromId(GetUserId(), false);
        });
        pg_error(ERRCODE_INSUFFICIENT_PRIVILEGE, "permission denied for schema \"" + std::string(rv->schemaname) +
                                                     "\" of " + path + " (\"" + table + "\"): role " + who +
                                                     " needs USAGE on it");
    }
    if (!OidIsValid(relid))
        pg_error(ERRCODE_UNDEFINED_TABLE, "relation \"" + table + "\" of " + path + " does not exist");
    char kind = 0;
    const char* nsp = nullptr;
    const char* rel = nullptr;
    pg_call([&] {
        kind = get_rel_relkind(relid);
        nsp = get_namespace_name(get_rel_namespace(relid));
        rel = get_rel_name(relid);
    });
    if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE && kind != RELKIND_VIEW &&
        kind != RELKIND_MATVIEW && kind != RELKIND_FOREIGN_TABLE)
        throw ls::Error(ls::ErrorCode::InvalidParameter, "\"" + table + "\" of " + path + " is not a table or view");
    if (relkind) *relkind = kind;
    if (qname) *qname = quote_ident(nsp) + "." + quote_ident(rel);
    return relid;
}

Column resolve_column(Oid relid, const std::string& table, const std::string& name, const std::string& path) {
    Column c;
    c.name = name;
    c.q = quote_ident(c.name);
    const char* cn = c.name.c_str();
    pg_call([&] {
        c.attnum = get_attnum(relid, cn);
        if (c.attnum > 0) c.type = get_atttype(relid, c.attnum);
    });
    if (c.attnum <= 0)
        pg_error(ERRCODE_UNDEFINED_COLUMN,
                 "column \"" + c.name + "\" of " + path + " does not exist in relation " + table);
    return c;
}

Source resolve_table(const ls::SourceTable& t, const std::string& role) {
    Source s;
    s.role = role;
    if (!t.present) return s;
    s.present = true;
    s.relid = resolve_relation(t.table, "$.source." + role + ".table", &s.relkind, &s.qname);
    for (const auto& kv : t.columns)
        s.cols.emplace(kv.first, resolve_column(s.relid, t.table, kv.second, "$.source." + role + "." + kv.first));
    return s;
}

std::string type_name(Oid t) {
    const char* n = nullptr;
    pg_call([&] { n = format_type_be(t); });
    return n;
}

void check_type(const Source& s, const char* role, std::initializer_list<Oid> ok, const char* what) {
    const Column* c = s.col(role);
    if (!c) return;
    for (Oid t : ok)
        if (c->type == t) return;
    throw ls::Error(ls::ErrorCode::InvalidParameter, "column \"" + c->name + "\" of $.source." + s.role + "." + role +
                                                         " must be " + what + ", got " + type_name(c->type));
}

Sources resolve_sources(const ls::Model& m) {
    if (!m.source.present)
        throw ls::Error(ls::ErrorCode::InvalidParameter, "the model has no \"source\": nothing to refresh");
    Sources s;
    s.leads = resolve_table(m.source.leads, "leads");
    s.events = resolve_table(m.source.events, "events");
    s.orders = resolve_table(m.source.orders, "orders");
    s.conversions = resolve_table(m.source.conversions, "conversions");
    check_type(s.leads, "id", {INT4OID, INT8OID, TEXTOID, UUIDOID}, "integer, bigint, text or uuid");
    check_type(s.leads, "properties", {JSONBOID}, "jsonb");
    check_type(s.leads, "created", {TIMESTAMPTZOID, TIMESTAMPOID, DATEOID}, "a timestamp or date");
    s.id_type = s.leads.col("id")->type;
    pg_call([&] { s.id_array_type = get_array_type(s.id_type); });
    const std::string idt = type_name(s.id_type);
    for (Source* t : {&s.events, &s.orders, &s.conversions}) {
        if (!t->present) continue;
        const Column* c = t->col("lead_id");
        if (c->type != s.id_type)
            throw ls::Error(ls::ErrorCode::InvalidParameter,
                            "column \"" + c->name + "\" of $.source." + t->role +
                                ".lead_id must have the type of the leads id (" + idt + "), got " + type_name(c->type));
        check_type(*t, "time", {TIMESTAMPTZOID}, "timestamp with time zone");
    }
    check_type(s.events, "type", {TEXTOID, VARCHAROID}, "text or varchar");
    check_type(s.orders, "amount", {INT2OID, INT4OID, INT8OID, FLOAT4OID, FLOAT8OID, NUMERICOID}, "numeric");
    for (const Source* t : {&s.leads, &s.events, &s.orders, &s.conversions}) {
        if (!t->present) continue;
        s.fingerprint += t->role + "=" + std::to_string(t->relid);
        std::vector<std::string> keys;
        for (const auto& kv : t->cols) keys.push_back(kv.first);
        std::sort(keys.begin(), keys.end());
        for (const auto& k : keys) {
            const Column& c = t->cols.at(k);
            s.fingerprint += "," + k + ":" + std::to_string(c.attnum) + ":" + std::to_string(c.type);
        }
        s.fingerprint += ";";
    }
    // Fit fields are read from a column when the leads table has one of that
    // name, else from properties: adding or dropping such a column changes the
    // attributes of every lead without any row changing, so it forces a full refresh.
    s.fingerprint += "fields";
    std::vector<unsigned char> unreadable(m.fields.size(), 0);
    for (size_t fi = 0; fi < m.fields.size(); ++fi) {
        AttrNumber a = InvalidAttrNumber;
        Oid t = InvalidOid;
        const Oid rel = s.leads.relid;
        const char* fn = m.fields[fi].c_str();
        pg_call([&] {
            a = get_attnum(rel, fn);
            if (a > 0) t = get_atttype(rel, a);
        });
        s.fingerprint += "," + std::to_string(a > 0 ? a : 0) + ":" + std::to_string(t);
        if (a <= 0 && !s.leads.col("properties")) unreadable[fi] = 1;
    }
    // A field that is neither a column nor readable from a properties column
    // would be missing for every lead: its rules would score 0 in silence.
    for (const auto* rules : {&m.fit.rules, &m.disqualify.rules})
        for (const ls::Rule& r : *rules)
            if (r.field_index >= 0 && unreadable[r.field_index])
                throw ls::Error(ls::ErrorCode::InvalidParameter,
                                "invalid model spec at " + r.path + ".field: \"" + r.field + "\" is not a column of " +
                                    m.source.leads.table +
                                    " and $.source.leads maps no \"properties\" column to read it from");
    return s;
}

}  // namespace ls::pg

// ------------------------------------------------------- SQL entry points
// For the evaluation functions (install/70_eval.sql): refresh's resolution,
// run with the caller's rights (they are not SECURITY DEFINER), so they tell
// a caller nothing its own lookups would not.
namespace {

std::string text_arg(FunctionCallInfo fcinfo, int n) {
    text* volatile t = nullptr;
    ls::pg::pg_call([&] { t = PG_GETARG_TEXT_PP(n); });
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

std::string path_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) throw ls::Error(ls::ErrorCode::NullValue, "the spec path must not be NULL");
    return text_arg(fcinfo, n);
}

// The relation named at argument 0, its path at argument 1.
Oid relation_args(FunctionCallInfo fcinfo) {
    const std::string path = path_arg(fcinfo, 1);
    if (PG_ARGISNULL(0)) throw ls::Error(ls::ErrorCode::InvalidParameter, "the model spec has no table at " + path);
    return ls::pg::resolve_relation(text_arg(fcinfo, 0), path, nullptr, nullptr);
}

}  // namespace

// _resolve_relation(name text, path text) RETURNS regclass
LS_FUNCTION(ls_resolve_relation) { PG_RETURN_OID(relation_args(fcinfo)); }

// _resolve_column(name text, path text, col text, col_path text) RETURNS regtype
LS_FUNCTION(ls_resolve_column) {
    const Oid relid = relation_args(fcinfo);
    const std::string col_path = path_arg(fcinfo, 3);
    if (PG_ARGISNULL(2)) throw ls::Error(ls::ErrorCode::InvalidParameter, "the model spec has no column at " + col_path);
    PG_RETURN_OID(ls::pg::resolve_column(relid, text_arg(fcinfo, 0), text_arg(fcinfo, 2), col_path).type);
}

// _resolve_sources(model text) RETURNS void: every check refresh makes of
// the model's sources, in refresh's order.
LS_FUNCTION(ls_resolve_sources) {
    if (PG_ARGISNULL(0)) throw ls::Error(ls::ErrorCode::NullValue, "model name must not be NULL");
    const std::string name = text_arg(fcinfo, 0);
    ls::pg::resolve_sources(*ls::pg::model_by_name(name.c_str()));
    PG_RETURN_VOID();
}
