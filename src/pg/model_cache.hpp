// Compiled models, parsed once and cached per backend (doc/foundation.md).
//
// By name (STABLE form): looked up in lead_scoring.model once per call site and
// statement, cached per backend, dropped when any session changes a model row
// (a trigger on the table sends a relcache invalidation).
// By spec (IMMUTABLE form): keyed by the jsonb bytes.
// Include after core/spec.hpp and pg/glue.hpp.
#pragma once

extern "C" {
#include "fmgr.h"
}

namespace ls {
struct Model;
}  // namespace ls

namespace ls::pg {

// Per call site state kept in fn_extra (allocated in fn_mcxt). Functions that
// need their own per-call-site data hang it on `user`.
struct CallSite {
    const ls::Model* model = nullptr;
    uint64 epoch = 0;          // model is valid while epoch == current epoch
    bool accepted_invals = false;
    Oid model_type = InvalidOid;
    char* key = nullptr;       // last name / spec bytes seen (fn_mcxt)
    Size keylen = 0;
    Size keycap = 0;
    Datum last_datum = 0;      // pointer of the last model datum seen
    bool datum_stable = false; // the model argument is a Const/extern Param
    void* user = nullptr;
};

CallSite* call_site(FunctionCallInfo fcinfo);

// The model given by argument argno: a text name or a jsonb spec, told apart by
// the argument's declared type. Errors (unknown model, invalid spec) are thrown
// as C++ exceptions.
const ls::Model* model_arg(FunctionCallInfo fcinfo, int argno);

// Same, for a datum of a known type (TEXTOID or JSONBOID), e.g. in aggregates.
// When `stable` is true the datum pointer identifies the model for the whole
// statement and repeated calls skip every comparison.
const ls::Model* model_datum(CallSite* cs, Oid type, Datum d, bool stable);

// The model by name, for code that has only the name (refresh, evaluate).
const ls::Model* model_by_name(const char* name);

// C-style: may elog(ERROR); holds no C++ objects. The spec of model `name` as
// palloc'd text in the caller's context, or NULL when there is no such model;
// read with the current user's rights, from a fresh snapshot unless read_only.
char* model_spec_text(const char* name, bool read_only);

void model_cache_init();  // from _PG_init

}  // namespace ls::pg
