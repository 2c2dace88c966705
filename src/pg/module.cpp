#include "pg/glue.hpp"
#include "pg/model_cache.hpp"

extern "C" {
PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
void _PG_init(void) { ls::pg::model_cache_init(); }
}
