// The background worker (doc/worker.md): GUCs lead_scoring.database and
// lead_scoring.naptime, a launcher registered when the library is preloaded,
// and one worker per configured database that refreshes due models.
// Include after pg/glue.hpp.
#pragma once

namespace ls::pg {

// From _PG_init: defines the worker's GUCs (always, so SHOW works without
// preload) and registers the launcher when loaded by shared_preload_libraries.
void worker_init();

}  // namespace ls::pg
