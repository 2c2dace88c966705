// Qualification, doc/qualify.md: disqualification, total score, grade, stage,
// BANT and the email engagement rating.
#pragma once
#include "core/cpp_only.hpp"

#include "core/spec.hpp"
#include "core/value.hpp"

#include <cstdint>
#include <string>

namespace ls {

// has_event[s] != 0: the lead has at least one counted event (age >= 0, inside
// the window) of slot s; m.slots.size() + 1 entries. May be nullptr (no events).
using EventFlags = const unsigned char*;

// weights.fit * F + weights.activity * A, clamped to score.min/max.
double total_score(const Model& m, double fit, double activity);

// The first grade whose min_fit <= fit; nullptr when none.
const std::string* grade_for(const Model& m, double fit);

// Any disqualify rule matches the attributes (values per m.fields), or the lead
// has a counted event of a type in disqualify.events.
bool is_disqualified(const Model& m, const Value* values, EventFlags has_event);
bool disqualified_by_events(const Model& m, EventFlags has_event);

// The first stage all of whose given conditions hold, else default_stage;
// "disqualified" for a disqualified lead.
const std::string& stage_for(const Model& m, double score, double fit, double activity, EventFlags has_event,
                             bool disqualified = false);

struct BantResult {
    // -1: criterion not defined in the spec (NULL in SQL), 0/1 otherwise.
    int8_t budget = -1, authority = -1, need = -1, timeline = -1;
    int met = 0;
    bool qualified = false;
};
BantResult bant(const Model& m, const Value* values);

// 0–5 per doc/qualify.md. Throws Error(InvalidParameter) for impossible counts
// (sent <= 0, opened < 0, opened > sent) and a negative inactive_after.
// since_last_open: seconds from last_open to as_of (ignored when opened == 0).
// Returns -1 (SQL NULL) when opened > 0 but the time of the last open is
// unknown: whether the lead went quiet cannot be decided.
int engagement_rating(int64_t sent, int64_t opened, bool has_last_open, double since_last_open,
                      double inactive_after);

}  // namespace ls
