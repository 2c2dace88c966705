// Activity scoring with decay, doc/activity.md: the per-event arithmetic and the
// final per-type caps and clamps. The aggregate's running state is a plain array
// of sums (ls::activity_accumulators) kept by the glue in PostgreSQL memory.
#pragma once
#include "core/cpp_only.hpp"

#include "core/spec.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

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

// The largest age in microseconds, as PostgreSQL subtracts timestamps, that
// event_counts accepts once it is past the window check: the age in seconds
// is (double)us / 1e6, which grows with us, so `us <= window_limit_us(m)`
// decides exactly what `event_counts` decides for a finite, non-negative age,
// with an integer compare and before any double arithmetic. INT64_MAX without
// a window.
inline int64_t window_limit_us(const Model& m) {
    if (!m.activity.window_seconds) return INT64_MAX;
    const double w = *m.activity.window_seconds;
    if (!(w * 1e6 < 9.2e18)) return INT64_MAX;
    int64_t us = w > 0 ? static_cast<int64_t>(w * 1e6) : 0;
    while (us > 0 && static_cast<double>(us) / 1e6 > w) --us;
    while (us < INT64_MAX && static_cast<double>(us + 1) / 1e6 <= w) ++us;
    return us;
}

// What scoring one event reads from a model, flattened (no optional, no
// vector) so the aggregate's per-row path follows no pointers but `points`,
// with the age in whole microseconds, as the aggregate has it.
struct EventScorer {
    const double* points;  // per slot, the model's slot_points
    int64_t window_us;     // window_limit_us
    Decay decay;

    // The points of an event age_us old, 0 <= age_us <= window_us.
    __attribute__((always_inline)) double points_at(int slot, int64_t age_us) const {
        return points[slot] * decay.weight_us(age_us);
    }
};

inline EventScorer event_scorer(const Model& m) {
    return EventScorer{m.slot_points.data(), window_limit_us(m), m.activity.decay};
}

// One capped type: max(-c, min(c, x)).
inline double cap_value(double x, double cap) { return x > cap ? cap : (x < -cap ? -cap : x); }

// activity.min / activity.max, flattened: what an aggregate state keeps of
// them (a deserialized state has no model).
struct ActivityClamp {
    bool has_min = false, has_max = false;
    double min = 0, max = 0;
    static ActivityClamp of(const Bounds& b) {
        return ActivityClamp{b.min.has_value(), b.max.has_value(), b.min.value_or(0), b.max.value_or(0)};
    }
};

// The activity total A of doc/activity.md, the only implementation of it:
// the sums of the aggregate's accumulators (ls::activity_accumulators: one
// per capped type in slot order, then one for all uncapped types, whose cap
// is +inf), each capped, added in that order, then clamped.
inline double activity_total(const double* acc, const double* acc_caps, int32_t nacc, const ActivityClamp& cl) noexcept {
    double a = 0;
    for (int32_t k = 0; k < nacc; ++k) a += cap_value(acc[k], acc_caps[k]);
    if (cl.has_min && a < cl.min) a = cl.min;
    if (cl.has_max && a > cl.max) a = cl.max;
    return a;
}

// The same from per-slot sums (m.slots.size() + 1 entries, the wildcard
// last), folded into the accumulators first: the uncapped slots' sums are
// added up in slot order, so the result is bitwise activity_score's whenever
// at most one uncapped type of a lead has events (with several, the
// aggregate adds their events in row order instead: equal up to rounding).
inline double activity_total(const Model& m, const double* sums) {
    const size_t n = m.slots.size() + 1;
    constexpr size_t kSmall = 32;
    double acc_small[kSmall + 1], caps_small[kSmall + 1];
    std::vector<double> acc_big, caps_big;
    double* acc = acc_small;
    double* caps = caps_small;
    if (n > kSmall) {
        acc_big.resize(n + 1);
        caps_big.resize(n + 1);
        acc = acc_big.data();
        caps = caps_big.data();
    }
    int32_t k = 0;
    double shared = 0;
    for (size_t s = 0; s < n; ++s) {
        const double c = m.slot_cap[s];
        if (c == __builtin_inf()) {
            shared += sums[s];
        } else {
            acc[k] = sums[s];
            caps[k++] = c;
        }
    }
    acc[k] = shared;
    caps[k++] = __builtin_inf();
    return activity_total(acc, caps, k, ActivityClamp::of(m.activity.bounds));
}

}  // namespace ls
