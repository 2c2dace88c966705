#include "core/refresh_plan.hpp"

#include "core/ranking.hpp"

namespace ls {

int64_t tick_start_us(int64_t t_us, int64_t tick_us, int64_t origin_us) {
    // In unsigned arithmetic the difference cannot overflow; floor division.
    const uint64_t diff = static_cast<uint64_t>(t_us) - static_cast<uint64_t>(origin_us);
    const bool neg = t_us < origin_us;
    const uint64_t mag = neg ? (0 - diff) : diff;
    const uint64_t step = static_cast<uint64_t>(tick_us);
    uint64_t q = mag / step;
    if (neg && mag % step) ++q;
    const uint64_t off = q * step;
    return static_cast<int64_t>(neg ? static_cast<uint64_t>(origin_us) - off : static_cast<uint64_t>(origin_us) + off);
}

bool rescorable_from_state(const Model& m) {
    if (m.activity.window_seconds) return false;
    return m.activity.decay.kind == DecayKind::None || m.activity.decay.kind == DecayKind::Exponential;
}

RefreshPlan plan_refresh(const Model& m, const RefreshFacts& f) {
    RefreshPlan p;
    auto full = [&](std::string why) {
        p.mode = RefreshMode::Full;
        p.reason = std::move(why);
        return p;
    };
    if (f.want_full) return full("full refresh requested");
    if (!f.has_prev) return full("first refresh");
    if (!f.prev_v2) return full("first refresh since the update to rankings v2");
    if (!f.same_spec) return full("model spec changed");
    if (!f.same_sources) return full("sources changed");
    if (!f.same_target || f.target_created) return full("target table changed");
    if (!f.prev_capture) return full(f.capture.empty() ? "change capture was unavailable at the previous refresh" : f.capture);
    if (!f.capture.empty()) return full(f.capture);
    if (!f.state_ok) return full("state table missing");
    if (f.as_of < f.prev_as_of) return full("as_of is earlier than the previous refresh's as_of");
    if (f.truncated) return full("a source table was truncated");
    if (f.tick != f.prev_tick) {
        if (!rescorable_from_state(m)) {
            if (m.activity.window_seconds) return full("new tick: activity.window is re-evaluated from the events");
            return full(m.activity.decay.kind == DecayKind::Linear ? "new tick: linear decay is recomputed from the events"
                                                                   : "new tick: step decay is recomputed from the events");
        }
        if (f.ref != f.prev_ref)
            return full("the decay landmark moved (stored sums are rebuilt every " + std::to_string(kLandmarkHalfLives) +
                        " half-lives)");
        p.mode = RefreshMode::Incremental;
        p.all_leads = true;
        return p;
    }
    if (f.ref != f.prev_ref) return full("the decay landmark moved");
    p.mode = (f.changes_pending || f.due) ? RefreshMode::Incremental : RefreshMode::Idle;
    return p;
}

}  // namespace ls
