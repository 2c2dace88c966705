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
    Oid type;
    int32 typmod;
    TupleDesc desc;   // copy in fn_mcxt
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
    if (!rm || rm->model != &m || rm->type != type || rm->typmod != typmod) {
        TupleDesc td = lookup_rowtype_tupdesc(type, typmod);
        rm = static_cast<RowMap*>(MemoryContextAllocZero(mcxt, sizeof(RowMap)));
        rm->model = &m;
        rm->type = type;
        rm->typmod = typmod;
        {
            // The copy must live as long as the cached map (fn_mcxt), not in
            // the caller's per-row context.
            MemoryContext old = MemoryContextSwitchTo(mcxt);
            rm->desc = CreateTupleDescCopy(td);
            MemoryContextSwitchTo(old);
        }
        ReleaseTupleDesc(td);
        rm->nfields = static_cast<int>(m.fields.size());
        rm->attnum = static_cast<int*>(MemoryContextAllocZero(mcxt, sizeof(int) * (rm->nfields + 1)));
        rm->atttype = static_cast<Oid*>(MemoryContextAllocZero(mcxt, sizeof(Oid) * (rm->nfields + 1)));
        rm->outfn = static_cast<FmgrInfo*>(MemoryContextAllocZero(mcxt, sizeof(FmgrInfo) * (rm->nfields + 1)));
        const std::string* props = m.source.leads.column("properties");
        for (int a = 0; a < rm->desc->natts; ++a) {
            Form_pg_attribute att = TupleDescAttr(rm->desc, a);
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
    Jsonb* props = nullptr;
    if (rm->props_attnum) {
        bool isnull;
        Datum d = heap_getattr(&tuple, rm->props_attnum, rm->desc, &isnull);
        if (!isnull) props = DatumGetJsonbP(d);
        if (props && (!JB_ROOT_IS_OBJECT(props) || JB_ROOT_IS_SCALAR(props))) props = nullptr;
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
        bool isnull;
        Datum d = heap_getattr(&tuple, rm->attnum[f], rm->desc, &isnull);
        if (isnull) { values[f] = ls::Value::null(); continue; }
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
            default: {
                char* s = OutputFunctionCall(&rm->outfn[f], d);
                values[f] = ls::Value::string(s);
            }
        }
    }
}

}  // namespace ls::pg
