#include "core/rfm.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ls {

bool percentile_disc_breaks(double* values, size_t n, int bins, double* out) {
    if (n == 0 || bins < 2) return false;
    // Successive selections on a shrinking suffix: each cut point is the
    // rownum-th smallest value; everything left of the previous cut is smaller.
    size_t lo = 0;
    for (int k = 1; k < bins; ++k) {
        // Exactly PostgreSQL's percentile_disc: the percentile is the float8
        // k/b and rownum = ceil(percentile * N), at least 1.
        const double frac = static_cast<double>(k) / static_cast<double>(bins);
        double rn = std::ceil(frac * static_cast<double>(n));
        size_t rownum = rn < 1 ? 1 : static_cast<size_t>(rn);
        if (rownum > n) rownum = n;
        const size_t pos = rownum - 1;
        if (pos < lo) {  // same row as the previous cut (possible only for tiny N)
            out[k - 1] = out[k - 2];
            continue;
        }
        std::nth_element(values + lo, values + pos, values + n);
        out[k - 1] = values[pos];
        lo = pos;
    }
    return true;
}

std::vector<double> percentile_disc_breaks(std::vector<double>* values, int bins) {
    std::vector<double> out;
    if (values->empty() || bins < 2) return out;
    out.resize(static_cast<size_t>(bins - 1));
    percentile_disc_breaks(values->data(), values->size(), bins, out.data());
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

namespace {
// #{k : x > c_k} for non-decreasing cut points: the index of the first c >= x.
int above(const double* cuts, int n, double x) {
    return static_cast<int>(std::lower_bound(cuts, cuts + n, x) - cuts);
}
}  // namespace

bool rfm_score(double recency, double frequency, double monetary, const RfmBreaks& b, const RfmSpec* spec,
               RfmScore* s) {
    *s = RfmScore();
    if (!b.has[kRecency] || !b.has[kFrequency] || !b.has[kMonetary]) return false;
    const int nc = b.bins - 1;
    s->r = b.bins - above(b.cuts[kRecency], nc, recency);
    s->f = 1 + above(b.cuts[kFrequency], nc, frequency);
    s->m = 1 + above(b.cuts[kMonetary], nc, monetary);
    std::snprintf(s->code, sizeof s->code, "%d%d%d", s->r, s->f, s->m);
    const std::vector<RfmSegment>* segs = nullptr;
    if (spec && spec->has_segments) segs = &spec->segments;
    else if (b.bins == 5) segs = &default_rfm_segments();
    if (segs)
        for (const auto& g : *segs)
            if (s->r >= g.r_lo && s->r <= g.r_hi && s->f >= g.f_lo && s->f <= g.f_hi && s->m >= g.m_lo &&
                s->m <= g.m_hi) {
                s->segment = &g.segment;
                break;
            }
    return true;
}

}  // namespace ls
