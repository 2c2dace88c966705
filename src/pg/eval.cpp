// SQL entry points of the evaluation aggregates (doc/eval.md): auc and
// logistic_fit. Their states live in PostgreSQL memory (the aggregate context),
// as plain structs with palloc'd arrays: nothing C++-owned outlives a call, so
// a cancelled or failed query leaks nothing. The C++ core works on raw pointers.
//
// Error boundary: LS_FUNCTION; PostgreSQL is called only where no C++ object
// with a destructor is alive, or through pg_call / jsonb_result.
#include "core/error.hpp"
#include "core/eval.hpp"
#include "core/logistic.hpp"
#include "core/state_codec.hpp"

#include "pg/glue.hpp"

#include <cmath>
#include <cstring>
#include <string>

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
}

namespace {

using ls::pg::agg_context;

// ---------------------------------------------------------------- auc
//
// The state is a run-length vector of (score, pos, neg): a[0, sorted_n) sorted
// with distinct scores, a[sorted_n, n) appended rows. When the array is full it
// is compacted (sort the tail, merge, sum equal scores); it doubles only when
// compaction leaves it more than half full. Memory is thus at most about 4 x 24
// bytes per distinct score (plus the initial 1024 entries), not per row.

struct AucState {
    Size n;
    Size sorted_n;
    Size cap;
    ls::ScoreCount* a;
};

constexpr Size kAucInitialCap = 1024;

AucState* auc_new(MemoryContext cxt, Size cap) {
    AucState* st = static_cast<AucState*>(MemoryContextAlloc(cxt, sizeof(AucState)));
    st->n = st->sorted_n = 0;
    st->cap = cap;
    st->a = static_cast<ls::ScoreCount*>(MemoryContextAllocHuge(cxt, cap * sizeof(ls::ScoreCount)));
    return st;
}

void auc_compact_state(AucState* st) {
    st->n = st->sorted_n = ls::auc_compact(st->a, st->sorted_n, st->n, [] { ls::pg::check_interrupts(); });
}

// Makes room for `extra` more entries.
void auc_reserve(AucState* st, Size extra) {
    if (st->n + extra <= st->cap) return;
    auc_compact_state(st);
    if (st->n + extra <= st->cap && st->n * 2 <= st->cap) return;
    Size cap = st->cap;
    while (cap < 2 * (st->n + extra)) cap *= 2;
    st->a = static_cast<ls::ScoreCount*>(repalloc_huge(st->a, cap * sizeof(ls::ScoreCount)));
    st->cap = cap;
}

}  // namespace

LS_FUNCTION(ls_auc_trans) {
    MemoryContext cxt = agg_context(fcinfo, "auc_trans");
    AucState* st = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<AucState*>(PG_GETARG_POINTER(0));
    if (PG_ARGISNULL(1) || PG_ARGISNULL(2)) {  // rows with a NULL score or outcome are skipped
        if (!st) PG_RETURN_NULL();
        PG_RETURN_POINTER(st);
    }
    double score = PG_GETARG_FLOAT8(1);
    if (std::isnan(score)) throw ls::Error(ls::ErrorCode::InvalidParameter, "auc: score must not be NaN");
    bool pos = PG_GETARG_BOOL(2);
    if (!st) st = auc_new(cxt, kAucInitialCap);
    if (st->n == st->cap) auc_reserve(st, 1);
    st->a[st->n++] = ls::ScoreCount{score, pos ? 1 : 0, pos ? 0 : 1};
    PG_RETURN_POINTER(st);
}

LS_FUNCTION(ls_auc_combine) {
    MemoryContext cxt = agg_context(fcinfo, "auc_combine");
    AucState* s1 = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<AucState*>(PG_GETARG_POINTER(0));
    AucState* s2 = PG_ARGISNULL(1) ? nullptr : reinterpret_cast<AucState*>(PG_GETARG_POINTER(1));
    if (!s2) {
        if (!s1) PG_RETURN_NULL();
        PG_RETURN_POINTER(s1);
    }
    // s2 is only read: its entries are appended to s1 (a copy in our own
    // context when s1 is still NULL) and merged there.
    if (!s1) s1 = auc_new(cxt, s2->n > kAucInitialCap ? s2->n : kAucInitialCap);
    auc_reserve(s1, s2->n);
    memcpy(s1->a + s1->n, s2->a, s2->n * sizeof(ls::ScoreCount));
    s1->n += s2->n;
    auc_compact_state(s1);
    PG_RETURN_POINTER(s1);
}

LS_FUNCTION(ls_auc_serialize) {
    agg_context(fcinfo, "auc_serialize");
    AucState* st = reinterpret_cast<AucState*>(PG_GETARG_POINTER(0));
    auc_compact_state(st);
    Size len = ls::auc_serialized_size(st->n);
    if (len > MaxAllocSize - VARHDRSZ)
        throw ls::Error(ls::ErrorCode::ProgramLimit, "auc: too many distinct scores to pass between parallel workers");
    bytea* out = static_cast<bytea*>(palloc(len + VARHDRSZ));
    SET_VARSIZE(out, len + VARHDRSZ);
    ls::auc_serialize(st->a, st->n, reinterpret_cast<unsigned char*>(VARDATA(out)));
    PG_RETURN_BYTEA_P(out);
}

// Not strict, so that garbage can be fed to it from SQL (with a NULL second
// argument) in tests: the bytes are checked before anything else.
LS_FUNCTION(ls_auc_deserialize) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    bytea* b = PG_GETARG_BYTEA_PP(0);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(VARDATA_ANY(b));
    Size n = ls::auc_check_serialized(p, VARSIZE_ANY_EXHDR(b));
    MemoryContext cxt = agg_context(fcinfo, "auc_deserialize");
    AucState* st = auc_new(cxt, n > kAucInitialCap ? n : kAucInitialCap);
    ls::auc_deserialize(p, n, st->a);
    st->n = st->sorted_n = n;
    PG_RETURN_POINTER(st);
}

LS_FUNCTION(ls_auc_final) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    AucState* st = reinterpret_cast<AucState*>(PG_GETARG_POINTER(0));
    auc_compact_state(st);  // changes the layout, not the content
    double v;
    if (!ls::auc_value(st->a, st->n, &v)) PG_RETURN_NULL();
    PG_RETURN_FLOAT8(v);
}

// ---------------------------------------------------------------- logistic_fit
//
// The state keeps every row: n x (d + 1) doubles (features, then the label 0/1)
// in one palloc'd array that doubles as it grows. Combine concatenates; the
// final function runs Newton's method over the rows (see core/logistic.hpp).

namespace {

struct LogitState {
    Size n;
    Size cap;  // rows
    int32 d;
    double l2;
    double* rows;
};

constexpr Size kLogitInitialRows = 256;

LogitState* logit_new(MemoryContext cxt, int32 d, double l2, Size cap) {
    LogitState* st = static_cast<LogitState*>(MemoryContextAlloc(cxt, sizeof(LogitState)));
    st->n = 0;
    st->cap = cap;
    st->d = d;
    st->l2 = l2;
    st->rows = static_cast<double*>(MemoryContextAllocHuge(cxt, cap * (d + 1) * sizeof(double)));
    return st;
}

void logit_reserve(LogitState* st, Size extra) {
    if (st->n + extra <= st->cap) return;
    Size cap = st->cap;
    while (cap < st->n + extra) cap *= 2;
    st->rows = static_cast<double*>(repalloc_huge(st->rows, cap * (st->d + 1) * sizeof(double)));
    st->cap = cap;
}

[[noreturn]] void logit_bad(const std::string& what) {
    throw ls::Error(ls::ErrorCode::InvalidParameter, "logistic_fit: " + what);
}

void check_l2(double l2) {
    if (std::isnan(l2) || std::isinf(l2) || l2 < 0) logit_bad("l2 must be a finite number >= 0");
}

constexpr const unsigned char* kLogitMagic = ls::kLogisticStateMagic;
constexpr Size kLogitHeader = ls::kLogisticStateHeader;  // magic, int32 d, double l2, uint64 n

}  // namespace

LS_FUNCTION(ls_logistic_trans) {
    MemoryContext cxt = agg_context(fcinfo, "logistic_fit_trans");
    LogitState* st = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<LogitState*>(PG_GETARG_POINTER(0));
    // The two-argument aggregate (no l2) stands for l2 = 1.0: CREATE AGGREGATE
    // has no DEFAULT for arguments.
    double l2 = 1.0;
    if (PG_NARGS() > 3) {
        if (PG_ARGISNULL(3)) throw ls::Error(ls::ErrorCode::NullValue, "logistic_fit: l2 must not be NULL");
        l2 = PG_GETARG_FLOAT8(3);
    }
    check_l2(l2);
    if (PG_ARGISNULL(1) || PG_ARGISNULL(2)) {  // rows without features or label are skipped
        if (!st) PG_RETURN_NULL();
        PG_RETURN_POINTER(st);
    }
    ArrayType* arr = PG_GETARG_ARRAYTYPE_P(1);
    if (ARR_NDIM(arr) > 1) logit_bad("features must be a one-dimensional array");
    if (ARR_HASNULL(arr) && array_contains_nulls(arr)) logit_bad("features must not contain NULL elements");
    int32 d = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
    if (static_cast<Size>(d) > ls::kLogisticMaxFeatures)
        throw ls::Error(ls::ErrorCode::ProgramLimit,
                        "logistic_fit: at most " + std::to_string(ls::kLogisticMaxFeatures) + " features are supported");
    const double* x = reinterpret_cast<const double*>(ARR_DATA_PTR(arr));
    for (int32 j = 0; j < d; ++j)
        if (!std::isfinite(x[j])) logit_bad("feature " + std::to_string(j + 1) + " is not a finite number");
    if (!st) {
        st = logit_new(cxt, d, l2, kLogitInitialRows);
    } else {
        if (d != st->d)
            logit_bad("every features array must have the same length (" + std::to_string(st->d) + "), got " +
                      std::to_string(d));
        if (l2 != st->l2) logit_bad("l2 must be the same on every row of a group");
    }
    logit_reserve(st, 1);
    double* row = st->rows + st->n * (d + 1);
    memcpy(row, x, sizeof(double) * d);
    row[d] = PG_GETARG_BOOL(2) ? 1.0 : 0.0;
    st->n++;
    PG_RETURN_POINTER(st);
}

LS_FUNCTION(ls_logistic_combine) {
    MemoryContext cxt = agg_context(fcinfo, "logistic_fit_combine");
    LogitState* s1 = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<LogitState*>(PG_GETARG_POINTER(0));
    LogitState* s2 = PG_ARGISNULL(1) ? nullptr : reinterpret_cast<LogitState*>(PG_GETARG_POINTER(1));
    if (!s2) {
        if (!s1) PG_RETURN_NULL();
        PG_RETURN_POINTER(s1);
    }
    if (!s1) s1 = logit_new(cxt, s2->d, s2->l2, s2->n > kLogitInitialRows ? s2->n : kLogitInitialRows);
    if (s1->d != s2->d)
        logit_bad("every features array must have the same length (" + std::to_string(s1->d) + "), got " +
                  std::to_string(s2->d));
    if (s1->l2 != s2->l2) logit_bad("l2 must be the same on every row of a group");
    logit_reserve(s1, s2->n);
    memcpy(s1->rows + s1->n * (s1->d + 1), s2->rows, s2->n * (s2->d + 1) * sizeof(double));
    s1->n += s2->n;
    PG_RETURN_POINTER(s1);
}

LS_FUNCTION(ls_logistic_serialize) {
    agg_context(fcinfo, "logistic_fit_serialize");
    LogitState* st = reinterpret_cast<LogitState*>(PG_GETARG_POINTER(0));
    Size body = st->n * (st->d + 1) * sizeof(double);
    if (body > MaxAllocSize - VARHDRSZ - kLogitHeader)
        throw ls::Error(ls::ErrorCode::ProgramLimit,
                        "logistic_fit: a parallel worker's rows exceed 1 GB; run it without parallelism "
                        "(SET max_parallel_workers_per_gather = 0)");
    Size len = kLogitHeader + body;
    bytea* out = static_cast<bytea*>(palloc(len + VARHDRSZ));
    SET_VARSIZE(out, len + VARHDRSZ);
    unsigned char* p = reinterpret_cast<unsigned char*>(VARDATA(out));
    uint64 n = st->n;
    memcpy(p, kLogitMagic, 4);
    memcpy(p + 4, &st->d, 4);
    memcpy(p + 8, &st->l2, 8);
    memcpy(p + 16, &n, 8);
    memcpy(p + kLogitHeader, st->rows, body);
    PG_RETURN_BYTEA_P(out);
}

LS_FUNCTION(ls_logistic_deserialize) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    bytea* b = PG_GETARG_BYTEA_PP(0);
    // Layout and values checked by core/state_codec.hpp (fuzzed).
    const ls::LogisticStateInfo info =
        ls::logistic_state_check(reinterpret_cast<const unsigned char*>(VARDATA_ANY(b)), VARSIZE_ANY_EXHDR(b));
    MemoryContext cxt = agg_context(fcinfo, "logistic_fit_deserialize");
    LogitState* st = logit_new(cxt, info.d, info.l2, info.n);
    memcpy(st->rows, info.rows, info.n * (static_cast<Size>(info.d) + 1) * sizeof(double));
    st->n = info.n;
    PG_RETURN_POINTER(st);
}

LS_FUNCTION(ls_logistic_final) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    LogitState* st = reinterpret_cast<LogitState*>(PG_GETARG_POINTER(0));
    ls::LogisticOptions opt;
    opt.l2 = st->l2;
    opt.interrupt = [] { ls::pg::check_interrupts(); };
    ls::LogisticResult r = ls::logistic_fit(st->rows, st->n, static_cast<size_t>(st->d), opt);
    return ls::pg::jsonb_result(ls::logistic_json(r, st->n, st->l2));
}
