// Activity scoring with decay, DESIGN.md §4: the per-event arithmetic and the
// final per-type caps and clamps. The aggregate's running state is a plain array
// of sums (ls::activity_accumulators) kept by the glue in PostgreSQL memory.
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
// and the weight as a function of the age in whole microseconds, as the
// aggregate has it. Exponential decay with a half-life of hl_us: q = age / hl
// and rem = age % hl come from one multiply by 1/hl and a correction, and
// rem / hl as a 64-bit fraction from a 128-bit multiply by a fixed-point
// reciprocal, instead of two double divisions (age / 1e6, then by the
// half-life) whose latency the next rows waited on. Whole half-lives are
// exact (rem = 0); other ages are within 4 ulp of 2^-(age / hl).
struct EventScorer {
    const double* points;  // per slot, the model's slot_points
    int64_t window_us;     // window_limit_us
    Decay decay;
    int64_t hl_us;         // exponential half-life in us; 0: use decay.weight
    double inv_hl;         // 1 / hl_us
    uint64_t recip;        // floor((2^(64 + shift) - 1) / hl_us), in [2^63, 2^64)
    int shift;             // floor(log2(hl_us))

    // Inlined: as an exported inline member it was called through the PLT.
    __attribute__((always_inline)) double weight_us(int64_t age_us) const {  // age_us >= 0
        if (hl_us == 0) return decay.weight(static_cast<double>(age_us) / 1e6);
        uint64_t q = static_cast<uint64_t>(static_cast<double>(age_us) * inv_hl);
        if (q >= 1100) return 0;  // below 2^-1099: rounds to 0
        int64_t rem = age_us - static_cast<int64_t>(q) * hl_us;
        if (rem < 0) {
            --q;
            rem += hl_us;
        } else if (rem >= hl_us) {
            ++q;
            rem -= hl_us;
        }
        const uint64_t f = static_cast<uint64_t>((static_cast<unsigned __int128>(rem) * recip) >> shift);
        const double r = static_cast<double>(f & ((uint64_t{1} << 40) - 1)) * 0x1p-64;
        if (__builtin_expect(q >= 998, 0)) return std::ldexp(exp2_neg_parts(0, f >> 40, r), -static_cast<int>(q));
        return exp2_neg_parts(q, f >> 40, r);
    }

    // The points of an event age_us old, 0 <= age_us <= window_us.
    __attribute__((always_inline)) double points_at(int slot, int64_t age_us) const {
        return points[slot] * weight_us(age_us);
    }
};

inline EventScorer event_scorer(const Model& m) {
    EventScorer s{m.slot_points.data(), window_limit_us(m), m.activity.decay, 0, 0, 0, 0};
    const double hl = m.activity.decay.seconds * 1e6;
    if (m.activity.decay.kind == DecayKind::Exponential && hl >= 1 && hl < 0x1p52) {  // q * hl_us fits int64
        s.hl_us = std::llround(hl);
        s.inv_hl = 1.0 / static_cast<double>(s.hl_us);
        s.shift = 63 - __builtin_clzll(static_cast<uint64_t>(s.hl_us));
        const unsigned __int128 one = 1;
        s.recip = static_cast<uint64_t>(((one << (64 + s.shift)) - 1) / static_cast<uint64_t>(s.hl_us));
    }
    return s;
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
