// RFM, DESIGN.md §7: exact percentile_disc cut points and R/F/M scores.
#pragma once
#include "core/cpp_only.hpp"

#include "core/spec.hpp"

#include <string>
#include <vector>

namespace ls {

// c_k = percentile_disc(k/b) of the values, k = 1..b-1, with PostgreSQL's
// definition: the ceil(k/b * N)-th smallest value (at least the first). The
// vector is reordered (partial selection). Empty input gives an empty result.
std::vector<double> percentile_disc_breaks(std::vector<double>* values, int bins);

struct RfmScore {
    int r = 0, f = 0, m = 0;
    std::string code;
    const std::string* segment = nullptr;  // nullptr: NULL
};

struct RfmBreaks {
    int bins = 5;
    std::vector<double> recency, frequency, monetary;  // b-1 cut points each (may be empty: no data)
};

// f = 1 + #{k : frequency > c_k}, m likewise, r = b - #{k : recency > c_k}.
// segments: the spec's map when given, else the default map for b = 5.
RfmScore rfm_score(double recency, double frequency, double monetary, const RfmBreaks& breaks,
                   const RfmSpec* segments = nullptr);

// The default segment map of DESIGN.md §7 (b = 5), first match wins.
const std::vector<RfmSegment>& default_rfm_segments();

}  // namespace ls
