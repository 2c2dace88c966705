#include "pg/glue.hpp"
#include "pg/fused.hpp"
#include "pg/model_cache.hpp"
#include "pg/refresh.hpp"
#include "pg/worker.hpp"

extern "C" {
#include "utils/guc.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
void _PG_init(void) {
    ls::pg::model_cache_init();
    ls::pg::refresh_init();  // lead_scoring.log_retention, lead_scoring.leaderboard_size
    ls::pg::worker_init();   // lead_scoring.database, lead_scoring.naptime, the launcher
    ls::pg::fused_init();    // lead_scoring.enable_fused_aggregate, the planner hook

    // Define every lead_scoring.* GUC above this line: reserving the prefix
    // removes (with a WARNING) the placeholders of names not yet defined.
#if PG_VERSION_NUM >= 150000
    MarkGUCPrefixReserved("lead_scoring");
#else
    EmitWarningsOnPlaceholders("lead_scoring");
#endif
}
}
