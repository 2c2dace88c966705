// SQL entry points for qualification (doc/qualify.md): score, grade, stage,
// disqualified, bant, engagement_rating and the event_flags aggregate.
//
// Error boundary: LS_FUNCTION; PostgreSQL is called only where no C++ object
// with a destructor is alive.
#include "core/activity.hpp"
#include "core/qualify.hpp"
#include "core/spec.hpp"
#include "core/state_codec.hpp"
#include "core/value.hpp"

#include "pg/glue.hpp"
#include "pg/attributes.hpp"
#include "pg/model_cache.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

using ls::pg::agg_context;
using ls::pg::CallSite;

namespace {

// Per-slot "has a counted event" flags for one call, reused across rows (the
// backend is single-threaded; the buffer only grows).
std::vector<unsigned char> g_flags;

// Flags from a text[] of event types (NULL elements ignored; NULL array: no
// events). Returns nullptr when there are no events. Holds no C++ objects while
// reading the array; the only thing that can throw is the resize.
ls::EventFlags flags_from_array(const ls::Model& m, ArrayType* arr) {
    if (!arr) return nullptr;
    if (ARR_ELEMTYPE(arr) != TEXTOID)
        throw ls::Error(ls::ErrorCode::InvalidParameter, "event_types must be a text[] array");
    const int n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
    if (n == 0) return nullptr;
    g_flags.assign(m.slots.size() + 1, 0);
    const bits8* bitmap = ARR_NULLBITMAP(arr);
    const char* p = ARR_DATA_PTR(arr);
    for (int i = 0; i < n; ++i) {
        if (bitmap && !(bitmap[i / 8] & (1 << (i % 8)))) continue;
        const text* t = reinterpret_cast<const text*>(p);
        g_flags[static_cast<size_t>(m.slot_for(std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t))))] = 1;
        p = att_addlength_pointer(p, -1, p);
        p = reinterpret_cast<const char*>(att_align_nominal(p, TYPALIGN_INT));
    }
    return g_flags.data();
}

ArrayType* array_arg_or_null(FunctionCallInfo fcinfo, int argno) {
    if (PG_NARGS() <= argno || PG_ARGISNULL(argno)) return nullptr;
    return PG_GETARG_ARRAYTYPE_P(argno);
}

// Seconds from `from` to `to`, as extract(epoch from to - from) gives them;
// +-infinity for infinite timestamps (NaN when both are the same infinity).
double seconds_between(TimestampTz from, TimestampTz to) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    const double f = TIMESTAMP_IS_NOBEGIN(from) ? -inf : TIMESTAMP_IS_NOEND(from) ? inf : static_cast<double>(from);
    const double t = TIMESTAMP_IS_NOBEGIN(to) ? -inf : TIMESTAMP_IS_NOEND(to) ? inf : static_cast<double>(to);
    if (std::isfinite(f) && std::isfinite(t)) {
        int64 d;
        if (!__builtin_sub_overflow(to, from, &d)) return static_cast<double>(d) / USECS_PER_SEC;
    }
    return (t - f) / USECS_PER_SEC;
}

// extract(epoch from interval): a month is 30 days, a year 365.25 days.
double interval_to_seconds(const Interval* iv) {
    return static_cast<double>(iv->month / MONTHS_PER_YEAR) * DAYS_PER_YEAR * SECS_PER_DAY +
           static_cast<double>(iv->month % MONTHS_PER_YEAR) * DAYS_PER_MONTH * SECS_PER_DAY +
           static_cast<double>(iv->day) * SECS_PER_DAY + static_cast<double>(iv->time) / USECS_PER_SEC;
}

Datum text_datum(const std::string& s) {
    return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
}

}  // namespace

LS_FUNCTION(ls_score) {
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    PG_RETURN_FLOAT8(ls::total_score(*m, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2)));
}

LS_FUNCTION(ls_grade) {
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    const std::string* g = ls::grade_for(*m, PG_GETARG_FLOAT8(1));
    if (!g) PG_RETURN_NULL();
    return text_datum(*g);
}

// stage(model, score, fit, activity, event_types text[] [, attributes jsonb]).
// A NULL event_types means no events; another NULL argument gives NULL. A lead
// with a counted event of a disqualify.events type, or (6-argument form) whose
// attributes match a disqualify rule, is 'disqualified'.
LS_FUNCTION(ls_stage) {
    for (int i = 0; i < 4; ++i)
        if (PG_ARGISNULL(i)) PG_RETURN_NULL();
    const bool with_attrs = PG_NARGS() > 5;
    if (with_attrs && PG_ARGISNULL(5)) PG_RETURN_NULL();
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    ArrayType* arr = array_arg_or_null(fcinfo, 4);
    ls::EventFlags flags = flags_from_array(*m, arr);
    bool disq;
    if (with_attrs) {
        CallSite* cs = ls::pg::call_site(fcinfo);
        ls::Value* vals = ls::pg::values_buffer(cs, m->fields.size());
        ls::pg::attributes_from_jsonb(*m, PG_GETARG_JSONB_P(5), vals);
        disq = ls::is_disqualified(*m, vals, flags);
    } else {
        disq = ls::disqualified_by_events(*m, flags);
    }
    return text_datum(ls::stage_for(*m, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3), flags, disq));
}

// disqualified(model, attributes jsonb, event_types text[] DEFAULT '{}').
LS_FUNCTION(ls_disqualified) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    CallSite* cs = ls::pg::call_site(fcinfo);
    ls::Value* vals = ls::pg::values_buffer(cs, m->fields.size());
    ls::pg::attributes_from_jsonb(*m, PG_GETARG_JSONB_P(1), vals);
    ls::EventFlags flags = flags_from_array(*m, array_arg_or_null(fcinfo, 2));
    PG_RETURN_BOOL(ls::is_disqualified(*m, vals, flags));
}

LS_FUNCTION(ls_bant) {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("bant must return a composite type")));
    desc = BlessTupleDesc(desc);
    const ls::Model* m = ls::pg::model_arg(fcinfo, 0);
    CallSite* cs = ls::pg::call_site(fcinfo);
    ls::Value* vals = ls::pg::values_buffer(cs, m->fields.size());
    ls::pg::attributes_from_jsonb(*m, PG_GETARG_JSONB_P(1), vals);
    const ls::BantResult r = ls::bant(*m, vals);
    Datum values[6];
    bool nulls[6] = {false, false, false, false, false, false};
    const int8_t crit[4] = {r.budget, r.authority, r.need, r.timeline};
    for (int i = 0; i < 4; ++i) {
        nulls[i] = crit[i] < 0;
        values[i] = BoolGetDatum(crit[i] > 0);
    }
    values[4] = Int32GetDatum(r.met);
    values[5] = BoolGetDatum(r.qualified);
    return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

// engagement_rating(sent, opened, last_open, as_of, inactive_after): NULL when
// sent, opened, as_of or inactive_after is NULL, or when opened > 0 and
// last_open is NULL (doc/qualify.md, "Email engagement rating").
LS_FUNCTION(ls_engagement_rating) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3) || PG_ARGISNULL(4)) PG_RETURN_NULL();
    const bool has_last = !PG_ARGISNULL(2);
    const double since = has_last ? seconds_between(PG_GETARG_TIMESTAMPTZ(2), PG_GETARG_TIMESTAMPTZ(3)) : 0.0;
    const int r = ls::engagement_rating(PG_GETARG_INT32(0), PG_GETARG_INT32(1), has_last, since,
                                        interval_to_seconds(PG_GETARG_INTERVAL_P(4)));
    if (r < 0) PG_RETURN_NULL();
    PG_RETURN_INT32(r);
}

// ---------------------------------------------------------------------------
// event_flags(model, event_type, occurred_at, as_of) -> text[]: the types, among
// those the model's stages and disqualify.events name, that the group has at
// least one counted event of (age >= 0, inside activity.window). Sorted by
// name (byte order), so the result does not depend on row order or on the plan.
//
// The state is independent of the compiled model: a set of type names (in the
// transition, pointers into the model, which lives until transaction end), the
// as_of and a hash of the model argument (to refuse a mix of models after
// combining parallel states).

namespace {

struct FlagEntry {
    const char* s;
    int len;
};

struct FlagsState {
    uint64 model_hash;
    TimestampTz as_of;
    int n, cap;
    FlagEntry* e;
};

// Per call site of the transition function.
struct FlagsSite {
    const ls::Model* model;
    uint64 hash;
    unsigned char* needed;  // per slot: a stage or disqualify.events names it
    bool const_checked, model_const;
};

constexpr uint32 kFlagsMagic = ls::kFlagsStateMagic;  // "LSEF"

bool has_entry(const FlagsState* st, const char* s, int len) {
    for (int i = 0; i < st->n; ++i)
        if (st->e[i].s == s || (st->e[i].len == len && memcmp(st->e[i].s, s, static_cast<size_t>(len)) == 0))
            return true;
    return false;
}

// C-style (PostgreSQL memory only). copy: duplicate the bytes into ctx.
void add_entry(MemoryContext ctx, FlagsState* st, const char* s, int len, bool copy) {
    if (has_entry(st, s, len)) return;
    if (st->n == st->cap) {
        int cap = st->cap ? st->cap * 2 : 4;
        st->e = static_cast<FlagEntry*>(st->e ? repalloc(st->e, sizeof(FlagEntry) * static_cast<size_t>(cap))
                                              : MemoryContextAlloc(ctx, sizeof(FlagEntry) * static_cast<size_t>(cap)));
        st->cap = cap;
    }
    if (copy) {
        char* c = static_cast<char*>(MemoryContextAlloc(ctx, static_cast<size_t>(len) + 1));
        memcpy(c, s, static_cast<size_t>(len));
        c[len] = '\0';
        s = c;
    }
    st->e[st->n++] = FlagEntry{s, len};
}

FlagsState* new_flags_state(MemoryContext ctx, uint64 hash, TimestampTz as_of) {
    auto* st = static_cast<FlagsState*>(MemoryContextAllocZero(ctx, sizeof(FlagsState)));
    st->model_hash = hash;
    st->as_of = as_of;
    return st;
}

void check_same(const FlagsState* a, uint64 hash, TimestampTz as_of) {
    if (a->model_hash != hash)
        throw ls::Error(ls::ErrorCode::InvalidParameter, "event_flags: the model must be the same on every row of a group");
    if (a->as_of != as_of)
        throw ls::Error(ls::ErrorCode::InvalidParameter, "event_flags: as_of must be the same on every row of a group");
}

bool agg_arg_is_const(FunctionCallInfo fcinfo, int argno) {
    Aggref* a = AggGetAggref(fcinfo);
    if (!a || argno >= list_length(a->args)) return false;
    Node* e = reinterpret_cast<Node*>(static_cast<TargetEntry*>(list_nth(a->args, argno))->expr);
    return IsA(e, Const) || (IsA(e, Param) && reinterpret_cast<Param*>(e)->paramkind == PARAM_EXTERN);
}

}  // namespace

LS_FUNCTION(ls_event_flags_trans) {
    MemoryContext ctx = agg_context(fcinfo, "event_flags");
    auto* st = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<FlagsState*>(PG_GETARG_POINTER(0));
    if (PG_ARGISNULL(1)) throw ls::Error(ls::ErrorCode::NullValue, "event_flags: model must not be NULL");
    if (PG_ARGISNULL(4)) throw ls::Error(ls::ErrorCode::NullValue, "event_flags: as_of must not be NULL");
    CallSite* cs = ls::pg::call_site(fcinfo);
    if (!cs->user) cs->user = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FlagsSite));
    auto* site = static_cast<FlagsSite*>(cs->user);
    if (!site->const_checked) {
        site->model_const = agg_arg_is_const(fcinfo, 0);
        site->const_checked = true;
    }
    const ls::Model* m = ls::pg::model_datum(cs, get_fn_expr_argtype(fcinfo->flinfo, 1), PG_GETARG_DATUM(1),
                                             site->model_const);
    if (m != site->model) {
        uint64 h = hash_bytes_extended(reinterpret_cast<const unsigned char*>(cs->key), static_cast<int>(cs->keylen),
                                       cs->model_type);
        const size_t ns = m->slots.size() + 1;
        auto* needed = static_cast<unsigned char*>(
            site->needed ? repalloc(site->needed, ns) : MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, ns));
        for (size_t s = 0; s < ns; ++s) needed[s] = s < m->slots.size() && m->slot_disqualifies[s];
        for (const auto& r : m->stages)
            if (r.event) needed[r.event_slot] = 1;
        site->needed = needed;
        site->hash = h;
        site->model = m;
    }
    const TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(4);
    if (!st) st = new_flags_state(ctx, site->hash, as_of);
    else check_same(st, site->hash, as_of);
    if (!PG_ARGISNULL(2) && !PG_ARGISNULL(3)) {
        const text* t = PG_GETARG_TEXT_PP(2);
        const int slot = m->slot_for(std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
        if (site->needed[slot] && ls::event_counts(*m, seconds_between(PG_GETARG_TIMESTAMPTZ(3), as_of))) {
            const std::string& name = m->slots[static_cast<size_t>(slot)];
            add_entry(ctx, st, name.data(), static_cast<int>(name.size()), false);
        }
    }
    PG_RETURN_POINTER(st);
}

LS_FUNCTION(ls_event_flags_combine) {
    MemoryContext ctx = agg_context(fcinfo, "event_flags");
    auto* a = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<FlagsState*>(PG_GETARG_POINTER(0));
    auto* b = PG_ARGISNULL(1) ? nullptr : reinterpret_cast<FlagsState*>(PG_GETARG_POINTER(1));
    if (!b) {
        if (!a) PG_RETURN_NULL();
        PG_RETURN_POINTER(a);
    }
    if (!a) a = new_flags_state(ctx, b->model_hash, b->as_of);
    else check_same(a, b->model_hash, b->as_of);
    for (int i = 0; i < b->n; ++i) add_entry(ctx, a, b->e[i].s, b->e[i].len, true);
    PG_RETURN_POINTER(a);
}

LS_FUNCTION(ls_event_flags_serial) {
    auto* st = reinterpret_cast<FlagsState*>(PG_GETARG_POINTER(0));
    Size len = VARHDRSZ + 4 + 8 + 8 + 4;
    for (int i = 0; i < st->n; ++i) len += 4 + static_cast<Size>(st->e[i].len);
    auto* out = static_cast<bytea*>(palloc(len));
    SET_VARSIZE(out, len);
    char* p = VARDATA(out);
    auto put = [&p](const void* src, size_t n) {
        memcpy(p, src, n);
        p += n;
    };
    const uint32 magic = kFlagsMagic, n = static_cast<uint32>(st->n);
    put(&magic, 4);
    put(&st->model_hash, 8);
    put(&st->as_of, 8);
    put(&n, 4);
    for (int i = 0; i < st->n; ++i) {
        const uint32 l = static_cast<uint32>(st->e[i].len);
        put(&l, 4);
        put(st->e[i].s, l);
    }
    PG_RETURN_BYTEA_P(out);
}

LS_FUNCTION(ls_event_flags_deserial) {
    const bytea* in = PG_GETARG_BYTEA_PP(0);
    const char* p = VARDATA_ANY(in);
    Size left = VARSIZE_ANY_EXHDR(in);
    // The whole layout is checked first (core/state_codec.hpp, fuzzed).
    ls::event_flags_state_check(reinterpret_cast<const unsigned char*>(p), left);
    auto take = [&p, &left](void* dst, size_t n) {
        if (left < n) throw ls::Error(ls::ErrorCode::DataCorrupted, "event_flags: corrupt serialized state");
        memcpy(dst, p, n);
        p += n;
        left -= n;
    };
    uint32 magic, n;
    uint64 hash;
    TimestampTz as_of;
    take(&magic, 4);
    take(&hash, 8);
    take(&as_of, 8);
    take(&n, 4);
    if (magic != kFlagsMagic || n > left / 4)
        throw ls::Error(ls::ErrorCode::DataCorrupted, "event_flags: corrupt serialized state");
    FlagsState* st = new_flags_state(CurrentMemoryContext, hash, as_of);
    for (uint32 i = 0; i < n; ++i) {
        uint32 l;
        take(&l, 4);
        if (l > left || l > static_cast<uint32>(PG_INT32_MAX))
            throw ls::Error(ls::ErrorCode::DataCorrupted, "event_flags: corrupt serialized state");
        add_entry(CurrentMemoryContext, st, p, static_cast<int>(l), true);
        p += l;
        left -= l;
    }
    if (left != 0) throw ls::Error(ls::ErrorCode::DataCorrupted, "event_flags: corrupt serialized state");
    PG_RETURN_POINTER(st);
}

LS_FUNCTION(ls_event_flags_final) {
    auto* st = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<FlagsState*>(PG_GETARG_POINTER(0));
    const int n = st ? st->n : 0;
    Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * static_cast<size_t>(n > 0 ? n : 1)));
    for (int i = 0; i < n; ++i) elems[i] = PointerGetDatum(cstring_to_text_with_len(st->e[i].s, st->e[i].len));
    // Insertion sort by bytes (a handful of types).
    for (int i = 1; i < n; ++i)
        for (int j = i; j > 0; --j) {
            const text* x = DatumGetTextPP(elems[j - 1]);
            const text* y = DatumGetTextPP(elems[j]);
            const size_t lx = VARSIZE_ANY_EXHDR(x), ly = VARSIZE_ANY_EXHDR(y);
            int c = memcmp(VARDATA_ANY(x), VARDATA_ANY(y), lx < ly ? lx : ly);
            if (c < 0 || (c == 0 && lx <= ly)) break;
            std::swap(elems[j - 1], elems[j]);
        }
    PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}
