#include "core/rfm.hpp"

#include <algorithm>
#include <cmath>

namespace ls {

std::vector<double> percentile_disc_breaks(std::vector<double>* values, int bins) {
    std::vector<double> out;
    const size_t n = values->size();
    if (n == 0 || bins < 2) return out;
    out.reserve(static_cast<size_t>(bins - 1));
    // Successive selections on a shrinking suffix: O(N * log b) instead of a sort.
    size_t lo = 0;
    for (int k = 1; k < bins; ++k) {
        const double frac = static_cast<double>(k) / static_cast<double>(bins);
        auto rownum = static_cast<size_t>(std::ceil(frac * static_cast<double>(n)));
        if (rownum < 1) rownum = 1;
        if (rownum > n) rownum = n;
        const size_t pos = rownum - 1;
        if (pos < lo) {  // same row as the previous cut
            out.push_back(out.back());
            continue;
        }
        std::nth_element(values->begin() + static_cast<std::ptrdiff_t>(lo), values->begin() + static_cast<std::ptrdiff_t>(pos),
                         values->end());
        out.push_back((*values)[pos]);
        lo = pos;
    }
    return out;
}

const std::vector<RfmSegment>& default_rfm_segments() {
    static const std::vector<RfmSegment> segs = [] {
        auto s = [](const char* name, int rlo, int rhi, int flo, int fhi) {
            RfmSegment x;
            x.segment = name;
            x.r_lo = rlo; x.r_hi = rhi; x.f_lo = flo; x.f_hi = fhi;
            x.m_lo = 1; x.m_hi = 5;
            return x;
        };
        return std::vector<RfmSegment>{
            s("Champions", 5, 5, 4, 5),        s("Loyal Customers", 3, 4, 4, 5), s("Potential Loyalists", 4, 5, 2, 3),
            s("New Customers", 5, 5, 1, 1),    s("Promising", 4, 4, 1, 1),       s("Need Attention", 3, 3, 3, 3),
            s("About to Sleep", 3, 3, 1, 2),   s("Can't Lose", 1, 2, 5, 5),      s("At Risk", 1, 2, 3, 4),
            s("Hibernating", 1, 2, 1, 2),
        };
    }();
    return segs;
}

RfmScore rfm_score(double recency, double frequency, double monetary, const RfmBreaks& b, const RfmSpec* spec) {
    RfmScore s;
    auto above = [](const std::vector<double>& cuts, double x) {
        int c = 0;
        for (double ck : cuts)
            if (x > ck) ++c;
        return c;
    };
    s.r = b.bins - above(b.recency, recency);
    s.f = 1 + above(b.frequency, frequency);
    s.m = 1 + above(b.monetary, monetary);
    s.code = std::to_string(s.r) + std::to_string(s.f) + std::to_string(s.m);
    const std::vector<RfmSegment>* segs = nullptr;
    if (spec && spec->has_segments) segs = &spec->segments;
    else if (b.bins == 5) segs = &default_rfm_segments();
    if (segs)
        for (const auto& g : *segs)
            if (s.r >= g.r_lo && s.r <= g.r_hi && s.f >= g.f_lo && s.f <= g.f_hi && s.m >= g.m_lo && s.m <= g.m_hi) {
                s.segment = &g.segment;
                break;
            }
    return s;
}

}  // namespace ls
