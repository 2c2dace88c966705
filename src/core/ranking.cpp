#include "core/ranking.hpp"

#include "core/activity.hpp"
#include "core/qualify.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ls {

bool LeadAccumulator::event_counts_at(double age) const { return event_counts(*m, age); }

double LeadAccumulator::weight_at(double age) const { return m->activity.decay.weight(age); }

std::string incremental_blocker(const Model& m, double ref, double prev_as_of, double as_of) {
    if (as_of < prev_as_of) return "as_of is earlier than the previous refresh's as_of";
    if (as_of == ref) return "";
    if (m.activity.window_seconds) return "activity.window with a changed as_of";
    switch (m.activity.decay.kind) {
        case DecayKind::None:
        case DecayKind::Exponential: return "";
        case DecayKind::Linear: return "linear decay with a changed as_of";
        case DecayKind::Step: return "step decay with a changed as_of";
    }
    return "unknown decay";
}

double rescale_factor(const Model& m, double ref, double as_of) {
    if (m.activity.decay.kind != DecayKind::Exponential || as_of == ref) return 1.0;
    return std::exp2(-(as_of - ref) / m.activity.decay.seconds);
}

std::vector<RankingRow> compute_ranking(const RankingInput& in) {
    const Model& m = *in.m;
    const size_t ns = m.slots.size() + 1;
    const size_t stride = state_stride(ns);
    std::vector<RankingRow> rows(in.n);
    std::vector<double> scaled(ns);
    for (size_t i = 0; i < in.n; ++i) {
        RankingRow& r = rows[i];
        const double* s = state_sums(in.state.data(), stride, i);
        const unsigned char* f = state_flags(in.state.data(), stride, ns, i);
        for (size_t k = 0; k < ns; ++k) scaled[k] = s[k] * in.scale;
        r.fit = in.fit[i];
        r.activity = activity_total(m, scaled.data());
        r.score = total_score(m, r.fit, r.activity);
        r.grade = grade_for(m, r.fit);
        r.disqualified = in.rule_dq[i] || disqualified_by_events(m, f);
        r.stage = &stage_for(m, r.score, r.fit, r.activity, f, r.disqualified);
    }

    // rank() over score desc among qualified leads; percent_rank() ascending.
    std::vector<uint32_t> order;
    order.reserve(in.n);
    for (size_t i = 0; i < in.n; ++i)
        if (!rows[i].disqualified) order.push_back(static_cast<uint32_t>(i));
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return rows[a].score > rows[b].score; });
    const size_t q = order.size();
    for (size_t k = 0; k < q;) {
        size_t j = k;
        while (j < q && rows[order[j]].score == rows[order[k]].score) ++j;
        // Leads k..j-1 tie: rank k+1; strictly lower scores: q - j.
        const double pct = q > 1 ? static_cast<double>(q - j) / static_cast<double>(q - 1) : 0.0;
        for (size_t t = k; t < j; ++t) {
            rows[order[t]].rank = static_cast<int64_t>(k + 1);
            rows[order[t]].percentile = pct;
        }
        k = j;
    }

    // RFM: global breaks over every lead with orders.
    RfmBreaks br;
    br.bins = m.rfm.bins;
    std::vector<double> vr, vf, vm;
    for (size_t i = 0; i < in.n; ++i) {
        if (!in.has_orders[i]) continue;
        vr.push_back(in.recency_days[i]);
        vf.push_back(in.frequency[i]);
        if (!std::isnan(in.monetary[i])) vm.push_back(in.monetary[i]);
    }
    if (vr.empty()) return rows;
    br.has[kRecency] = percentile_disc_breaks(vr.data(), vr.size(), br.bins, br.cuts[kRecency]);
    br.has[kFrequency] = percentile_disc_breaks(vf.data(), vf.size(), br.bins, br.cuts[kFrequency]);
    br.has[kMonetary] = percentile_disc_breaks(vm.data(), vm.size(), br.bins, br.cuts[kMonetary]);
    const RfmSpec* seg = m.rfm.has_segments ? &m.rfm : nullptr;
    for (size_t i = 0; i < in.n; ++i) {
        if (!in.has_orders[i]) continue;
        // Same rule as lead_scoring.rfm(): no cut points in a dimension (e.g. no
        // order has an amount) leaves the code NULL.
        RfmScore sc;
        if (!rfm_score(in.recency_days[i], in.frequency[i], in.monetary[i], br, seg, &sc)) continue;
        rows[i].rfm_code = sc.code;
        rows[i].rfm_segment = sc.segment;
    }
    return rows;
}

}  // namespace ls
