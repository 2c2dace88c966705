// Reading a lead's attributes into ls::Value (pg/attributes.hpp).
//
// Error boundary: plain C with no C++ objects alive where PostgreSQL can raise
// (the values borrow their strings); called from LS_FUNCTION bodies, whose
// guard raises what the core throws.
#include "core/spec.hpp"
#include "core/value.hpp"

#include "pg/glue.hpp"
#include "pg/attributes.hpp"
#include "pg/model_cache.hpp"

extern "C" {
#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/typcache.h"
}

namespace ls::pg {

namespace {

struct ValuesBuf {
    size_t cap;
    ls::Value* vals;
};

// Per call site: how the fields of one model map onto one row type.
struct RowMap {
    const ls::Model* model;
    uint64 epoch;     // CallSite::epoch when built: a model address may be reused later
    Oid type;
    int32 typmod;
    int natts;
    Datum* dvals;     // one deformed row, natts entries
    bool* dnulls;
    int nfields;
    int* attnum;      // 0: not a column
    Oid* atttype;
    FmgrInfo* outfn;  // for column types we do not read natively
    int props_attnum; // jsonb properties column, 0 if none
    ValuesBuf buf;
};

struct UserData {
    ValuesBuf buf;
    RowMap* row;
};

UserData* user_data(CallSite* cs) {
    if (!cs->user) cs->user = MemoryContextAllocZero(GetMemoryChunkContext(cs), sizeof(UserData));
    return static_cast<UserData*>(cs->user);
}

double numeric_to_double(Numeric n) {
    return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, NumericGetDatum(n)));
}

ls::Value jsonb_lookup(Jsonb* jb, const std::string& field, JsonbValue* tmp) {
    JsonbValue* v = getKeyJsonValueFromContainer(&jb->root, field.data(), static_cast<int>(field.size()), tmp);
    if (!v) return ls::Value::missing();
    return value_from_jsonb(*v);
}

}  // namespace

ls::Value* values_buffer(CallSite* cs, size_t n) {
    UserData* u = user_data(cs);
    if (u->buf.cap < n || !u->buf.vals) {
        u->buf.vals = static_cast<ls::Value*>(
            MemoryContextAlloc(GetMemoryChunkContext(cs), sizeof(ls::Value) * (n > 0 ? n : 1)));
        u->buf.cap = n;
    }
    return u->buf.vals;
}

ls::Value value_from_jsonb(const JsonbValue& v) {
    switch (v.type) {
        case jbvNull: return ls::Value::null();
        case jbvString: return ls::Value::string(std::string_view(v.val.string.val, v.val.string.len));
        case jbvNumeric: return ls::Value::number(numeric_to_double(v.val.numeric));
        case jbvBool: return ls::Value::boolean(v.val.boolean);
        default: return ls::Value::other();
    }
}

void attributes_from_jsonb(const ls::Model& m, Jsonb* jb, ls::Value* values) {
    if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("lead attributes must be a JSON object")));
    JsonbValue tmp;
    for (size_t i = 0; i < m.fields.size(); ++i) values[i] = jsonb_lookup(jb, m.fields[i], &tmp);
}

Jsonb* jsonb_from_text(text* t) {
    return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text_to_cstring(t))));
}

void attributes_from_row(CallSite* cs, const ls::Model& m, HeapTupleHeader th, ls::Value* values) {
    UserData* u = user_data(cs);
    Oid type = HeapTupleHeaderGetTypeId(th);
    int32 typmod = HeapTupleHeaderGetTypMod(th);
    RowMap* rm = u->row;
    MemoryContext mcxt = GetMemoryChunkContext(cs);
    // The row is deformed with the type cache's own descriptor, looked up for
    // every row as PostgreSQL's record functions do: a copied descriptor lacks
    // what the server needs to read the datum (its attribute versions).
    TupleDesc td = lookup_rowtype_tupdesc(type, typmod);
    if (!rm || rm->model != &m || rm->epoch != cs->epoch || rm->type != type || rm->typmod != typmod ||
        rm->natts != td->natts) {
        if (rm) {
            // The model or row type changed between rows: free the old map
            // rather than piling one up per change for the rest of the query.
            pfree(rm->dvals);
            pfree(rm->dnulls);
            pfree(rm->attnum);
            pfree(rm->atttype);
            pfree(rm->outfn);
            pfree(rm);
            u->row = nullptr;
        }
        rm = static_cast<RowMap*>(MemoryContextAllocZero(mcxt, sizeof(RowMap)));
        rm->model = &m;
        rm->epoch = cs->epoch;
        rm->type = type;
        rm->typmod = typmod;
        rm->natts = td->natts;
        rm->dvals = static_cast<Datum*>(MemoryContextAllocZero(mcxt, sizeof(Datum) * (td->natts + 1)));
        rm->dnulls = static_cast<bool*>(MemoryContextAllocZero(mcxt, sizeof(bool) * (td->natts + 1)));
        rm->nfields = static_cast<int>(m.fields.size());
        rm->attnum = static_cast<int*>(MemoryContextAllocZero(mcxt, sizeof(int) * (rm->nfields + 1)));
        rm->atttype = static_cast<Oid*>(MemoryContextAllocZero(mcxt, sizeof(Oid) * (rm->nfields + 1)));
        rm->outfn = static_cast<FmgrInfo*>(MemoryContextAllocZero(mcxt, sizeof(FmgrInfo) * (rm->nfields + 1)));
        const std::string* props = m.source.leads.column("properties");
        for (int a = 0; a < td->natts; ++a) {
            Form_pg_attribute att = TupleDescAttr(td, a);
            if (att->attisdropped) continue;
            const char* name = NameStr(att->attname);
            if (props && *props == name && att->atttypid == JSONBOID) rm->props_attnum = a + 1;
            for (int f = 0; f < rm->nfields; ++f) {
                if (rm->attnum[f] == 0 && m.fields[f] == name) {
                    rm->attnum[f] = a + 1;
                    rm->atttype[f] = att->atttypid;
                    switch (att->atttypid) {
                        case TEXTOID: case VARCHAROID: case BPCHAROID: case NAMEOID: case INT2OID: case INT4OID:
                        case INT8OID: case FLOAT4OID: case FLOAT8OID: case NUMERICOID: case BOOLOID: case JSONBOID:
                        case DATEOID: case TIMESTAMPOID: case TIMESTAMPTZOID:
                            break;
                        default: {
                            Oid outfunc;
                            bool varlena;
                            getTypeOutputInfo(att->atttypid, &outfunc, &varlena);
                            fmgr_info_cxt(outfunc, &rm->outfn[f], mcxt);
                        }
                    }
                }
            }
        }
        u->row = rm;
    }
    HeapTupleData tuple;
    tuple.t_len = HeapTupleHeaderGetDatumLength(th);
    ItemPointerSetInvalid(&tuple.t_self);
    tuple.t_tableOid = InvalidOid;
    tuple.t_data = th;
    heap_deform_tuple(&tuple, td, rm->dvals, rm->dnulls);
    ReleaseTupleDesc(td);
    Jsonb* props = nullptr;
    if (rm->props_attnum && !rm->dnulls[rm->props_attnum - 1]) {
        props = DatumGetJsonbP(rm->dvals[rm->props_attnum - 1]);
        if (!JB_ROOT_IS_OBJECT(props) || JB_ROOT_IS_SCALAR(props)) props = nullptr;
    }
    for (int f = 0; f < rm->nfields; ++f) {
        if (rm->attnum[f] == 0) {
            if (props) {
                JsonbValue tmp;
                values[f] = jsonb_lookup(props, m.fields[f], &tmp);
            } else {
                values[f] = ls::Value::missing();
            }
            continue;
        }
        if (rm->dnulls[rm->attnum[f] - 1]) { values[f] = ls::Value::null(); continue; }
        Datum d = rm->dvals[rm->attnum[f] - 1];
        switch (rm->atttype[f]) {
            case TEXTOID: case VARCHAROID: {
                text* t = DatumGetTextPP(d);
                values[f] = ls::Value::string(std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
                break;
            }
            case BPCHAROID: {
                text* t = DatumGetTextPP(d);
                size_t n = VARSIZE_ANY_EXHDR(t);
                const char* s = VARDATA_ANY(t);
                while (n > 0 && s[n - 1] == ' ') --n;  // char(n) padding is not part of the value
                values[f] = ls::Value::string(std::string_view(s, n));
                break;
            }
            case NAMEOID: values[f] = ls::Value::string(NameStr(*DatumGetName(d))); break;
            case INT2OID: values[f] = ls::Value::number(DatumGetInt16(d)); break;
            case INT4OID: values[f] = ls::Value::number(DatumGetInt32(d)); break;
            case INT8OID: values[f] = ls::Value::number(static_cast<double>(DatumGetInt64(d))); break;
            case FLOAT4OID: values[f] = ls::Value::number(DatumGetFloat4(d)); break;
            case FLOAT8OID: values[f] = ls::Value::number(DatumGetFloat8(d)); break;
            case NUMERICOID: values[f] = ls::Value::number(numeric_to_double(DatumGetNumeric(d))); break;
            case BOOLOID: values[f] = ls::Value::boolean(DatumGetBool(d)); break;
            case JSONBOID: {
                Jsonb* jb = DatumGetJsonbP(d);
                JsonbValue sv;
                if (JB_ROOT_IS_SCALAR(jb) && JsonbExtractScalar(&jb->root, &sv))
                    values[f] = value_from_jsonb(sv);
                else
                    values[f] = ls::Value::other();
                break;
            }
            case DATEOID: case TIMESTAMPOID: case TIMESTAMPTZOID: {
                // ISO 8601 as to_jsonb writes it, whatever DateStyle says (the
                // spec form is IMMUTABLE); timestamptz in UTC, whatever TimeZone says.
                const int utc = 0;
                char* s = JsonEncodeDateTime(nullptr, d, rm->atttype[f], rm->atttype[f] == TIMESTAMPTZOID ? &utc : nullptr);
                values[f] = ls::Value::string(s);
                break;
            }
            default: {
                char* s = OutputFunctionCall(&rm->outfn[f], d);
                values[f] = ls::Value::string(s);
            }
        }
    }
}

}  // namespace ls::pg
