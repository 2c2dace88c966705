// The fused GROUP BY path of activity_score (activity_fused_plan.cpp).
#pragma once

namespace ls::pg {

// From _PG_init: registers the node and installs the planner hook that
// offers it (lead_scoring.enable_fused_aggregate, pg/guc.hpp, turns it off).
void fused_init();

}  // namespace ls::pg
