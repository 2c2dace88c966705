// RFM, doc/qualify.md: exact percentile_disc cut points and R/F/M scores.
//
// Everything here is plain data (no heap-owning members) so that the glue can
// keep cut points in PostgreSQL memory (fn_extra) and results can cross into
// PostgreSQL without running destructors.
#pragma once
#include "core/cpp_only.hpp"

#include "core/spec.hpp"

#include <cstddef>
#include <vector>

namespace ls {

constexpr int kRfmMinBins = 2;
constexpr int kRfmMaxBins = 100;

// c_k = percentile_disc(k/b) of the n values, k = 1..b-1, with PostgreSQL's
// definition: the ceil((k/b) * N)-th smallest value in float8 order (at least
// the first). Writes b-1 cut points to out. The values are reordered (partial
// selection, O(N log b) instead of a sort); they must be finite. n == 0 writes
// nothing and returns false.
bool percentile_disc_breaks(double* values, size_t n, int bins, double* out);

// Convenience form for tests: empty result for no values.
std::vector<double> percentile_disc_breaks(std::vector<double>* values, int bins);

enum RfmDim : int { kRecency = 0, kFrequency = 1, kMonetary = 2 };

struct RfmBreaks {
    int bins = 5;
    bool has[3] = {false, false, false};  // false: no data for that dimension (JSON null)
    double cuts[3][kRfmMaxBins - 1] = {};  // bins-1 non-decreasing cut points each
};

struct RfmScore {
    int r = 0, f = 0, m = 0;
    char code[36] = {0};  // r, f and m written one after another (room for any three ints)
    const std::string* segment = nullptr;  // nullptr: NULL
};

// f = 1 + #{k : frequency > c_k}, m likewise, r = b - #{k : recency > c_k}.
// Segment: the spec's rfm.segments when given (its bins must equal the breaks'
// bins: checked by the caller), else the default map for b = 5, else none.
// Returns false (score undefined) when a dimension has no cut points.
bool rfm_score(double recency, double frequency, double monetary, const RfmBreaks& breaks, const RfmSpec* spec,
               RfmScore* out);

// The default segment map of doc/qualify.md (b = 5), first match wins.
const std::vector<RfmSegment>& default_rfm_segments();

}  // namespace ls
