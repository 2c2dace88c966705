// Activity scoring with decay, DESIGN.md §4: the per-event arithmetic and the
// final per-type caps and clamps. The aggregate's running state is a plain array
// of per-slot sums kept by the glue in PostgreSQL memory.
#pragma once
#include "core/cpp_only.hpp"

#include "core/spec.hpp"

#include <cmath>
#include <cstdint>

namespace ls {

// Whether an event of this age (seconds) counts at all: not in the future and
// not beyond the window.
inline bool event_counts(const Model& m, double age) {
    if (!(age >= 0)) return false;
    return !m.activity.window_seconds || age <= *m.activity.window_seconds;
}

// points(t) * weight(age) for a counted event in slot s.
inline double event_points(const Model& m, int slot, double age) {
    return m.slot_points[slot] * m.activity.decay.weight(age);
}

// S_t capped per slot, summed, clamped to activity.min/max. sums has
// m.slots.size() + 1 entries (the last one is the wildcard slot, never capped).
inline double activity_total(const Model& m, const double* sums) {
    double a = 0;
    const size_t n = m.slots.size() + 1;
    for (size_t s = 0; s < n; ++s) {
        double c = m.slot_cap[s];
        double v = sums[s];
        if (v > c) v = c;
        if (v < -c) v = -c;
        a += v;
    }
    return m.activity.bounds.apply(a);
}

// One capped type: max(-c, min(c, x)).
inline double cap_value(double x, double cap) { return x > cap ? cap : (x < -cap ? -cap : x); }

}  // namespace ls
