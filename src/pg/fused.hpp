// The fused GROUP BY path of activity_score (activity_fused.cpp).
#pragma once

namespace ls::pg {

// From _PG_init: defines lead_scoring.enable_fused_aggregate and installs the
// planner hook that offers the path.
void fused_init();

}  // namespace ls::pg
