// SQL entry points for RFM (doc/qualify.md): the rfm_breaks aggregate (exact
// percentile_disc cut points in one pass) and rfm() scores and segments.
//
// Error boundary: LS_FUNCTION; PostgreSQL is called only where no C++ object
// with a destructor is alive, the jsonb result through jsonb_result (pg_call).
#include "core/rfm.hpp"
#include "core/spec.hpp"
#include "core/state_codec.hpp"

#include "pg/glue.hpp"
#include "pg/model_cache.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
}

using ls::pg::CallSite;

namespace {

const char* const kDimName[3] = {"recency", "frequency", "monetary"};

// ---------------------------------------------------------------------------
// rfm_breaks state: three growing float8 arrays in the aggregate context
// (MemoryContextAllocHuge: past 1 GB per array). Plain palloc'd data, not
// std::vector, so that nothing needs a destructor when PostgreSQL resets the
// context (on error or at the end of the query).

struct RfmState {
    int32 bins;
    Size n[3], cap[3];
    double* v[3];
};

constexpr uint32 kRfmMagic = ls::kRfmStateMagic;  // "LSRM"

RfmState* new_state(MemoryContext ctx, int32 bins) {
    auto* st = static_cast<RfmState*>(MemoryContextAllocZero(ctx, sizeof(RfmState)));
    st->bins = bins;
    return st;
}

// C-style: PostgreSQL allocation only.
void reserve(MemoryContext ctx, RfmState* st, int d, Size want) {
    if (want <= st->cap[d]) return;
    Size cap = st->cap[d] ? st->cap[d] * 2 : 64;
    if (cap < want) cap = want;
    st->v[d] = static_cast<double*>(st->v[d] ? repalloc_huge(st->v[d], cap * sizeof(double))
                                             : MemoryContextAllocHuge(ctx, cap * sizeof(double)));
    st->cap[d] = cap;
}

void check_bins(int32 bins) {
    if (bins < ls::kRfmMinBins || bins > ls::kRfmMaxBins)
        throw ls::Error(ls::ErrorCode::InvalidParameter,
                        "rfm_breaks: bins must be between 2 and 100, got " + std::to_string(bins));
}

void check_finite(double x, int d, const char* fn) {
    if (!std::isfinite(x))
        throw ls::Error(ls::ErrorCode::InvalidParameter,
                        std::string(fn) + ": " + kDimName[d] + " must be a finite number, got " +
                            (std::isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity"));
}

}  // namespace

// rfm_breaks(recency, frequency, monetary [, bins]): NULL values are skipped per
// dimension; bins defaults to 5 and must be the same on every row.
LS_FUNCTION(ls_rfm_breaks_trans) {
    MemoryContext ctx = ls::pg::agg_context(fcinfo, "rfm_breaks");
    auto* st = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<RfmState*>(PG_GETARG_POINTER(0));
    int32 bins = 5;
    if (PG_NARGS() > 4) {
        if (PG_ARGISNULL(4)) throw ls::Error(ls::ErrorCode::NullValue, "rfm_breaks: bins must not be NULL");
        bins = PG_GETARG_INT32(4);
    }
    if (!st) {
        check_bins(bins);
        st = new_state(ctx, bins);
    } else if (st->bins != bins) {
        throw ls::Error(ls::ErrorCode::InvalidParameter, "rfm_breaks: bins must be the same on every row (got " +
                                                             std::to_string(st->bins) + " and " +
                                                             std::to_string(bins) + ")");
    }
    for (int d = 0; d < 3; ++d) {
        if (PG_ARGISNULL(d + 1)) continue;
        const double x = PG_GETARG_FLOAT8(d + 1);
        check_finite(x, d, "rfm_breaks");
        if (st->n[d] == st->cap[d]) reserve(ctx, st, d, st->n[d] + 1);
        st->v[d][st->n[d]++] = x;
    }
    PG_RETURN_POINTER(st);
}

LS_FUNCTION(ls_rfm_breaks_combine) {
    MemoryContext ctx = ls::pg::agg_context(fcinfo, "rfm_breaks");
    auto* a = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<RfmState*>(PG_GETARG_POINTER(0));
    auto* b = PG_ARGISNULL(1) ? nullptr : reinterpret_cast<RfmState*>(PG_GETARG_POINTER(1));
    if (!b) {
        if (!a) PG_RETURN_NULL();
        PG_RETURN_POINTER(a);
    }
    if (!a) a = new_state(ctx, b->bins);  // copy into our own context below
    else if (a->bins != b->bins)
        throw ls::Error(ls::ErrorCode::InvalidParameter, "rfm_breaks: bins must be the same on every row (got " +
                                                             std::to_string(a->bins) + " and " +
                                                             std::to_string(b->bins) + ")");
    for (int d = 0; d < 3; ++d) {
        if (b->n[d] == 0) continue;
        reserve(ctx, a, d, a->n[d] + b->n[d]);
        memcpy(a->v[d] + a->n[d], b->v[d], b->n[d] * sizeof(double));
        a->n[d] += b->n[d];
    }
    PG_RETURN_POINTER(a);
}

// bytea: magic u32, bins i32, n[3] u64, then the values of each dimension.
LS_FUNCTION(ls_rfm_breaks_serial) {
    auto* st = reinterpret_cast<RfmState*>(PG_GETARG_POINTER(0));
    const Size head = 4 + 4 + 3 * 8;
    const Size total = st->n[0] + st->n[1] + st->n[2];
    if (total > (MaxAllocSize - VARHDRSZ - head) / sizeof(double))
        throw ls::Error(ls::ErrorCode::ProgramLimit,
                        "rfm_breaks: too many values to pass between parallel workers (" + std::to_string(total) +
                            "); disable parallel query for this statement");
    const Size len = VARHDRSZ + head + total * sizeof(double);
    auto* out = static_cast<bytea*>(palloc(len));
    SET_VARSIZE(out, len);
    char* p = VARDATA(out);
    const uint32 magic = kRfmMagic;
    memcpy(p, &magic, 4);
    memcpy(p + 4, &st->bins, 4);
    p += 8;
    for (int d = 0; d < 3; ++d) {
        const uint64 n = st->n[d];
        memcpy(p, &n, 8);
        p += 8;
    }
    for (int d = 0; d < 3; ++d) {
        if (st->n[d]) memcpy(p, st->v[d], st->n[d] * sizeof(double));
        p += st->n[d] * sizeof(double);
    }
    PG_RETURN_BYTEA_P(out);
}

LS_FUNCTION(ls_rfm_breaks_deserial) {
    const bytea* in = PG_GETARG_BYTEA_PP(0);
    // Layout, counts and finiteness checked by core/state_codec.hpp (fuzzed).
    const ls::RfmStateInfo info =
        ls::rfm_state_check(reinterpret_cast<const unsigned char*>(VARDATA_ANY(in)), VARSIZE_ANY_EXHDR(in));
    const unsigned char* p = info.values;
    RfmState* st = new_state(CurrentMemoryContext, info.bins);
    for (int d = 0; d < 3; ++d) {
        const Size n = info.n[d];
        if (n == 0) continue;
        reserve(CurrentMemoryContext, st, d, n);
        memcpy(st->v[d], p, n * sizeof(double));
        p += n * sizeof(double);
        st->n[d] = n;
    }
    PG_RETURN_POINTER(st);
}

// {"bins": b, "recency": [...], "frequency": [...], "monetary": [...]}; a
// dimension without any non-NULL value is null. The selection reorders the
// arrays in place but keeps the same multiset, so the state stays valid for
// further transitions and final calls (FINALFUNC_MODIFY = READ_ONLY holds).
LS_FUNCTION(ls_rfm_breaks_final) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    auto* st = reinterpret_cast<RfmState*>(PG_GETARG_POINTER(0));
    // At most 3 * 99 numbers of at most 24 characters each.
    char buf[3 * 99 * 26 + 128];
    char* p = buf;
    p += snprintf(p, 32, "{\"bins\": %d", static_cast<int>(st->bins));
    double cuts[ls::kRfmMaxBins - 1];
    for (int d = 0; d < 3; ++d) {
        p += snprintf(p, 32, ", \"%s\": ", kDimName[d]);
        if (!ls::percentile_disc_breaks(st->v[d], st->n[d], st->bins, cuts)) {
            memcpy(p, "null", 4);
            p += 4;
            continue;
        }
        *p++ = '[';
        for (int k = 0; k < st->bins - 1; ++k) {
            if (k) {
                *p++ = ',';
                *p++ = ' ';
            }
            p = std::to_chars(p, p + 25, cuts[k]).ptr;
        }
        *p++ = ']';
    }
    *p++ = '}';
    return ls::pg::jsonb_result(buf, static_cast<size_t>(p - buf));
}

// ---------------------------------------------------------------------------
// rfm(recency, frequency, monetary, breaks jsonb [, model]).

namespace {

// Per call site: the last breaks parsed (by bytes), and the result row type.
struct RfmSite {
    char* key;
    Size keylen, keycap;
    Datum last_datum;
    bool valid, arg_checked, arg_stable;
    TupleDesc desc;
    ls::RfmBreaks breaks;
};

char g_err[256];

bool fail(const char* fmt, const char* a = "", int i = -1) {
    char where[64];
    if (i >= 0) snprintf(where, sizeof where, "%s[%d]", a, i);
    else snprintf(where, sizeof where, "%s", a);
    snprintf(g_err, sizeof g_err, fmt, where);
    return false;
}

double numeric_value(const JsonbValue& v) {
    return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, NumericGetDatum(v.val.numeric)));
}

// C-style walk over the jsonb (PostgreSQL calls only; nothing to destroy).
// Returns false with g_err set on a malformed value.
bool parse_breaks(Jsonb* jb, ls::RfmBreaks* b) {
    if (JB_ROOT_IS_SCALAR(jb) || !JB_ROOT_IS_OBJECT(jb))
        return fail("invalid RFM breaks at $: expected an object like rfm_breaks() returns%s");
    JsonbIterator* it = JsonbIteratorInit(&jb->root);
    JsonbValue v;
    JsonbIteratorToken tok;
    while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
        if (tok != WJB_KEY) continue;
        bool known = false;
        static const char* const keys[] = {"bins", "recency", "frequency", "monetary"};
        for (const char* k : keys)
            if (v.val.string.len == static_cast<int>(strlen(k)) && memcmp(v.val.string.val, k, strlen(k)) == 0)
                known = true;
        if (!known) {
            char key[64];
            int l = v.val.string.len < 60 ? v.val.string.len : 60;
            memcpy(key, v.val.string.val, static_cast<size_t>(l));
            key[l] = '\0';
            snprintf(g_err, sizeof g_err,
                          "invalid RFM breaks at $.%s: unknown key (expected bins, recency, frequency, monetary)", key);
            return false;
        }
    }
    JsonbValue tmp;
    JsonbValue* bv = getKeyJsonValueFromContainer(&jb->root, "bins", 4, &tmp);
    if (!bv) return fail("invalid RFM breaks at $: missing key \"bins\"%s");
    if (bv->type != jbvNumeric) return fail("invalid RFM breaks at $.bins: expected an integer from 2 to 100%s");
    const double bins = numeric_value(*bv);
    if (bins != std::floor(bins) || bins < ls::kRfmMinBins || bins > ls::kRfmMaxBins)
        return fail("invalid RFM breaks at $.bins: expected an integer from 2 to 100%s");
    b->bins = static_cast<int>(bins);
    for (int d = 0; d < 3; ++d) {
        char path[32];
        snprintf(path, sizeof path, "$.%s", kDimName[d]);
        JsonbValue* dv = getKeyJsonValueFromContainer(&jb->root, kDimName[d], static_cast<int>(strlen(kDimName[d])), &tmp);
        if (!dv) return fail("invalid RFM breaks at %s: missing key", path);
        if (dv->type == jbvNull) {
            b->has[d] = false;
            continue;
        }
        if (dv->type != jbvBinary || !JsonContainerIsArray(dv->val.binary.data))
            return fail("invalid RFM breaks at %s: expected an array of cut points or null", path);
        if (static_cast<int>(JsonContainerSize(dv->val.binary.data)) != b->bins - 1) {
            snprintf(g_err, sizeof g_err, "invalid RFM breaks at %s: expected %d cut points for %d bins, got %d",
                          path, b->bins - 1, b->bins, static_cast<int>(JsonContainerSize(dv->val.binary.data)));
            return false;
        }
        for (int k = 0; k < b->bins - 1; ++k) {
            JsonbValue* e = getIthJsonbValueFromContainer(dv->val.binary.data, static_cast<uint32>(k));
            if (!e || e->type != jbvNumeric) return fail("invalid RFM breaks at %s: expected a number", path, k);
            const double c = numeric_value(*e);
            if (!std::isfinite(c)) return fail("invalid RFM breaks at %s: expected a finite number", path, k);
            if (k > 0 && c < b->cuts[d][k - 1])
                return fail("invalid RFM breaks at %s: cut points must be in ascending order", path, k);
            b->cuts[d][k] = c;
        }
        b->has[d] = true;
    }
    return true;
}

RfmSite* rfm_site(FunctionCallInfo fcinfo, CallSite* cs) {
    if (!cs->user) {
        auto* s = static_cast<RfmSite*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RfmSite)));
        MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("rfm must return a composite type")));
        s->desc = BlessTupleDesc(desc);
        MemoryContextSwitchTo(old);
        s->arg_stable = get_fn_expr_arg_stable(fcinfo->flinfo, 3);
        cs->user = s;
    }
    return static_cast<RfmSite*>(cs->user);
}

// The breaks argument, parsed once per distinct value at this call site:
// skipped by pointer when the argument is a constant, by bytes otherwise (a
// scalar subquery gives the same bytes on every row).
const ls::RfmBreaks* breaks_arg(FunctionCallInfo fcinfo, RfmSite* s) {
    const Datum d = PG_GETARG_DATUM(3);
    if (s->valid && s->arg_stable && s->last_datum == d) return &s->breaks;
    struct varlena* raw = PG_DETOAST_DATUM_PACKED(d);
    const char* bytes = VARDATA_ANY(raw);
    const Size len = VARSIZE_ANY_EXHDR(raw);
    if (!(s->valid && s->keylen == len && memcmp(s->key, bytes, len) == 0)) {
        s->valid = false;
        if (!parse_breaks(DatumGetJsonbP(d), &s->breaks)) return nullptr;
        if (s->keycap < len) {
            s->key = static_cast<char*>(s->key ? repalloc(s->key, len) : MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, len));
            s->keycap = len;
        }
        memcpy(s->key, bytes, len);
        s->keylen = len;
        s->valid = true;
    }
    s->last_datum = d;
    return &s->breaks;
}

}  // namespace

LS_FUNCTION(ls_rfm) {
    CallSite* cs = ls::pg::call_site(fcinfo);
    RfmSite* s = rfm_site(fcinfo, cs);
    const ls::RfmBreaks* b = breaks_arg(fcinfo, s);
    if (!b) throw ls::Error(ls::ErrorCode::InvalidParameter, g_err);
    const ls::RfmSpec* spec = nullptr;
    if (PG_NARGS() > 4) {
        const ls::Model* m = ls::pg::model_arg(fcinfo, 4);
        if (m->rfm.has_segments) {
            if (m->rfm.bins != b->bins)
                throw ls::Error(ls::ErrorCode::InvalidParameter,
                                "rfm: the breaks have " + std::to_string(b->bins) + " bins but the model's rfm.bins is " +
                                    std::to_string(m->rfm.bins));
            spec = &m->rfm;
        }
    }
    double x[3];
    for (int d = 0; d < 3; ++d) {
        x[d] = PG_GETARG_FLOAT8(d);
        if (std::isnan(x[d])) check_finite(x[d], d, "rfm");
    }
    ls::RfmScore r;
    Datum values[5];
    bool nulls[5] = {false, false, false, false, false};
    if (!ls::rfm_score(x[0], x[1], x[2], *b, spec, &r)) {
        // A dimension had no data when the breaks were computed: no scores.
        for (bool& n : nulls) n = true;
    } else {
        values[0] = Int32GetDatum(r.r);
        values[1] = Int32GetDatum(r.f);
        values[2] = Int32GetDatum(r.m);
        values[3] = PointerGetDatum(cstring_to_text(r.code));
        if (r.segment)
            values[4] = PointerGetDatum(cstring_to_text_with_len(r.segment->data(), static_cast<int>(r.segment->size())));
        else
            nulls[4] = true;
    }
    return HeapTupleGetDatum(heap_form_tuple(s->desc, values, nulls));
}
