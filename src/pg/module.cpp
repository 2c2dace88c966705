#include "pg/glue.hpp"
#include "pg/model_cache.hpp"

namespace ls::pg {
void refresh_init();  // src/pg/refresh.cpp: its GUCs
}

extern "C" {
PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
void _PG_init(void) {
    ls::pg::model_cache_init();
    ls::pg::refresh_init();
}
}
