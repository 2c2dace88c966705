// The lead_scoring.* settings: one function per group, each defining the
// settings of one part of the extension, all called by define_gucs() from
// _PG_init. A setting's variable lives here; its meaning is documented on the
// page of the part it steers.
//
// Error boundary: plain C, no C++ objects (only DefineCustom*Variable, at
// library load).
#include "pg/glue.hpp"
#include "pg/guc.hpp"
#include "pg/worker.hpp"

#include <climits>

extern "C" {
#include "utils/guc.h"
}

namespace ls::pg::guc {

bool enable_fused_aggregate = true;
int log_retention = 30 * 86400;
int leaderboard_size = 100;
char* database = nullptr;
int naptime = 60;
int refresh_timeout = 5 * 60 * 1000;

namespace {

// The planner: the fused GROUP BY node of activity_score.
void define_planner_gucs() {
    DefineCustomBoolVariable("lead_scoring.enable_fused_aggregate",
                             "Lets the planner run GROUP BY with activity_score as one fused node (doc/activity.md, fused GROUP BY node).",
                             nullptr, &enable_fused_aggregate, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

// Refresh (doc/rank.md): its log and the leaderboard.
void define_refresh_gucs() {
    DefineCustomIntVariable("lead_scoring.log_retention",
                            "How long lead_scoring.refresh_log keeps rows (each refresh deletes its model's older rows).",
                            nullptr, &log_retention, 30 * 86400, 0, INT_MAX, PGC_USERSET, GUC_UNIT_S, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable("lead_scoring.leaderboard_size",
                            "How many of each model's best leads refresh writes to lead_scoring.leaderboard.", nullptr,
                            &leaderboard_size, 100, 0, 100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

// The background worker (doc/worker.md). Read by the launcher and the workers;
// defined in every backend that loads the library, so SHOW and SET work there too.
void define_worker_gucs() {
    DefineCustomStringVariable(
        "lead_scoring.database",
        "Databases in which the lead_scoring background worker refreshes due models.",
        "A comma-separated list of database names; empty: none. Needs shared_preload_libraries = "
        "'lead_scoring'.",
        &database, "", PGC_SIGHUP, GUC_LIST_INPUT, check_database_list, nullptr, nullptr);
    DefineCustomIntVariable(
        "lead_scoring.naptime",
        "Time between two checks for due models by the lead_scoring background worker.", nullptr,
        &naptime, 60, 1, INT_MAX / 1000, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "lead_scoring.refresh_timeout",
        "Time limit of one model's refresh by the lead_scoring background worker.",
        "A model's own lead_scoring.model.refresh_timeout overrides it; 0: no limit. A refresh over its limit "
        "is canceled and logged as failed, and the worker goes on with the other models.",
        &refresh_timeout, 5 * 60 * 1000, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
}

}  // namespace

void define_gucs() {
    define_planner_gucs();
    define_refresh_gucs();
    define_worker_gucs();
}

void reserve_prefix() { MarkGUCPrefixReserved("lead_scoring"); }

}  // namespace ls::pg::guc
