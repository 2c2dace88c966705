// Fit (demographic) scoring, doc/foundation.md. values[i] is the lead's value of
// model.fields[i]; the glue fills it from jsonb or from a table row.
#pragma once
#include "core/cpp_only.hpp"

#include "core/spec.hpp"
#include "core/value.hpp"

#include <vector>

namespace ls {

double fit_raw(const Model& m, const Value* values);    // sum of matched points
double fit_score(const Model& m, const Value* values);  // clamped to fit.min/max
void fit_matches(const Model& m, const Value* values, std::vector<int>* matched);

}  // namespace ls
