// Reading a lead's attributes (the fields its model's rules name) from a jsonb
// object or from a table row into ls::Value. These functions hold no C++
// objects, so PostgreSQL errors may pass through them; strings in the values
// borrow from the datum they were read from. Include after core/spec.hpp and
// pg/glue.hpp.
#pragma once

#include "pg/model_cache.hpp"  // ls::Model, CallSite

extern "C" {
#include "access/htup_details.h"
#include "utils/jsonb.h"
}

namespace ls {
struct Value;
}  // namespace ls

namespace ls::pg {

// A buffer of n values owned by the call site (fn_mcxt), reused across rows.
ls::Value* values_buffer(CallSite* cs, size_t n);

// values[i] = attributes[model.fields[i]] for a top-level jsonb object. A
// non-object is an ERROR 22023.
void attributes_from_jsonb(const ls::Model& m, Jsonb* jb, ls::Value* values);

// Parses text as JSON (the text overloads that let untyped literals work).
Jsonb* jsonb_from_text(text* t);

// One JSON scalar / container as a Value.
ls::Value value_from_jsonb(const JsonbValue& v);

// values from a composite datum: columns named like the fields, then the
// model's source.leads.properties jsonb column for fields that are not columns.
// The column mapping is cached per call site and row type.
void attributes_from_row(CallSite* cs, const ls::Model& m, HeapTupleHeader th, ls::Value* values);

}  // namespace ls::pg
