// Change capture (src/pg/capture.cpp): the trigger function that feeds
// lead_scoring.change_log, and what refresh needs of it.
#pragma once

#include <string>

extern "C" {
#include "postgres.h"
}

namespace ls::pg {

// The role that owns the extension's objects (the owner of
// lead_scoring.change_log), cached per backend.
Oid extension_owner();

// Drops change-capture triggers that no model maps any more: those of `model`
// (every model when nullptr) whose model was deleted, renamed or no longer
// names their table. Runs the DDL as the extension owner. Returns how many it
// dropped.
int drop_stale_capture(const char* model);

// Empty when model `model` maps relation `relid` with lead-id column `column`
// (so a capture trigger with those arguments is one refresh would install);
// else why not.
std::string capture_mismatch(Oid relid, const char* model, const char* column);

}  // namespace ls::pg
