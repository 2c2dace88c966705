// The library's entry point: defines the settings, registers the caches, the
// background worker and the planner hook, in that order.
//
// Error boundary: plain C, no C++ objects (runs once, at library load).
#include "pg/glue.hpp"
#include "pg/fused.hpp"
#include "pg/guc.hpp"
#include "pg/model_cache.hpp"
#include "pg/worker.hpp"

extern "C" {
PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
void _PG_init(void) {
    ls::pg::guc::define_gucs();
    ls::pg::model_cache_init();
    ls::pg::worker_init();   // the launcher
    ls::pg::fused_init();    // the planner hook
    ls::pg::guc::reserve_prefix();
}
}
