// SQL entry points for activity scoring (doc/activity.md): decay() and the
// aggregates activity_score / activity_breakdown.
//
// Aggregate state (STYPE internal), one ActState per group, allocated once in
// the aggregate context: as_of, a pointer to the model's Shape and a fixed
// array of accumulators (ls::activity_accumulators: one per capped type, one
// shared by all the others) -- 64 bytes for a model with four caps. The
// breakdown state adds per-slot raw sums and counts and a small hash map of
// the wildcard types by name; its total comes from the same accumulators, so
// it is bitwise activity_score's.
// The final and combine functions never see the model argument, so the state
// carries what they need: the Shape (fingerprint, caps, clamps, slot ->
// accumulator; one per call site and model, shared by all groups) for the
// total, and for the breakdown the slot names. On the transition side those
// point into the compiled model (which the model cache keeps alive until the
// transaction ends); serialization writes them out (accumulators, caps,
// clamps, a 64-bit fingerprint, as_of), and the deserialized state owns its
// copies. The fingerprint
// (ls::activity_fingerprint, identical in every process) and as_of let combine
// check that every row of a group used the same model and as_of, even rows
// seen by different parallel workers.
//
// Per row, activity_score does no spec lookup, parse, allocation or copy: when
// the model argument is a Const (or extern Param) the model resolved on the
// first row is used for the whole execution, and a constant as_of is not
// compared per row, so a row touches only one accumulator of its group; the event
// type goes through a table of the slot names (ls::SlotTable) built once per
// call site and model.
//
// Fast path (fast_trans): with a constant model and as_of, activity_score is
// usually GROUP BY lead over millions of events, where the floor (count(*))
// costs ~110 ns a row clustered by lead, so every few ns of ours showed as
// whole percent. After the first row a row is therefore only: NULL checks,
// the age in integer microseconds, the window as an integer compare (exactly
// what event_counts decides, ls::window_limit_us) before any double math, one
// probe of a collision-free slot table, the decay from the age in
// microseconds without a division (ls::HalfLife::weight_us), and the add --
// reading flattened per-model parameters kept in the Site rather than the
// Model's optionals and vectors. Such a row neither throws nor calls
// PostgreSQL, so the entry points try it before setting up LS_FUNCTION's
// guard; a new group's state is allocated without PG_TRY. The general path
// uses the same arithmetic for every age in whole microseconds, so results do
// not depend on which path a row took, and activity_breakdown's total stays
// bitwise activity_score.
//
// Infinite timestamps: an event whose occurred_at or as_of is ±infinity has no
// age and is ignored (decay() gives 0 for it).
//
// Error boundary: LS_FUNCTION, with pg_call around the PostgreSQL calls made
// while C++ objects are alive. activity_score's transition and final functions
// are plain PG_FUNCTION_INFO_V1 entry points: their fast path neither throws
// nor calls PostgreSQL, and anything else runs inside guarded().
#include "core/activity.hpp"
#include "core/activity_state.hpp"
#include "core/spec.hpp"
#include "core/state_codec.hpp"
#include "core/value.hpp"

#include "pg/glue.hpp"
#include "pg/model_cache.hpp"
#include "pg/activity_kernel.hpp"

#include <cmath>
#include <cstring>
#include <string>

extern "C" {
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "nodes/nodes.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

using ls::pg::CallSite;

namespace {

constexpr uint32 kStateMagic = ls::kActivityStateMagic;  // "LSA2": serialized format version 2

[[noreturn]] void fail(ls::ErrorCode code, const std::string& msg) { throw ls::Error(code, msg); }

// ---------------------------------------------------------------- wildcard map
// Wildcard event types by name, for the breakdown only. Open addressing in the
// aggregate context; names are copied once per group and name.
struct WildEntry {
    char* name;  // nullptr: empty cell
    uint32 len;
    int64 count;
    double sum;
};

struct WildMap {
    WildEntry* cells;
    uint32 cap;  // power of two or 0
    uint32 used;
};

// C style: palloc may elog(ERROR); no C++ objects live here.
WildEntry* wild_slot(WildMap* w, MemoryContext cxt, const char* p, uint32 n) {
    if (w->cap == 0 || (w->used + 1) * 2 > w->cap) {
        uint32 ncap = w->cap ? w->cap * 2 : 8;
        auto* cells = static_cast<WildEntry*>(MemoryContextAllocZero(cxt, sizeof(WildEntry) * ncap));
        for (uint32 i = 0; i < w->cap; ++i) {
            WildEntry& e = w->cells[i];
            if (!e.name) continue;
            uint32 j = static_cast<uint32>(ls::hash_bytes(e.name, e.len)) & (ncap - 1);
            while (cells[j].name) j = (j + 1) & (ncap - 1);
            cells[j] = e;
        }
        if (w->cells) pfree(w->cells);
        w->cells = cells;
        w->cap = ncap;
    }
    uint32 j = static_cast<uint32>(ls::hash_bytes(p, n)) & (w->cap - 1);
    for (;; j = (j + 1) & (w->cap - 1)) {
        WildEntry& e = w->cells[j];
        if (!e.name) break;
        if (e.len == n && memcmp(e.name, p, n) == 0) return &e;
    }
    WildEntry& e = w->cells[j];
    e.name = static_cast<char*>(MemoryContextAlloc(cxt, n + 1));
    memcpy(e.name, p, n);
    e.name[n] = '\0';
    e.len = n;
    w->used++;
    return &e;
}

// ----------------------------------------------------------------- the state
using ls::pg::needs_detoast;
using ls::pg::Shape;
using ls::pg::SiteModel;

// activity_breakdown only.
struct BdExtra {
    double* raw;    // nslots: S_t before its cap
    int64* counts;  // nslots
    char** names;   // nslots - 1 slot names, when the shape has no model
    uint32* name_lens;
    WildMap wild;
};

// 24 bytes and the accumulators: a model with up to 4 caps fits a 64-byte chunk.
struct ActState {
    TimestampTz as_of;
    const Shape* shape;
    BdExtra* bd;  // nullptr for activity_score
    double acc[FLEXIBLE_ARRAY_MEMBER];
};

Size state_size(int32 nacc) { return offsetof(ActState, acc) + sizeof(double) * nacc; }

// Whether states of two shapes can be added up: the same model as far as
// activity scoring goes (and so the same slots and accumulators).
bool same_layout(const Shape* a, const Shape* b) {
    return a->fingerprint == b->fingerprint && a->nslots == b->nslots && a->nacc == b->nacc;
}

// C style (may elog): the shape's accumulator arrays in cxt, from its caps.
void shape_set_acc(Shape* sh, MemoryContext cxt) {
    const Size n = static_cast<Size>(sh->nslots);
    int32* acc_of = static_cast<int32*>(MemoryContextAlloc(cxt, sizeof(int32) * n));
    double* acc_caps = static_cast<double*>(MemoryContextAlloc(cxt, sizeof(double) * (n + 1)));
    sh->nacc = ls::activity_accumulators(sh->caps, sh->nslots, acc_of, acc_caps);
    sh->acc_of = acc_of;
    sh->acc_caps = acc_caps;
}

// Per call site (fn_extra->user, lives for one execution of the statement):
// whether the model / as_of arguments are constants, the model resolved for a
// constant model argument (frozen for the execution, so every group of it has
// the same slots), and the last models seen, so rows that alternate models
// build and allocate nothing.
constexpr int kModelCache = 8;
struct Site {
    bool stable;        // model argument is a Const or extern Param
    bool as_of_stable;  // as_of likewise
    bool as_of_checked; // a stable as_of was seen non-NULL
    bool fast;          // activity_score with a frozen model and a constant finite as_of
    TimestampTz fast_as_of;
    const ls::Model* frozen;  // stable: the model of every row
    const SiteModel* cur;     // the model of the last row
    SiteModel models[kModelCache];
    int next_model;
};

bool is_stable_arg(Node* e) {
    return IsA(e, Const) || (IsA(e, Param) && reinterpret_cast<Param*>(e)->paramkind == PARAM_EXTERN);
}

const char* agg_name(bool breakdown) { return breakdown ? "activity_breakdown" : "activity_score"; }

Site* site_for(FunctionCallInfo fcinfo, CallSite* cs) {
    if (likely(cs->user != nullptr)) return static_cast<Site*>(cs->user);
    Site* volatile s = nullptr;
    ls::pg::pg_call([&] {
        s = static_cast<Site*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(Site)));
        // A model argument that is a Const or an extern Param is the same datum
        // on every row: after the first row nothing needs checking.
        Aggref* ar = AggGetAggref(fcinfo);
        if (ar && list_length(ar->args) == 4) {
            s->stable = is_stable_arg(reinterpret_cast<Node*>(static_cast<TargetEntry*>(linitial(ar->args))->expr));
            s->as_of_stable = is_stable_arg(reinterpret_cast<Node*>(static_cast<TargetEntry*>(llast(ar->args))->expr));
        }
    });
    cs->user = s;
    return s;
}

// Makes site->cur the entry of m.
void site_use_model(FunctionCallInfo fcinfo, Site* s, const ls::Model* m) {
    if (s->cur && s->cur->model == m) return;
    for (const SiteModel& e : s->models)
        if (e.model == m) {
            s->cur = &e;
            return;
        }
    SiteModel* e = &s->models[s->next_model];
    s->next_model = (s->next_model + 1) % kModelCache;
    ls::pg::site_model_build(e, fcinfo->flinfo->fn_mcxt, m);
    s->cur = e;
}

// Zeroed memory in cxt, without PG_TRY: a new group's state is allocated once
// per group, and setting up PG_TRY for it cost as much as scoring a few rows.
// Out of memory throws std::bad_alloc (SQLSTATE 53200 at the boundary).
void* alloc_zero(MemoryContext cxt, Size size) {
    void* p = MemoryContextAllocExtended(cxt, size, MCXT_ALLOC_ZERO | MCXT_ALLOC_NO_OOM);
    if (unlikely(p == nullptr)) throw std::bad_alloc();
    return p;
}

ActState* new_state(MemoryContext cxt, const SiteModel* sm, TimestampTz as_of, bool breakdown) {
    const int32 n = sm->shape->nslots;
    ActState* st = static_cast<ActState*>(alloc_zero(cxt, state_size(sm->shape->nacc)));
    if (breakdown) {
        st->bd = static_cast<BdExtra*>(alloc_zero(cxt, sizeof(BdExtra)));
        st->bd->raw = static_cast<double*>(alloc_zero(cxt, sizeof(double) * n));
        st->bd->counts = static_cast<int64*>(alloc_zero(cxt, sizeof(int64) * n));
    }
    st->as_of = as_of;
    st->shape = sm->shape;
    return st;
}

// The event type's bytes without copying; a compressed or out-of-line value
// (never seen for short type names) is detoasted.
// Out of line: its PG_TRY frame would otherwise be set up on every row.
__attribute__((noinline, cold)) struct varlena* detoast_type(struct varlena* v) {
    struct varlena* volatile dv = nullptr;
    ls::pg::pg_call([&] { dv = pg_detoast_datum_packed(v); });
    return dv;
}

inline void type_bytes(Datum d, const char** p, uint32* n) {
    struct varlena* v = reinterpret_cast<struct varlena*>(DatumGetPointer(d));
    if (unlikely(needs_detoast(d))) v = detoast_type(v);
    *p = VARDATA_ANY(v);
    *n = VARSIZE_ANY_EXHDR(v);
}

using ls::pg::age_in_us;
using ls::pg::counts_us;

// activity_score's transition when the model and as_of are constants: only
// what depends on the row. A row it cannot decide (infinite occurred_at, an
// age beyond int64, a type to detoast) returns false and goes the general way.
// Neither throws nor calls PostgreSQL.
__attribute__((always_inline)) inline bool fast_trans(FunctionCallInfo fcinfo, const Site* site, ActState* st) {
    if (PG_ARGISNULL(2) || PG_ARGISNULL(3)) return true;
    int64 age_us;
    if (unlikely(!age_in_us(site->fast_as_of, PG_GETARG_TIMESTAMPTZ(3), &age_us))) return false;
    const SiteModel* sm = site->cur;
    if (!counts_us(sm->scorer, age_us)) return true;
    if (unlikely(needs_detoast(PG_GETARG_DATUM(2)))) return false;
    const char* tp;
    uint32 tn;
    type_bytes(PG_GETARG_DATUM(2), &tp, &tn);
    const int slot = sm->table.find(tp, tn);
    st->acc[sm->acc_of[slot]] += sm->scorer.points_at(slot, age_us);
    return true;
}

// The call site's Site when the fast path applies to it.
inline Site* fast_site(FunctionCallInfo fcinfo) {
    const CallSite* cs = static_cast<const CallSite*>(fcinfo->flinfo->fn_extra);
    if (unlikely(cs == nullptr)) return nullptr;
    Site* site = static_cast<Site*>(cs->user);
    return likely(site != nullptr && site->fast) ? site : nullptr;
}

// A new group's state on the fast path, without PG_TRY or a throw: nullptr
// when out of memory (the general path then retries and fails with 53200).
__attribute__((noinline)) ActState* fast_new_state(FunctionCallInfo fcinfo, const Site* site) noexcept {
    MemoryContext cxt;
    AggCheckCallContext(fcinfo, &cxt);  // an aggregate: the first row checked it
    const SiteModel* sm = site->cur;
    auto* st = static_cast<ActState*>(MemoryContextAllocExtended(cxt, state_size(sm->shape->nacc),
                                                                  MCXT_ALLOC_ZERO | MCXT_ALLOC_NO_OOM));
    if (likely(st != nullptr)) {
        st->as_of = site->fast_as_of;
        st->shape = sm->shape;
    }
    return st;
}

template <bool Breakdown>
Datum activity_trans_general(FunctionCallInfo fcinfo, Oid model_type, ActState* st);

inline ActState* arg_state(FunctionCallInfo fcinfo) {
    return PG_ARGISNULL(0) ? nullptr : reinterpret_cast<ActState*>(PG_GETARG_POINTER(0));
}

// activity_score's transition; args: state, model, event_type, occurred_at,
// as_of. Not strict: NULL model/as_of are errors, NULL type/time are ignored.
// Most rows, a group's first included, need neither the exception guard of
// LS_FUNCTION nor anything that can throw or elog, so they are tried first
// without it: its frame (a stack protector, the pending error) was a
// measurable part of a row. The general path is a call, so its frame is not
// set up on every row.
template <Oid ModelType>
__attribute__((noinline)) Datum activity_score_trans_guarded(FunctionCallInfo fcinfo, ActState* st) {
    return ls::pg::guarded(fcinfo, [st](FunctionCallInfo f) { return activity_trans_general<false>(f, ModelType, st); });
}

template <Oid ModelType>
Datum activity_score_trans(FunctionCallInfo fcinfo) {
    ActState* st = arg_state(fcinfo);
    if (const Site* site = fast_site(fcinfo)) {
        if (unlikely(st == nullptr)) st = fast_new_state(fcinfo, site);
        if (likely(st != nullptr) && fast_trans(fcinfo, site, st)) PG_RETURN_POINTER(st);
    }
    return activity_score_trans_guarded<ModelType>(fcinfo, st);
}

template <bool Breakdown>
__attribute__((noinline)) Datum activity_trans_general(FunctionCallInfo fcinfo, Oid model_type, ActState* st) {
    CallSite* cs = ls::pg::call_site(fcinfo);
    Site* site = site_for(fcinfo, cs);

    // Constant as_of: checked for NULL once; every row has the same value.
    if (unlikely(!site->as_of_checked)) {
        if (PG_ARGISNULL(4)) fail(ls::ErrorCode::NullValue, std::string(agg_name(Breakdown)) + ": as_of must not be NULL");
        site->as_of_checked = site->as_of_stable;
    }
    const TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(4);

    const ls::Model* m = site->frozen;
    if (unlikely(m == nullptr || st == nullptr)) {
        if (m == nullptr) {
            if (PG_ARGISNULL(1))
                fail(ls::ErrorCode::NullValue, std::string(agg_name(Breakdown)) + ": model must not be NULL");
            m = ls::pg::model_datum(cs, model_type, PG_GETARG_DATUM(1), site->stable);
            site_use_model(fcinfo, site, m);
            if (site->stable) site->frozen = m;
        }
        if (st == nullptr) {
            MemoryContext cxt = nullptr;
            ls::pg::pg_call([&] { cxt = ls::pg::agg_context(fcinfo, agg_name(Breakdown)); });
            st = new_state(cxt, site->cur, as_of, Breakdown);
        } else if (st->shape != site->cur->shape && !same_layout(st->shape, site->cur->shape)) {
            fail(ls::ErrorCode::InvalidParameter,
                 std::string(agg_name(Breakdown)) + ": the model must be the same on every row of a group");
        }
    }
    if (!site->as_of_stable) {
        if (unlikely(PG_ARGISNULL(4)))
            fail(ls::ErrorCode::NullValue, std::string(agg_name(Breakdown)) + ": as_of must not be NULL");
        if (unlikely(as_of != st->as_of))
            fail(ls::ErrorCode::InvalidParameter,
                 std::string(agg_name(Breakdown)) + ": as_of must be the same on every row of a group");
    } else if (!Breakdown && site->frozen && !TIMESTAMP_NOT_FINITE(as_of)) {
        site->fast_as_of = as_of;
        site->fast = true;  // from the next row on
    }

    if (PG_ARGISNULL(2) || PG_ARGISNULL(3)) PG_RETURN_POINTER(st);
    // The fast path's arithmetic wherever the age is whole microseconds, so a
    // result never depends on which path a row took; the rest (ages beyond
    // int64: weight 0, or 1 without decay) in seconds.
    ls::pg::EventAge age;
    if (!ls::pg::event_age_counts(site->cur, as_of, PG_GETARG_TIMESTAMPTZ(3), &age)) PG_RETURN_POINTER(st);

    const char* tp;
    uint32 tn;
    type_bytes(PG_GETARG_DATUM(2), &tp, &tn);
    const int slot = site->cur->table.find(tp, tn);
    const double pts = ls::pg::event_age_points(site->cur, slot, age);
    st->acc[st->shape->acc_of[slot]] += pts;
    if (Breakdown) {
        st->bd->raw[slot] += pts;
        st->bd->counts[slot]++;
        if (slot == m->wildcard_slot()) {
            WildEntry* volatile e = nullptr;
            ls::pg::pg_call([&] { e = wild_slot(&st->bd->wild, ls::pg::agg_context(fcinfo, agg_name(Breakdown)), tp, tn); });
            e->count++;
            e->sum += pts;
        }
    }
    PG_RETURN_POINTER(st);
}

// ------------------------------------------------------ copy / combine
// The slot name i of a state: from its model, or its own copy.
const char* slot_name(const ActState* st, int32 i, uint32* len) {
    if (const ls::Model* m = st->shape->model) {
        *len = static_cast<uint32>(m->slots[i].size());
        return m->slots[i].data();
    }
    *len = st->bd->name_lens[i];
    return st->bd->names[i];
}

// Bitwise equality (caps may be unaligned in a serialized buffer).
bool same_shape(const Shape* a, const Shape* b) {
    return a->fingerprint == b->fingerprint && a->nslots == b->nslots && a->clamp.has_min == b->clamp.has_min &&
           a->clamp.has_max == b->clamp.has_max && memcmp(&a->clamp.min, &b->clamp.min, sizeof(double)) == 0 &&
           memcmp(&a->clamp.max, &b->clamp.max, sizeof(double)) == 0 &&
           memcmp(a->caps, b->caps, sizeof(double) * a->nslots) == 0;
}

// C style (may elog): a copy of `src`, its caps and accumulators in cxt,
// without a model.
Shape* copy_shape(MemoryContext cxt, const Shape* src) {
    Shape* d = static_cast<Shape*>(MemoryContextAlloc(cxt, sizeof(Shape)));
    *d = *src;
    d->model = nullptr;
    double* caps = static_cast<double*>(MemoryContextAlloc(cxt, sizeof(double) * src->nslots));
    memcpy(caps, src->caps, sizeof(double) * src->nslots);
    d->caps = caps;
    shape_set_acc(d, cxt);
    return d;
}

// Deep copy of `src` into cxt (combine's first state, from a deserialized one
// that lives in a per-tuple context). A shape equal to *shared (kept in
// shared_cxt, which outlives cxt) is shared instead of copied: every group of
// a model has the same one.
ActState* copy_state(MemoryContext cxt, const ActState* src, const Shape** shared, MemoryContext shared_cxt) {
    const int32 n = src->shape->nslots;
    const Size size = state_size(src->shape->nacc);
    ActState* volatile st = nullptr;
    ls::pg::pg_call([&] {
        ActState* d = static_cast<ActState*>(MemoryContextAlloc(cxt, size));
        memcpy(d, src, size);
        if (*shared == nullptr) *shared = copy_shape(shared_cxt, src->shape);
        d->shape = (src->shape == *shared || same_shape(*shared, src->shape)) ? *shared : copy_shape(cxt, src->shape);
        d->bd = nullptr;
        if (src->bd) {
            BdExtra* bd = static_cast<BdExtra*>(MemoryContextAllocZero(cxt, sizeof(BdExtra)));
            bd->raw = static_cast<double*>(MemoryContextAlloc(cxt, sizeof(double) * n));
            memcpy(bd->raw, src->bd->raw, sizeof(double) * n);
            bd->counts = static_cast<int64*>(MemoryContextAlloc(cxt, sizeof(int64) * n));
            memcpy(bd->counts, src->bd->counts, sizeof(int64) * n);
            bd->names = static_cast<char**>(MemoryContextAlloc(cxt, sizeof(char*) * n));
            bd->name_lens = static_cast<uint32*>(MemoryContextAlloc(cxt, sizeof(uint32) * n));
            for (int32 i = 0; i + 1 < n; ++i) {
                uint32 len;
                const char* p = slot_name(src, i, &len);
                bd->names[i] = static_cast<char*>(MemoryContextAlloc(cxt, len + 1));
                memcpy(bd->names[i], p, len);
                bd->names[i][len] = '\0';
                bd->name_lens[i] = len;
            }
            for (uint32 i = 0; i < src->bd->wild.cap; ++i) {
                const WildEntry& e = src->bd->wild.cells[i];
                if (!e.name) continue;
                WildEntry* x = wild_slot(&bd->wild, cxt, e.name, e.len);
                x->count = e.count;
                x->sum = e.sum;
            }
            d->bd = bd;
        }
        st = d;
    });
    return st;
}

Datum activity_combine(FunctionCallInfo fcinfo) {
    MemoryContext cxt = nullptr;
    ls::pg::pg_call([&] { cxt = ls::pg::agg_context(fcinfo, "activity_combine"); });
    ActState* a = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<ActState*>(PG_GETARG_POINTER(0));
    ActState* b = PG_ARGISNULL(1) ? nullptr : reinterpret_cast<ActState*>(PG_GETARG_POINTER(1));
    if (!b) {
        if (!a) PG_RETURN_NULL();
        PG_RETURN_POINTER(a);
    }
    if (!a) {
        FmgrInfo* fl = fcinfo->flinfo;
        if (!fl->fn_extra) {
            void* volatile p = nullptr;
            ls::pg::pg_call([&] { p = MemoryContextAllocZero(fl->fn_mcxt, sizeof(const Shape*)); });
            fl->fn_extra = p;
        }
        PG_RETURN_POINTER(copy_state(cxt, b, static_cast<const Shape**>(fl->fn_extra), fl->fn_mcxt));
    }
    const char* fn = agg_name(a->bd != nullptr);
    if ((a->bd != nullptr) != (b->bd != nullptr) || !same_layout(a->shape, b->shape))
        fail(ls::ErrorCode::InvalidParameter, std::string(fn) + ": the model must be the same on every row of a group");
    if (a->as_of != b->as_of)
        fail(ls::ErrorCode::InvalidParameter, std::string(fn) + ": as_of must be the same on every row of a group");
    for (int32 i = 0; i < a->shape->nacc; ++i) a->acc[i] += b->acc[i];
    if (a->bd) {
        const int32 n = a->shape->nslots;
        for (int32 i = 0; i < n; ++i) {
            a->bd->raw[i] += b->bd->raw[i];
            a->bd->counts[i] += b->bd->counts[i];
        }
        for (uint32 i = 0; i < b->bd->wild.cap; ++i) {
            const WildEntry& e = b->bd->wild.cells[i];
            if (!e.name) continue;
            WildEntry* volatile x = nullptr;
            ls::pg::pg_call([&] { x = wild_slot(&a->bd->wild, cxt, e.name, e.len); });
            x->count += e.count;
            x->sum += e.sum;
        }
    }
    PG_RETURN_POINTER(a);
}

// ------------------------------------------------ serialize / deserialize
// Native layout (states never leave the server), see core/state_codec.hpp:
//   u32 magic, u8 breakdown, u8 has_min, u8 has_max, u8 0, i32 nslots,
//   u64 fingerprint, i64 as_of, f64 min, f64 max, f64 caps[n], f64 acc[nacc],
//   breakdown: f64 raw[n], i64 counts[n], (u32 len, bytes) names[n-1],
//              u32 nwild, (u32 len, bytes, i64 count, f64 sum)[nwild]
struct Writer {
    char* p;
    template <typename T>
    void put(const T& v) {
        memcpy(p, &v, sizeof v);
        p += sizeof v;
    }
    void put_bytes(const void* b, size_t n) {
        memcpy(p, b, n);
        p += n;
    }
};

struct Reader {
    const char* p;
    const char* end;
    template <typename T>
    T get() {
        T v;
        need(sizeof v);
        memcpy(&v, p, sizeof v);
        p += sizeof v;
        return v;
    }
    const char* get_bytes(size_t n) {
        need(n);
        const char* r = p;
        p += n;
        return r;
    }
    void need(size_t n) const {
        if (static_cast<size_t>(end - p) < n) corrupt("truncated");
    }
    [[noreturn]] static void corrupt(const char* what) {
        fail(ls::ErrorCode::DataCorrupted, std::string("invalid serialized activity aggregate state: ") + what);
    }
};

Datum activity_serialize(FunctionCallInfo fcinfo) {
    ActState* st = reinterpret_cast<ActState*>(PG_GETARG_POINTER(0));
    const Shape* sh = st->shape;
    const int32 n = sh->nslots;
    Size size = 4 + 4 + 4 + 8 + 8 + 8 + 8 + 8 * static_cast<Size>(n) + 8 * static_cast<Size>(sh->nacc);
    if (st->bd) {
        size += 16 * static_cast<Size>(n);
        for (int32 i = 0; i + 1 < n; ++i) {
            uint32 len;
            slot_name(st, i, &len);
            size += 4 + len;
        }
        size += 4;
        for (uint32 i = 0; i < st->bd->wild.cap; ++i)
            if (st->bd->wild.cells[i].name) size += 4 + st->bd->wild.cells[i].len + 16;
    }
    bytea* volatile out = nullptr;
    ls::pg::pg_call([&] { out = static_cast<bytea*>(palloc(VARHDRSZ + size)); });
    SET_VARSIZE(out, VARHDRSZ + size);
    Writer w{VARDATA(out)};
    w.put(kStateMagic);
    w.put(static_cast<uint8>(st->bd != nullptr));
    w.put(static_cast<uint8>(sh->clamp.has_min));
    w.put(static_cast<uint8>(sh->clamp.has_max));
    w.put(static_cast<uint8>(0));
    w.put(n);
    w.put(sh->fingerprint);
    w.put(st->as_of);
    w.put(sh->clamp.min);
    w.put(sh->clamp.max);
    w.put_bytes(sh->caps, sizeof(double) * n);
    w.put_bytes(st->acc, sizeof(double) * sh->nacc);
    if (st->bd) {
        w.put_bytes(st->bd->raw, sizeof(double) * n);
        w.put_bytes(st->bd->counts, sizeof(int64) * n);
        for (int32 i = 0; i + 1 < n; ++i) {
            uint32 len;
            const char* p = slot_name(st, i, &len);
            w.put(len);
            w.put_bytes(p, len);
        }
        w.put(st->bd->wild.used);
        for (uint32 i = 0; i < st->bd->wild.cap; ++i) {
            const WildEntry& e = st->bd->wild.cells[i];
            if (!e.name) continue;
            w.put(e.len);
            w.put_bytes(e.name, e.len);
            w.put(e.count);
            w.put(e.sum);
        }
    }
    PG_RETURN_BYTEA_P(out);
}

Datum activity_deserialize(FunctionCallInfo fcinfo) {
    bytea* volatile in = nullptr;
    ls::pg::pg_call([&] { in = PG_GETARG_BYTEA_PP(0); });
    // The whole layout (magic, flags, slot count, lengths, counts, no trailing
    // bytes) is checked first by core/state_codec.hpp, which is fuzzed; the
    // reader below only copies (its get() still refuses to read past the end).
    const ls::ActivityStateInfo info =
        ls::activity_state_check(reinterpret_cast<const unsigned char*>(VARDATA_ANY(in)), VARSIZE_ANY_EXHDR(in));
    Reader r{VARDATA_ANY(in), VARDATA_ANY(in) + VARSIZE_ANY_EXHDR(in)};
    r.get<uint32>();  // magic
    const uint8 breakdown = r.get<uint8>(), has_min = r.get<uint8>(), has_max = r.get<uint8>();
    r.get<uint8>();  // padding
    const int32 n = r.get<int32>();
    // The shape: the one this call site kept (fn_mcxt) when it is the same,
    // as it is for every group of a model; else a copy with this state.
    Shape tmp{};
    tmp.clamp.has_min = has_min;
    tmp.clamp.has_max = has_max;
    tmp.nslots = n;
    tmp.nacc = info.nacc;
    tmp.fingerprint = r.get<uint64>();
    const TimestampTz as_of = r.get<int64>();
    tmp.clamp.min = r.get<double>();
    tmp.clamp.max = r.get<double>();
    tmp.caps = reinterpret_cast<const double*>(r.get_bytes(sizeof(double) * n));  // unaligned: compared/copied only
    const char* acc = r.get_bytes(sizeof(double) * tmp.nacc);
    FmgrInfo* fl = fcinfo->flinfo;
    const Shape** kept = static_cast<const Shape**>(fl->fn_extra);
    MemoryContext cxt = CurrentMemoryContext;
    ActState* volatile stv = nullptr;
    ls::pg::pg_call([&] {
        if (!kept) {
            kept = static_cast<const Shape**>(MemoryContextAllocZero(fl->fn_mcxt, sizeof(const Shape*)));
            fl->fn_extra = kept;
        }
        if (!*kept) *kept = copy_shape(fl->fn_mcxt, &tmp);
        stv = static_cast<ActState*>(MemoryContextAllocZero(cxt, state_size(tmp.nacc)));
        stv->shape = same_shape(*kept, &tmp) ? *kept : copy_shape(cxt, &tmp);
        if (breakdown) {
            stv->bd = static_cast<BdExtra*>(MemoryContextAllocZero(cxt, sizeof(BdExtra)));
            stv->bd->raw = static_cast<double*>(MemoryContextAlloc(cxt, sizeof(double) * n));
            stv->bd->counts = static_cast<int64*>(MemoryContextAlloc(cxt, sizeof(int64) * n));
            stv->bd->names = static_cast<char**>(MemoryContextAllocZero(cxt, sizeof(char*) * n));
            stv->bd->name_lens = static_cast<uint32*>(MemoryContextAllocZero(cxt, sizeof(uint32) * n));
        }
    });
    ActState* st = stv;
    st->as_of = as_of;
    memcpy(st->acc, acc, sizeof(double) * tmp.nacc);
    if (breakdown) {
        BdExtra* bd = st->bd;
        memcpy(bd->raw, r.get_bytes(sizeof(double) * n), sizeof(double) * n);
        memcpy(bd->counts, r.get_bytes(sizeof(int64) * n), sizeof(int64) * n);
        for (int32 i = 0; i + 1 < n; ++i) {
            const uint32 len = r.get<uint32>();
            const char* p = r.get_bytes(len);
            char* volatile s = nullptr;
            ls::pg::pg_call([&] { s = static_cast<char*>(MemoryContextAlloc(cxt, len + 1)); });
            memcpy(s, p, len);
            s[len] = '\0';
            bd->names[i] = s;
            bd->name_lens[i] = len;
        }
        const uint32 nwild = r.get<uint32>();
        for (uint32 k = 0; k < nwild; ++k) {
            const uint32 len = r.get<uint32>();
            const char* p = r.get_bytes(len);
            const int64 count = r.get<int64>();
            const double sum = r.get<double>();
            WildEntry* volatile e = nullptr;
            ls::pg::pg_call([&] { e = wild_slot(&bd->wild, cxt, p, len); });
            e->count += count;
            e->sum += sum;
        }
    }
    PG_RETURN_POINTER(st);
}

// --------------------------------------------------------------- finals
// The accumulators capped, summed in order, clamped. Neither throws nor
// calls PostgreSQL.
double state_total(const ActState* st) noexcept { return ls::pg::shape_total(st->shape, st->acc); }

void append_entry(std::string* out, bool* first, const char* name, uint32 len, int64 count, double raw, double capped) {
    if (!*first) out->append(", ");
    *first = false;
    ls::append_json_string(out, std::string_view(name, len));
    out->append(": {\"count\": ");
    out->append(std::to_string(count));
    out->append(", \"raw\": ");
    ls::append_json_number(out, raw);
    out->append(", \"capped\": ");
    ls::append_json_number(out, capped);
    out->append("}");
}

Datum activity_breakdown_final(FunctionCallInfo fcinfo) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    const ActState* st = reinterpret_cast<const ActState*>(PG_GETARG_POINTER(0));
    const int32 n = st->shape->nslots;
    const double total = state_total(st);
    std::string out = "{\"total\": ";
    ls::append_json_number(&out, total);
    out += ", \"types\": {";
    bool first = true;
    for (int32 s = 0; s + 1 < n; ++s) {
        if (st->bd->counts[s] == 0) continue;
        uint32 len;
        const char* name = slot_name(st, s, &len);
        const double raw = st->bd->raw[s];
        append_entry(&out, &first, name, len, st->bd->counts[s], raw, ls::cap_value(raw, st->shape->caps[s]));
    }
    for (uint32 i = 0; i < st->bd->wild.cap; ++i) {
        const WildEntry& e = st->bd->wild.cells[i];
        if (e.name) append_entry(&out, &first, e.name, e.len, e.count, e.sum, e.sum);
    }
    out += "}}";
    return ls::pg::jsonb_result(out);
}

}  // namespace

// The evicted entry's cells are reused when big enough; its shape is not
// (states of the evicted model still point to it).
void ls::pg::site_model_build(SiteModel* e, MemoryContext mcxt, const ls::Model* m) {
    const Size need = ls::SlotTable::cells_for(*m);
    ls::SlotCell* volatile cells = e->table.cells;
    Shape* volatile sh = nullptr;
    const uint64 fingerprint = ls::activity_fingerprint(*m);
    ls::pg::pg_call([&] {
        sh = static_cast<Shape*>(MemoryContextAllocZero(mcxt, sizeof(Shape)));
        if (e->ncells < need) cells = static_cast<ls::SlotCell*>(MemoryContextAlloc(mcxt, sizeof(ls::SlotCell) * need));
        sh->nslots = static_cast<int32>(m->slots.size()) + 1;
        sh->caps = m->slot_cap.data();  // the model lives until the transaction ends
        shape_set_acc(sh, mcxt);
    });
    if (e->ncells < need) e->ncells = need;
    sh->fingerprint = fingerprint;
    sh->model = m;
    sh->clamp = ls::ActivityClamp::of(m->activity.bounds);
    e->table.build(*m, cells);
    e->scorer = ls::event_scorer(*m);
    e->shape = sh;
    e->acc_of = sh->acc_of;
    e->model = m;
}

extern "C" {
PG_FUNCTION_INFO_V1(ls_activity_trans_name);
PG_FUNCTION_INFO_V1(ls_activity_trans_spec);
PG_FUNCTION_INFO_V1(ls_activity_score_final);
}
Datum ls_activity_trans_name(PG_FUNCTION_ARGS) { return activity_score_trans<TEXTOID>(fcinfo); }
Datum ls_activity_trans_spec(PG_FUNCTION_ARGS) { return activity_score_trans<JSONBOID>(fcinfo); }
// Called once per group, after the group's last row, when its state is
// usually no longer in cache: nothing but the sum (state_total cannot throw).
Datum ls_activity_score_final(PG_FUNCTION_ARGS) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    PG_RETURN_FLOAT8(state_total(reinterpret_cast<const ActState*>(PG_GETARG_POINTER(0))));
}
LS_FUNCTION(ls_activity_bd_trans_name) { return activity_trans_general<true>(fcinfo, TEXTOID, arg_state(fcinfo)); }
LS_FUNCTION(ls_activity_bd_trans_spec) { return activity_trans_general<true>(fcinfo, JSONBOID, arg_state(fcinfo)); }
LS_FUNCTION(ls_activity_combine) { return activity_combine(fcinfo); }
LS_FUNCTION(ls_activity_serialize) { return activity_serialize(fcinfo); }
LS_FUNCTION(ls_activity_deserialize) { return activity_deserialize(fcinfo); }
LS_FUNCTION(ls_activity_breakdown_final) { return activity_breakdown_final(fcinfo); }

// decay(points, occurred_at, as_of, half_life) = points * 2^(-age/half_life)
// with the aggregates' weight (ls::HalfLife), so decay() agrees bitwise with
// activity_score; 0 for a future event or an infinite timestamp.
LS_FUNCTION(ls_decay) {
    const double points = PG_GETARG_FLOAT8(0);
    const TimestampTz occurred = PG_GETARG_TIMESTAMPTZ(1), as_of = PG_GETARG_TIMESTAMPTZ(2);
    const Interval* hl = PG_GETARG_INTERVAL_P(3);
    // extract(epoch from interval): 365.25-day years, 30-day months.
    const double half_life = hl->time / 1e6 + (DAYS_PER_YEAR * SECS_PER_DAY) * (hl->month / MONTHS_PER_YEAR) +
                             (DAYS_PER_MONTH * SECS_PER_DAY) * (hl->month % MONTHS_PER_YEAR) +
                             static_cast<double>(SECS_PER_DAY) * hl->day;
    if (!(half_life > 0)) fail(ls::ErrorCode::InvalidParameter, "decay: half_life must be a positive interval");
    // A half-life's constants cost a 128-bit division: the last one is kept
    // per call site (usually the only one).
    FmgrInfo* fl = fcinfo->flinfo;
    if (fl->fn_extra == nullptr) {
        void* volatile p = nullptr;
        ls::pg::pg_call([&] { p = MemoryContextAllocZero(fl->fn_mcxt, sizeof(ls::HalfLife)); });
        fl->fn_extra = p;
    }
    ls::HalfLife* h = static_cast<ls::HalfLife*>(fl->fn_extra);
    if (h->seconds != half_life) *h = ls::HalfLife::of(half_life);
    int64 age_us;
    if (ls::pg::age_in_us(as_of, occurred, &age_us)) PG_RETURN_FLOAT8(age_us < 0 ? 0.0 : points * h->weight_us(age_us));
    const double age = ls::event_age(as_of, occurred);  // beyond int64 microseconds, or infinite (NaN)
    if (!(age >= 0)) PG_RETURN_FLOAT8(0.0);
    PG_RETURN_FLOAT8(points * h->weight(age));
}
