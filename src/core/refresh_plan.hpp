// What a refresh has to do (doc/rank.md, "Ticks" and "What a refresh does"):
// the tick arithmetic and the choice between an idle, an incremental and a
// full refresh, as pure functions of plain facts the glue gathers.
#pragma once
#include "core/cpp_only.hpp"

#include "core/spec.hpp"

#include <cstdint>
#include <string>

namespace ls {

// 1970-01-01 00:00 UTC in PostgreSQL's microseconds (since 2000-01-01), the
// origin ticks are counted from.
constexpr int64_t kUnixEpochPgUs = -946684800LL * 1000000;

// date_bin(tick, t, origin): the start of the tick containing t (floored, also
// before the origin). tick_us > 0.
int64_t tick_start_us(int64_t t_us, int64_t tick_us, int64_t origin_us = kUnixEpochPgUs);

// The time a source row counts at, given the refresh's tick_start: rows in
// (tick_start, as_of] count as if at tick_start (the caller skips rows after as_of).
inline int64_t effective_time_us(int64_t t_us, int64_t tick_us) { return t_us > tick_us ? tick_us : t_us; }

// Whether a new tick can be scored from the stored per-lead state (sums
// weighted at a landmark and rescaled; flags that do not depend on the clock)
// instead of from every lead's events: exponential or no decay, no window.
bool rescorable_from_state(const Model& m);

struct RefreshFacts {
    bool want_full = false;       // refresh(..., full => true)
    bool has_prev = false;        // a refresh_state row exists
    bool prev_v2 = false;         // ... written by a v2 refresh (it has a tick_start)
    bool same_spec = false, same_sources = false, same_target = false;
    bool target_created = false;  // created or migrated by this refresh
    bool prev_capture = false;    // the triggers were in place at the previous refresh
    std::string capture;          // "" triggers in place; else why not (installed now, or unavailable)
    bool state_ok = false;        // the per-lead state table is the one refresh_state names
    int64_t prev_as_of = 0, as_of = 0;
    int64_t prev_tick = 0, tick = 0;  // tick starts
    int64_t prev_ref = 0, ref = 0;    // decay landmarks (landmark_us at the tick)
    bool changes_pending = false;     // change_log has rows of the model
    bool due = false;                 // some source row became due (next_due <= as_of)
    bool truncated = false;           // a source table was truncated (known after the consume)
};

enum class RefreshMode { Idle, Incremental, Full };

struct RefreshPlan {
    RefreshMode mode = RefreshMode::Full;
    // Incremental only: every lead is rescored (a new tick) rather than only
    // the changed ones.
    bool all_leads = false;
    std::string reason;  // why Full (empty otherwise)
};

RefreshPlan plan_refresh(const Model& m, const RefreshFacts& f);

}  // namespace ls
