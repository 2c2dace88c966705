// The background worker (doc/worker.md): a launcher registered when the
// library is preloaded, and one worker per configured database that refreshes
// due models. Its settings (lead_scoring.database, naptime, refresh_timeout)
// are defined in guc.cpp.
// Include after pg/glue.hpp.
#pragma once

extern "C" {
#include "utils/guc.h"
}

namespace ls::pg {

// lead_scoring.database's check hook: a valid list of at most 64 names.
bool check_database_list(char** newval, void** extra, GucSource source);

// From _PG_init, after the settings are defined: registers the launcher when
// loaded by shared_preload_libraries.
void worker_init();

}  // namespace ls::pg
