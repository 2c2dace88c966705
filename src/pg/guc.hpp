// Every lead_scoring.* setting, defined in one place (guc.cpp), one function
// per group. The variables are read directly by the code they steer.
#pragma once

namespace ls::pg::guc {

// lead_scoring.enable_fused_aggregate: the planner may offer the fused
// GROUP BY node of activity_score (activity_fused_plan.cpp).
extern bool enable_fused_aggregate;

// lead_scoring.log_retention (seconds): how long refresh_log keeps a model's
// rows (refresh.cpp deletes older ones).
extern int log_retention;

// lead_scoring.leaderboard_size: how many best leads refresh writes to the
// leaderboard (refresh_write.cpp).
extern int leaderboard_size;

// lead_scoring.database: the databases the background worker serves
// (worker.cpp); a comma-separated list, checked by check_database_list.
extern char* database;

// lead_scoring.naptime (seconds) between two checks for due models.
extern int naptime;

// lead_scoring.refresh_timeout (ms; 0: none): the worker's limit on one
// model's refresh.
extern int refresh_timeout;

// From _PG_init, before anything that reads a setting.
void define_gucs();

// From _PG_init, after the last setting is defined: reserving the prefix
// removes (with a WARNING) the placeholders of names not yet defined.
void reserve_prefix();

}  // namespace ls::pg::guc
