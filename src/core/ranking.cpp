#include "core/ranking.hpp"

#include "core/activity.hpp"
#include "core/error.hpp"
#include "core/qualify.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ls {

bool LeadAccumulator::event_counts_at(double age) const { return event_counts(*m, age); }

double LeadAccumulator::weight_at(double age) const { return m->activity.decay.weight(age); }

int64_t landmark_us(const Model& m, int64_t as_of_us) {
    if (m.activity.decay.kind != DecayKind::Exponential) return as_of_us;
    const double grid = m.activity.decay.seconds * 1e6 * kLandmarkHalfLives;
    // A grid wider than the whole timestamp range: one landmark at the epoch
    // (every as_of is then within kLandmarkHalfLives half-lives of it).
    if (!(grid < 9.0e18)) return 0;
    const int64_t g = std::max<int64_t>(1, static_cast<int64_t>(grid));
    int64_t q = as_of_us / g;
    if (as_of_us % g < 0) --q;  // floor, also before the epoch
    return q * g;
}

std::string incremental_blocker(const Model& m, int64_t ref_us, int64_t prev_as_of_us, int64_t as_of_us) {
    if (as_of_us < prev_as_of_us) return "as_of is earlier than the previous refresh's as_of";
    if (m.activity.decay.kind == DecayKind::Exponential && landmark_us(m, as_of_us) != ref_us)
        return "the decay landmark moved (stored sums are rebuilt every " + std::to_string(kLandmarkHalfLives) +
               " half-lives)";
    if (as_of_us == prev_as_of_us) return "";
    if (m.activity.window_seconds) return "activity.window with a changed as_of";
    switch (m.activity.decay.kind) {
        case DecayKind::None:
        case DecayKind::Exponential: return "";
        case DecayKind::Linear: return "linear decay with a changed as_of";
        case DecayKind::Step: return "step decay with a changed as_of";
    }
    return "unknown decay";
}

double rescale_factor(const Model& m, int64_t ref_us, int64_t as_of_us) {
    if (m.activity.decay.kind != DecayKind::Exponential || as_of_us == ref_us) return 1.0;
    return std::exp2(-(static_cast<double>(as_of_us - ref_us) / 1e6) / m.activity.decay.seconds);
}

std::vector<RankingRow> compute_ranking(const RankingInput& in, const std::function<void()>& interrupt) {
    const Model& m = *in.m;
    const size_t ns = m.slots.size() + 1;
    const size_t stride = state_stride(ns);
    size_t budget = kInterruptEvery;
    auto poll = [&] {
        if (interrupt && --budget == 0) {
            budget = kInterruptEvery;
            interrupt();
        }
    };
    std::vector<RankingRow> rows(in.n);
    std::vector<double> scaled(ns);
    for (size_t i = 0; i < in.n; ++i) {
        poll();
        RankingRow& r = rows[i];
        const double* s = state_sums(in.state.data(), stride, i);
        const unsigned char* f = state_flags(in.state.data(), stride, ns, i);
        for (size_t k = 0; k < ns; ++k) scaled[k] = s[k] * in.scale;
        r.fit = in.fit[i];
        r.activity = activity_total(m, scaled.data());
        r.score = total_score(m, r.fit, r.activity);
        // Only event points can get here non-finite (fit points are checked to
        // add up within float8 when the spec is parsed; event counts are not known
        // then). A NaN would also break the sort's ordering below.
        if (!std::isfinite(r.score) || !std::isfinite(r.activity) || !std::isfinite(r.fit))
            throw Error(ErrorCode::InvalidParameter,
                        "the score of a lead is not a finite number: its event points add up to more than a float8 "
                        "can hold (about 1.8e308); lower the points in $.activity.events");
        r.grade = grade_for(m, r.fit);
        r.disqualified = in.rule_dq[i] || disqualified_by_events(m, f);
        r.stage = &stage_for(m, r.score, r.fit, r.activity, f, r.disqualified);
    }

    // rank() over score desc among qualified leads; percent_rank() ascending.
    std::vector<uint32_t> order;
    order.reserve(in.n);
    for (size_t i = 0; i < in.n; ++i) {
        poll();
        if (!rows[i].disqualified) order.push_back(static_cast<uint32_t>(i));
    }
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return rows[a].score > rows[b].score; });
    const size_t q = order.size();
    if (interrupt) interrupt();
    for (size_t k = 0; k < q;) {
        // j starts past k: each step advances, whatever the comparison says.
        size_t j = k + 1;
        while (j < q && rows[order[j]].score == rows[order[k]].score) ++j;
        poll();
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
        poll();
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
        poll();
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
