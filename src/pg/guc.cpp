// The lead_scoring.* settings: one function per group, each defining the
// settings of one part of the extension, all called by define_gucs() from
// _PG_init. A setting's variable lives here; its meaning is documented on the
// page of the part it steers.
//
// Error boundary: plain C, no C++ objects (only DefineCustom*Variable, at
// library load).
#include "pg/glue.hpp"
#include "pg/guc.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace ls::pg::guc {

bool enable_fused_aggregate = true;

namespace {

// The planner: the fused GROUP BY node of activity_score.
void define_planner_gucs() {
    DefineCustomBoolVariable("lead_scoring.enable_fused_aggregate",
                             "Lets the planner run GROUP BY with activity_score as one fused node (doc/activity.md, fused GROUP BY node).",
                             nullptr, &enable_fused_aggregate, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

}  // namespace

void define_gucs() { define_planner_gucs(); }

void reserve_prefix() { MarkGUCPrefixReserved("lead_scoring"); }

}  // namespace ls::pg::guc
