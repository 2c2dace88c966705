#include "core/qualify.hpp"

#include "core/error.hpp"

namespace ls {

double total_score(const Model& m, double fit, double activity) {
    return m.score_bounds.apply(m.weight_fit * fit + m.weight_activity * activity);
}

const std::string* grade_for(const Model& m, double fit) {
    for (const auto& g : m.grades)
        if (g.min_fit <= fit) return &g.grade;
    return nullptr;
}

bool disqualified_by_events(const Model& m, EventFlags has_event) {
    if (!has_event) return false;
    for (size_t s = 0; s < m.slots.size(); ++s)
        if (m.slot_disqualifies[s] && has_event[s]) return true;
    return false;
}

bool is_disqualified(const Model& m, const Value* values, EventFlags has_event) {
    for (const Rule& r : m.disqualify.rules)
        if (r.matches(values[r.field_index])) return true;
    return disqualified_by_events(m, has_event);
}

const std::string& stage_for(const Model& m, double score, double fit, double activity, EventFlags has_event,
                             bool disqualified) {
    static const std::string kDisqualified = "disqualified";
    if (disqualified) return kDisqualified;
    for (const auto& s : m.stages) {
        if (s.min_score && !(*s.min_score <= score)) continue;
        if (s.min_fit && !(*s.min_fit <= fit)) continue;
        if (s.min_activity && !(*s.min_activity <= activity)) continue;
        if (s.event && !(has_event && has_event[s.event_slot])) continue;
        return s.stage;
    }
    return m.default_stage;
}

BantResult bant(const Model& m, const Value* values) {
    BantResult r;
    auto eval = [&](const std::optional<Rule>& rule, int8_t* out) {
        if (!rule) return;
        *out = rule->matches(values[rule->field_index]) ? 1 : 0;
        r.met += *out;
    };
    eval(m.bant.budget, &r.budget);
    eval(m.bant.authority, &r.authority);
    eval(m.bant.need, &r.need);
    eval(m.bant.timeline, &r.timeline);
    r.qualified = r.met >= m.bant.qualify_at;
    return r;
}

int engagement_rating(int64_t sent, int64_t opened, bool has_last_open, double since_last_open,
                      double inactive_after) {
    if (sent <= 0) throw Error(ErrorCode::InvalidParameter, "engagement_rating: sent must be positive, got " + std::to_string(sent));
    if (opened < 0) throw Error(ErrorCode::InvalidParameter, "engagement_rating: opened must not be negative, got " + std::to_string(opened));
    if (opened > sent)
        throw Error(ErrorCode::InvalidParameter, "engagement_rating: opened (" + std::to_string(opened) +
                                                     ") is more than sent (" + std::to_string(sent) + ")");
    if (!(inactive_after >= 0))
        throw Error(ErrorCode::InvalidParameter, "engagement_rating: inactive_after must not be negative");
    if (opened == 0) return 0;
    if (!has_last_open) return -1;
    if (since_last_open > inactive_after) return 0;
    // r = opened / sent compared exactly in integers (5 * opened >= k * sent),
    // so that 4 of 5 is exactly 0.8 and never lands below it by rounding.
    const int64_t o5 = opened * 5;
    if (o5 >= sent * 4) return 5;
    if (o5 >= sent * 3) return 4;
    if (o5 >= sent * 2) return 3;
    if (o5 >= sent * 1) return 2;
    return 1;
}

}  // namespace ls
