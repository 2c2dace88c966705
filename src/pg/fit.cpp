// SQL entry points for model validation and fit scoring (doc/foundation.md).
//
// Error boundary: LS_FUNCTION; the jsonb results through jsonb_result (pg_call).
#include "core/fit.hpp"
#include "core/spec.hpp"
#include "core/value.hpp"

#include "pg/glue.hpp"
#include "pg/attributes.hpp"
#include "pg/model_cache.hpp"

#include <string>
#include <vector>

extern "C" {
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/jsonb.h"
}

using ls::pg::CallSite;
using ls::pg::jsonb_result;

namespace {

// How the attributes (argument 1) are given: the overloads of fit_score and
// fit_breakdown.
enum class Attrs { Jsonb, Text, Row };

// C-style. The attributes of argument 1 as model m's values, in the call
// site's buffer. The row forms take anyelement: a scalar is refused before it
// is read as a row.
const ls::Value* read_attributes(FunctionCallInfo fcinfo, const ls::Model& m, Attrs from, const char* fn) {
    if (from == Attrs::Row) {
        Oid t = get_fn_expr_argtype(fcinfo->flinfo, 1);
        if (!type_is_rowtype(t))
            ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                            errmsg("%s expects a table row or jsonb attributes, got %s", fn, format_type_be(t))));
    }
    CallSite* cs = ls::pg::call_site(fcinfo);
    ls::Value* vals = ls::pg::values_buffer(cs, m.fields.size());
    switch (from) {
        case Attrs::Jsonb: ls::pg::attributes_from_jsonb(m, PG_GETARG_JSONB_P(1), vals); break;
        case Attrs::Text: ls::pg::attributes_from_jsonb(m, ls::pg::jsonb_from_text(PG_GETARG_TEXT_PP(1)), vals); break;
        case Attrs::Row: ls::pg::attributes_from_row(cs, m, PG_GETARG_HEAPTUPLEHEADER(1), vals); break;
    }
    return vals;
}

}  // namespace

LS_FUNCTION(ls_validate_model) {
    CallSite* cs = ls::pg::call_site(fcinfo);
    // Validation goes through the same cache as scoring: a spec validated by the
    // CHECK constraint is already compiled when it is first used.
    ls::pg::model_datum(cs, JSONBOID, PG_GETARG_DATUM(0), false);
    PG_RETURN_BOOL(true);
}

LS_FUNCTION(ls_fit_score) {
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    PG_RETURN_FLOAT8(ls::fit_score(*m, read_attributes(fcinfo, *m, Attrs::Jsonb, "fit_score")));
}

LS_FUNCTION(ls_fit_score_text) {
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    PG_RETURN_FLOAT8(ls::fit_score(*m, read_attributes(fcinfo, *m, Attrs::Text, "fit_score")));
}

LS_FUNCTION(ls_fit_score_row) {
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    PG_RETURN_FLOAT8(ls::fit_score(*m, read_attributes(fcinfo, *m, Attrs::Row, "fit_score")));
}

namespace {

// The rules the attributes in vals match, as [{rule, field, label, points}].
Datum breakdown_result(const ls::Model& m, const ls::Value* vals) {
    std::vector<int> matched;
    ls::fit_matches(m, vals, &matched);
    std::string out = "[";
    for (size_t k = 0; k < matched.size(); ++k) {
        const ls::Rule& r = m.fit.rules[matched[k]];
        if (k) out += ", ";
        out += "{\"rule\": ";
        out += std::to_string(matched[k]);
        out += ", \"field\": ";
        ls::append_json_string(&out, r.field);
        out += ", \"label\": ";
        if (r.label.empty()) out += "null"; else ls::append_json_string(&out, r.label);
        out += ", \"points\": ";
        ls::append_json_number(&out, r.points);
        out += "}";
    }
    out += "]";
    return jsonb_result(out);
}

}  // namespace

LS_FUNCTION(ls_fit_breakdown) {
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    return breakdown_result(*m, read_attributes(fcinfo, *m, Attrs::Jsonb, "fit_breakdown"));
}

LS_FUNCTION(ls_fit_breakdown_text) {
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    return breakdown_result(*m, read_attributes(fcinfo, *m, Attrs::Text, "fit_breakdown"));
}

LS_FUNCTION(ls_fit_breakdown_row) {
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    return breakdown_result(*m, read_attributes(fcinfo, *m, Attrs::Row, "fit_breakdown"));
}
