// Resolution of the tables and columns a model's "source" names, shared by
// refresh and the evaluation functions (evaluate, attribute_lift,
// suggest_model, through lead_scoring._resolve_relation / _resolve_column /
// _resolve_sources), so a name means the same table everywhere and a bad one
// gets the same SQLSTATE and message everywhere (doc/rank.md, "Source
// tables"). Rules: a name is parsed as SQL does (a syntax error is 22023
// naming the spec path); an unqualified name is looked up in schema public,
// since resolution runs with search_path = pg_catalog, pg_temp; lookups run
// with the current user's rights, so a schema without USAGE is 42501 whether
// or not the table exists.
// Error-boundary idiom: pg_call around every PostgreSQL call (C++ objects
// are alive); the SQL entry points are LS_FUNCTION.
// Include after core/spec.hpp and pg/glue.hpp.
#pragma once

#include <initializer_list>
#include <string>
#include <unordered_map>

extern "C" {
#include "nodes/primnodes.h"
}

namespace ls::pg {

struct Column {
    std::string name, q;  // as written, quoted
    AttrNumber attnum = 0;
    Oid type = InvalidOid;
};

struct Source {
    bool present = false;
    std::string role;  // "leads", "events", ...
    Oid relid = InvalidOid;
    char relkind = 0;
    std::string qname;  // schema-qualified, quoted
    std::unordered_map<std::string, Column> cols;
    const Column* col(const char* r) const {
        auto it = cols.find(r);
        return it == cols.end() ? nullptr : &it->second;
    }
};

struct Sources {
    Source leads, events, orders, conversions;
    Oid id_type = InvalidOid;
    Oid id_array_type = InvalidOid;
    std::string fingerprint;
};

// A name quoted as an SQL identifier.
std::string quote_ident(const std::string& s);

// Raises a PostgreSQL ERROR with this SQLSTATE (as a PgError).
[[noreturn]] void pg_error(int sqlstate, const std::string& msg);

RangeVar* parse_relname(const std::string& name, const std::string& path);

// The relation `table` named at spec path `path`, locked ACCESS SHARE and
// checked to be a table, view, materialized view or foreign table; its kind
// and quoted schema-qualified name when asked for.
Oid resolve_relation(const std::string& table, const std::string& path, char* relkind, std::string* qname);

// The column `name` of relid (the relation named `table` in the spec), named
// at spec path `path`.
Column resolve_column(Oid relid, const std::string& table, const std::string& name, const std::string& path);

Source resolve_table(const ls::SourceTable& t, const std::string& role);
std::string type_name(Oid t);
void check_type(const Source& s, const char* role, std::initializer_list<Oid> ok, const char* what);
Sources resolve_sources(const ls::Model& m);

}  // namespace ls::pg
