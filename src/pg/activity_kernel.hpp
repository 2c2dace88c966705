// What activity_score computes per event and per group, shared by the
// aggregate (activity.cpp) and the fused GROUP BY path (activity_fused_plan.cpp, activity_fused_exec.cpp):
// one copy of the arithmetic, so both give bitwise the same totals for the
// same rows in the same order.
// Include after core/activity.hpp, core/activity_state.hpp and pg/glue.hpp.
#pragma once

extern "C" {
#include "datatype/timestamp.h"
}

namespace ls::pg {

// What the final and combine functions need besides the accumulators, the
// same for every group of a model: shared by all states of a call site and
// model (in fn_mcxt), or owned by a deserialized state.
struct Shape {
    uint64 fingerprint;
    int32 nslots;  // model slots + 1 (wildcard last)
    int32 nacc;    // accumulators
    ls::ActivityClamp clamp;  // activity.min / max
    const double* caps;      // nslots caps (+inf: none)
    const int32* acc_of;     // nslots: slot -> accumulator
    const double* acc_caps;  // nacc: the cap of each accumulator
    const ls::Model* model;  // the slot names; nullptr in copies (transition side only)
};

// What a call site keeps per model: the shape for states, the slot table and
// the flattened per-event parameters.
struct SiteModel {
    const ls::Model* model;
    const Shape* shape;
    const int32* acc_of;  // shape->acc_of, one load nearer
    ls::SlotTable table;
    ls::EventScorer scorer;
    Size ncells;  // capacity of table.cells
};

// Fills e for m: a new shape and, unless e's cells are big enough already,
// new cells, in mcxt. Throws (PgError when out of memory).
void site_model_build(SiteModel* e, MemoryContext mcxt, const ls::Model* m);

// as_of - occurred in microseconds, when both are finite and it fits int64.
inline bool age_in_us(TimestampTz as_of, TimestampTz occurred, int64* age_us) {
    return !TIMESTAMP_NOT_FINITE(as_of) && !TIMESTAMP_NOT_FINITE(occurred) &&
           !__builtin_sub_overflow(as_of, occurred, age_us);
}

// ls::event_counts for such an age: neither in the future nor past the window.
inline bool counts_us(const ls::EventScorer& sc, int64 age_us) {
    return static_cast<uint64>(age_us) <= static_cast<uint64>(sc.window_us);
}

// Whether a text datum must be detoasted before its bytes can be read.
inline bool needs_detoast(Datum d) {
    const struct varlena* v = reinterpret_cast<const struct varlena*>(DatumGetPointer(d));
    return VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v);
}

// An event's age as scoring takes it: in whole microseconds wherever it is
// (the aggregate's fast path has only those), else in seconds (ages beyond
// int64: weight 0, or 1 without decay).
struct EventAge {
    int64 us;
    double s;
    bool whole_us;
};

// Whether the event counts at all; if so, its age in *a.
inline bool event_age_counts(const SiteModel* sm, TimestampTz as_of, TimestampTz occurred, EventAge* a) {
    a->s = 0;
    a->whole_us = age_in_us(as_of, occurred, &a->us);
    if (a->whole_us) return counts_us(sm->scorer, a->us);
    a->s = ls::event_age(as_of, occurred);
    return ls::event_counts(*sm->model, a->s);
}

// The points of a counted event of slot `slot`.
inline double event_age_points(const SiteModel* sm, int slot, const EventAge& a) {
    return a.whole_us ? sm->scorer.points_at(slot, a.us) : ls::event_points(*sm->model, slot, a.s);
}

// A group's score from its accumulators (ls::activity_total).
inline double shape_total(const Shape* sh, const double* acc) noexcept {
    return ls::activity_total(acc, sh->acc_caps, sh->nacc, sh->clamp);
}

}  // namespace ls::pg
