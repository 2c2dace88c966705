// The model cache (pg/model_cache.hpp).
//
// Error boundary: pg_call. Its functions are called from LS_FUNCTION bodies
// (and guarded steps) with C++ objects alive, so every PostgreSQL call goes
// through pg_call; ls_model_changed, a trigger, is plain C with no C++ objects.
#include "core/spec.hpp"

#include "pg/glue.hpp"
#include "pg/model_cache.hpp"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/primnodes.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

namespace ls::pg {

namespace {

using ModelPtr = std::shared_ptr<const ls::Model>;

std::unordered_map<std::string, ModelPtr> g_by_name;
std::unordered_map<std::string, ModelPtr> g_by_spec;
// Models dropped from a cache while a statement may still point at them; freed
// at transaction end, after which no call site or aggregate state can use them.
std::vector<ModelPtr> g_retired;
constexpr size_t kMaxCachedSpecs = 256;
// Also bounded by the bytes of the cached specs: 256 specs near the 16 MB limit
// would otherwise keep gigabytes of compiled rules in one backend.
constexpr size_t kMaxCachedSpecBytes = 32 * 1024 * 1024;
size_t g_by_spec_bytes = 0;

Oid g_model_relid = InvalidOid;
uint64 g_generation = 1;      // bumped by the relcache callback
uint64 g_name_generation = 0; // generation g_by_name was filled at
uint64 g_epoch = 1;           // bumped at every transaction end

void relcache_cb(Datum, Oid relid) {
    if (relid == InvalidOid || relid == g_model_relid) g_generation++;
}

void xact_cb(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_COMMIT:
        case XACT_EVENT_PARALLEL_ABORT:
        case XACT_EVENT_PREPARE:
            g_retired.clear();  // destructors only; never throws
            g_epoch++;
            break;
        default:
            break;
    }
}

void retire_all(std::unordered_map<std::string, ModelPtr>* m) {
    for (auto& kv : *m) g_retired.push_back(std::move(kv.second));
    m->clear();
}

ModelPtr compile(const char* text, size_t len) { return ls::parse_model(std::string_view(text, len)); }

const ls::Model* lookup_name(const char* name, size_t len) {
    if (g_name_generation != g_generation) {
        retire_all(&g_by_name);
        g_name_generation = g_generation;
    }
    std::string key(name, len);
    auto it = g_by_name.find(key);
    if (it != g_by_name.end()) return it->second.get();
    char* volatile text = nullptr;
    const char* cname = key.c_str();
    pg_call([&] { text = model_spec_text(cname, true); });
    if (!text)
        throw ls::Error(ls::ErrorCode::InvalidParameter, "lead scoring model \"" + key + "\" does not exist");
    ModelPtr m = compile(text, strlen(text));
    pg_call([&] { pfree(text); });
    const ls::Model* raw = m.get();
    g_by_name.emplace(std::move(key), std::move(m));
    return raw;
}

const ls::Model* lookup_spec(Jsonb* jb) {
    std::string key(VARDATA_ANY(jb), VARSIZE_ANY_EXHDR(jb));
    auto it = g_by_spec.find(key);
    if (it != g_by_spec.end()) return it->second.get();
    char* volatile text = nullptr;
    pg_call([&] { text = JsonbToCString(nullptr, &jb->root, VARSIZE(jb)); });
    ModelPtr m = compile(text, strlen(text));
    pg_call([&] { pfree(text); });
    if (g_by_spec.size() >= kMaxCachedSpecs || g_by_spec_bytes + key.size() > kMaxCachedSpecBytes) {
        retire_all(&g_by_spec);
        g_by_spec_bytes = 0;
    }
    g_by_spec_bytes += key.size();
    const ls::Model* raw = m.get();
    g_by_spec.emplace(std::move(key), std::move(m));
    return raw;
}

}  // namespace

char* model_spec_text(const char* name, bool read_only) {
    MemoryContext caller = CurrentMemoryContext;
    char* result = nullptr;
    Oid nsp = get_namespace_oid("lead_scoring", true);
    if (OidIsValid(nsp)) g_model_relid = get_relname_relid("model", nsp);
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    Oid argtype = TEXTOID;
    Datum arg = CStringGetTextDatum(name);
    int rc = SPI_execute_with_args(
        "SELECT m.spec::pg_catalog.text FROM lead_scoring.model m WHERE m.name OPERATOR(pg_catalog.=) $1", 1,
        &argtype, &arg, nullptr, read_only, 1);
    if (rc != SPI_OK_SELECT) elog(ERROR, "could not read lead_scoring.model: %s", SPI_result_code_string(rc));
    if (SPI_processed == 1) {
        char* v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
        if (v) result = MemoryContextStrdup(caller, v);
    }
    SPI_finish();
    return result;
}

CallSite* call_site(FunctionCallInfo fcinfo) {
    FmgrInfo* fl = fcinfo->flinfo;
    if (!fl->fn_extra) {
        void* volatile p = nullptr;
        pg_call([&] { p = MemoryContextAllocZero(fl->fn_mcxt, sizeof(CallSite)); });
        fl->fn_extra = p;
    }
    return static_cast<CallSite*>(fl->fn_extra);
}

const ls::Model* model_datum(CallSite* cs, Oid type, Datum d, bool stable) {
    if (cs->model && cs->epoch == g_epoch && cs->model_type == type) {
        if (stable && cs->datum_stable && cs->last_datum == d && (type != TEXTOID || g_name_generation == g_generation))
            return cs->model;
    }
    if (type != TEXTOID && type != JSONBOID)
        throw ls::Error(ls::ErrorCode::InvalidParameter, "a model is given by name (text) or by spec (jsonb)");
    if (type == TEXTOID && !cs->accepted_invals) {
        // A model edited by another session must be seen by this statement even
        // when the statement locks nothing that would read the invalidation.
        pg_call([] { AcceptInvalidationMessages(); });
        cs->accepted_invals = true;
    }
    struct varlena* volatile v = nullptr;
    pg_call([&] { v = PG_DETOAST_DATUM_PACKED(d); });
    const char* bytes = VARDATA_ANY(v);
    Size len = VARSIZE_ANY_EXHDR(v);
    const bool same_key = cs->model && cs->epoch == g_epoch && cs->model_type == type && cs->keylen == len &&
                          memcmp(cs->key, bytes, len) == 0 &&
                          (type != TEXTOID || g_name_generation == g_generation);
    if (!same_key) {
        const ls::Model* m;
        if (type == TEXTOID) {
            m = lookup_name(bytes, len);
        } else {
            // Rebuild a 4-byte-header jsonb when the datum arrived packed.
            Jsonb* volatile jb = nullptr;
            pg_call([&] { jb = DatumGetJsonbP(d); });
            m = lookup_spec(jb);
        }
        if (!cs->key || cs->keycap < len) {
            char* volatile k = nullptr;
            pg_call([&] { k = static_cast<char*>(MemoryContextAlloc(GetMemoryChunkContext(cs), len + 1)); });
            cs->key = k;
            cs->keycap = len;
        }
        memcpy(cs->key, bytes, len);
        cs->keylen = len;
        cs->model = m;
        cs->model_type = type;
        cs->epoch = g_epoch;
    }
    cs->last_datum = d;
    cs->datum_stable = stable;
    return cs->model;
}

const ls::Model* model_arg(FunctionCallInfo fcinfo, int argno) {
    CallSite* cs = call_site(fcinfo);
    Oid type = get_fn_expr_argtype(fcinfo->flinfo, argno);
    bool stable = get_fn_expr_arg_stable(fcinfo->flinfo, argno);
    return model_datum(cs, type, PG_GETARG_DATUM(argno), stable);
}

const ls::Model* model_by_name(const char* name) {
    pg_call([] { AcceptInvalidationMessages(); });
    return lookup_name(name, strlen(name));
}

void model_cache_init() {
    CacheRegisterRelcacheCallback(relcache_cb, 0);
    RegisterXactCallback(xact_cb, nullptr);
}

}  // namespace ls::pg

// Statement-level trigger on lead_scoring.model: makes every backend drop its
// cached models at its next statement.
extern "C" {
PG_FUNCTION_INFO_V1(ls_model_changed);
Datum ls_model_changed(PG_FUNCTION_ARGS) {
    if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "ls_model_changed: not called as a trigger");
    TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
    return PointerGetDatum(nullptr);
}
}
