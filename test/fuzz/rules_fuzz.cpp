// Rule evaluation: one fixed valid spec using every predicate, and fuzzed
// attribute values (strings with arbitrary bytes, numbers incl. NaN and
// infinities, booleans, null, missing, containers) through fit_score and
// fit_matches. Checks: no crash, the score is finite, and it equals the sum of
// the points of the rules fit_matches reports (clamped).
#include "core/fit.hpp"
#include "core/spec.hpp"

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace {

const char kSpec[] = R"({
  "fit": {"min": -1000, "max": 1000, "rules": [
    {"field": "title", "eq": "VP Sales", "points": 1},
    {"field": "title", "neq": "intern", "points": 2},
    {"field": "industry", "in": ["Software", "Ärzte", 42, true], "points": 4},
    {"field": "industry", "not_in": ["Retail", "ΣΊΣΥΦΟΣ"], "points": 8},
    {"field": "employees", "gt": 10, "points": 16},
    {"field": "employees", "gte": -1e300, "points": 32},
    {"field": "revenue", "lt": 1e6, "points": 64},
    {"field": "revenue", "lte": 0, "points": 128},
    {"field": "budget", "between": [1000, 5000], "points": 256},
    {"field": "email", "contains": "@GMAIL.", "points": -512},
    {"field": "email", "matches": "^[a-z0-9._%+-]+@(gmail|yahoo)\\.(com|de)$", "points": -1},
    {"field": "title", "matches": "(a|aa)*b|x{2,50}|\\pL+ß", "points": 3},
    {"field": "country", "exists": true, "points": 5},
    {"field": "country", "exists": false, "points": 7},
    {"field": "budget", "eq": "1e3", "points": 9},
    {"field": "employees", "eq": 50, "points": 11},
    {"field": "flag", "eq": false, "points": 13},
    {"field": "revenue", "contains": "", "points": 17}
  ]}
})";

const ls::Model& model() {
    static std::shared_ptr<const ls::Model> m = ls::parse_model(kSpec);
    return *m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ls::Model& m = model();
    FuzzedDataProvider in(data, size);
    std::vector<std::string> arena;
    arena.reserve(m.fields.size());  // Values borrow these strings: no reallocation
    std::vector<ls::Value> vals;
    for (size_t i = 0; i < m.fields.size(); ++i) vals.push_back(ls_fuzz::consume_value(in, &arena));
    double s = ls::fit_score(m, vals.data());
    if (!std::isfinite(s)) ls_fuzz::fail("fit_score is not finite");
    std::vector<int> matched;
    ls::fit_matches(m, vals.data(), &matched);
    double sum = 0;
    for (int i : matched) sum += m.fit.rules[i].points;
    if (m.fit.bounds.apply(sum) != s) ls_fuzz::fail("fit_score differs from the points of fit_matches");
    return 0;
}
