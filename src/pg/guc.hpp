// Every lead_scoring.* setting, defined in one place (guc.cpp), one function
// per group. The variables are read directly by the code they steer.
#pragma once

namespace ls::pg::guc {

// lead_scoring.enable_fused_aggregate: the planner may offer the fused
// GROUP BY node of activity_score (activity_fused_plan.cpp).
extern bool enable_fused_aggregate;

// From _PG_init, before anything that reads a setting.
void define_gucs();

// From _PG_init, after the last setting is defined: reserving the prefix
// removes (with a WARNING) the placeholders of names not yet defined.
void reserve_prefix();

}  // namespace ls::pg::guc
