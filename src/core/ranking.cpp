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

double rescale_factor(const Model& m, int64_t ref_us, int64_t as_of_us) {
    if (m.activity.decay.kind != DecayKind::Exponential || as_of_us == ref_us) return 1.0;
    // The one exponential weight (core/spec.hpp); the landmark is never after
    // the instant scored, so the age is not negative.
    const int64_t age_us = as_of_us - ref_us;
    if (age_us < 0) return 1.0 / m.activity.decay.half_life.weight_us(-age_us);
    return m.activity.decay.half_life.weight_us(age_us);
}

RankingRow score_row(const RankingInput& in, size_t i) {
    const Model& m = *in.m;
    const size_t ns = m.slots.size() + 1;
    const size_t stride = state_stride(ns);
    double scaled[64];
    std::vector<double> big;
    double* sc = scaled;
    if (ns > 64) {
        big.resize(ns);
        sc = big.data();
    }
    RankingRow r;
    const double* s = state_sums(in.state.data(), stride, i);
    const unsigned char* f = state_flags(in.state.data(), stride, ns, i);
    for (size_t k = 0; k < ns; ++k) sc[k] = s[k] * in.scale;
    r.fit = in.fit[i];
    r.activity = activity_total(m, sc);
    r.score = total_score(m, r.fit, r.activity);
    // Only event points can get here non-finite (fit points are checked to
    // add up within float8 when the spec is parsed; event counts are not known
    // then).
    if (!std::isfinite(r.score) || !std::isfinite(r.activity) || !std::isfinite(r.fit))
        throw Error(ErrorCode::InvalidParameter,
                    "the score of a lead is not a finite number: its event points add up to more than a float8 "
                    "can hold (about 1.8e308); lower the points in $.activity.events");
    r.grade = grade_for(m, r.fit);
    r.disqualified = in.rule_dq[i] || disqualified_by_events(m, f);
    r.stage = &stage_for(m, r.score, r.fit, r.activity, f, r.disqualified);
    return r;
}

bool rfm_breaks_of(const RankingInput& in, RfmBreaks* br) {
    br->bins = in.m->rfm.bins;
    std::vector<double> vr, vf, vm;
    for (size_t i = 0; i < in.n; ++i) {
        if (!in.has_orders[i]) continue;
        vr.push_back(in.recency_days[i]);
        vf.push_back(in.frequency[i]);
        if (!std::isnan(in.monetary[i])) vm.push_back(in.monetary[i]);
    }
    if (vr.empty()) return false;
    br->has[kRecency] = percentile_disc_breaks(vr.data(), vr.size(), br->bins, br->cuts[kRecency]);
    br->has[kFrequency] = percentile_disc_breaks(vf.data(), vf.size(), br->bins, br->cuts[kFrequency]);
    br->has[kMonetary] = percentile_disc_breaks(vm.data(), vm.size(), br->bins, br->cuts[kMonetary]);
    return true;
}

void apply_rfm(const Model& m, const RfmBreaks& br, double recency_days, double frequency, double monetary,
               RankingRow* r) {
    const RfmSpec* seg = m.rfm.has_segments ? &m.rfm : nullptr;
    RfmScore sc;
    r->rfm_code.clear();
    r->rfm_segment = nullptr;
    if (!rfm_score(recency_days, frequency, monetary, br, seg, &sc)) return;
    r->rfm_code = sc.code;
    r->rfm_segment = sc.segment;
}

std::vector<double> encode_breaks(const RfmBreaks* br) {
    std::vector<double> v;
    if (!br) return v;
    v.push_back(br->bins);
    for (int d = 0; d < 3; ++d) {
        v.push_back(br->has[d] ? 1 : 0);
        for (int k = 0; k < br->bins - 1; ++k) v.push_back(br->has[d] ? br->cuts[d][k] : 0.0);
    }
    return v;
}

bool decode_breaks(const std::vector<double>& v, RfmBreaks* br) {
    if (v.empty()) return false;
    const double b = v[0];
    if (!(b >= kRfmMinBins && b <= kRfmMaxBins)) return false;
    br->bins = static_cast<int>(b);
    if (v.size() != 1 + 3 * static_cast<size_t>(br->bins)) return false;
    size_t at = 1;
    for (int d = 0; d < 3; ++d) {
        br->has[d] = v[at++] != 0;
        for (int k = 0; k < br->bins - 1; ++k) br->cuts[d][k] = v[at++];
    }
    return true;
}

std::vector<RankingRow> compute_ranking(const RankingInput& in, const std::function<void()>& interrupt) {
    size_t budget = kInterruptEvery;
    auto poll = [&] {
        if (interrupt && --budget == 0) {
            budget = kInterruptEvery;
            interrupt();
        }
    };
    std::vector<RankingRow> rows(in.n);
    for (size_t i = 0; i < in.n; ++i) {
        poll();
        rows[i] = score_row(in, i);
    }
    RfmBreaks br;
    if (!rfm_breaks_of(in, &br)) return rows;
    if (interrupt) interrupt();
    for (size_t i = 0; i < in.n; ++i) {
        poll();
        if (in.has_orders[i]) apply_rfm(*in.m, br, in.recency_days[i], in.frequency[i], in.monetary[i], &rows[i]);
    }
    return rows;
}

}  // namespace ls
