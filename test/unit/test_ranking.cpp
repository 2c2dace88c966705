// Rankings (core/ranking.hpp): per-lead rows, exponential rescaling equal to
// direct evaluation, landmarks, RFM cut points kept between refreshes.
#include "core/error.hpp"
#include "core/ranking.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace {

std::shared_ptr<const ls::Model> model(const char* decay) {
    std::string spec = std::string(R"({"activity": {"events": {"view": {"points": 1, "cap": 3}, "demo": {"points": 20}},
        "decay": )") + decay + R"(}, "disqualify": {"events": ["complaint"]},
        "stages": [{"stage": "SQL", "min_score": 20, "event": "demo"}]})";
    return ls::parse_model(spec);
}

ls::RankingInput input(const ls::Model& m, size_t n) {
    ls::RankingInput in;
    in.m = &m;
    in.n = n;
    const size_t ns = m.slots.size() + 1;
    in.fit.assign(n, 0);
    in.rule_dq.assign(n, 0);
    in.state.assign(n * ls::state_stride(ns), 0);
    in.has_orders.assign(n, 0);
    in.recency_days.assign(n, 0);
    in.frequency.assign(n, 0);
    in.monetary.assign(n, 0);
    return in;
}

TEST(Ranking, RowsWithoutRank) {
    auto m = model(R"({"kind": "none"})");
    auto in = input(*m, 3);
    in.fit = {10, 30, 50};
    in.rule_dq[2] = 1;
    auto rows = ls::compute_ranking(in);
    EXPECT_DOUBLE_EQ(rows[1].score, 30);
    EXPECT_FALSE(rows[1].disqualified);
    EXPECT_TRUE(rows[2].disqualified);
    EXPECT_EQ(*rows[2].stage, "disqualified");
    EXPECT_TRUE(rows[0].rfm_code.empty());
}

TEST(Ranking, BreaksRoundTripAndApply) {
    auto m = model(R"({"kind": "none"})");
    auto in = input(*m, 6);
    for (size_t i = 0; i < 5; ++i) {
        in.has_orders[i] = 1;
        in.recency_days[i] = 10.0 * i;
        in.frequency[i] = 1 + i;
        in.monetary[i] = 100.0 * (5 - i);
    }
    ls::RfmBreaks br;
    ASSERT_TRUE(ls::rfm_breaks_of(in, &br));
    std::vector<double> v = ls::encode_breaks(&br);
    ls::RfmBreaks back;
    ASSERT_TRUE(ls::decode_breaks(v, &back));
    EXPECT_EQ(back.bins, 5);
    for (int d = 0; d < 3; ++d) {
        EXPECT_EQ(back.has[d], br.has[d]);
        for (int k = 0; k < 4; ++k) EXPECT_EQ(back.cuts[d][k], br.cuts[d][k]);
    }
    EXPECT_FALSE(ls::decode_breaks({}, &back));
    EXPECT_FALSE(ls::decode_breaks({5, 1}, &back));
    auto rows = ls::compute_ranking(in);
    ls::RankingRow r;
    ls::apply_rfm(*m, back, in.recency_days[0], in.frequency[0], in.monetary[0], &r);
    EXPECT_EQ(r.rfm_code, rows[0].rfm_code);
    EXPECT_EQ(rows[0].rfm_code, "515");  // most recent, fewest orders, largest amount
    EXPECT_TRUE(rows[5].rfm_code.empty());
}

TEST(Ranking, DisqualifyingEventAndStageEvent) {
    auto m = model(R"({"kind": "none"})");
    auto in = input(*m, 2);
    const size_t ns = m->slots.size() + 1, st = ls::state_stride(ns);
    const int demo = m->slot_for("demo"), complaint = m->slot_for("complaint");
    ls::state_sums(in.state.data(), st, 0)[demo] = 20;
    ls::state_flags(in.state.data(), st, ns, 0)[demo] = 1;
    ls::state_flags(in.state.data(), st, ns, 1)[complaint] = 1;
    auto rows = ls::compute_ranking(in);
    EXPECT_EQ(*rows[0].stage, "SQL");
    EXPECT_TRUE(rows[1].disqualified);
}

TEST(Ranking, ExponentialRescaleEqualsDirectEvaluation) {
    auto m = model(R"({"kind": "exponential", "half_life": "30 days"})");
    const int view = m->slot_for("view");
    const double day = 86400, ref = 1000 * day, as_of = ref + 17.5 * day;
    const double times[] = {ref - 3 * day, ref - 40 * day, ref + 2 * day, ref - 0.5 * day};
    // stored at ref (the event after ref has weight > 1), then rescaled
    std::vector<double> sums(m->slots.size() + 1, 0), direct(sums.size(), 0);
    std::vector<unsigned char> flags(sums.size(), 0), f2(sums.size(), 0);
    ls::LeadAccumulator at_ref{m.get(), sums.data(), flags.data()};
    ls::LeadAccumulator now{m.get(), direct.data(), f2.data()};
    for (double t : times) {
        at_ref.add(view, as_of - t, ref - t);
        now.add(view, as_of - t, as_of - t);
    }
    const double k = ls::rescale_factor(*m, static_cast<int64_t>(ref * 1e6), static_cast<int64_t>(as_of * 1e6));
    EXPECT_NEAR(sums[view] * k, direct[view], 1e-12 * direct[view]);
    // the cap applies after scaling: 4 views ~ 2.6 < cap 3 here
    auto in = input(*m, 1);
    const size_t ns = sums.size();
    std::copy(sums.begin(), sums.end(), ls::state_sums(in.state.data(), ls::state_stride(ns), 0));
    std::copy(flags.begin(), flags.end(), ls::state_flags(in.state.data(), ls::state_stride(ns), ns, 0));
    in.scale = k;
    auto rows = ls::compute_ranking(in);
    EXPECT_NEAR(rows[0].activity, std::min(3.0, direct[view]), 1e-12);
}

TEST(Ranking, Landmarks) {
    auto none = model(R"({"kind": "none"})");
    auto expo = model(R"({"kind": "exponential", "half_life": "30 days"})");
    const int64_t day = 86400LL * 1000000;
    const int64_t grid = 64 * 30 * day;  // kLandmarkHalfLives half-lives
    EXPECT_EQ(ls::landmark_us(*expo, 10 * day), 0);
    EXPECT_EQ(ls::landmark_us(*expo, grid + 5), grid);
    EXPECT_EQ(ls::landmark_us(*expo, -5), -grid);  // floor before the epoch
    EXPECT_EQ(ls::landmark_us(*none, 12345), 12345);
    EXPECT_EQ(ls::rescale_factor(*none, 10, 1000000000000LL), 1.0);
    // a huge half-life: one landmark at the epoch
    auto slow = model(R"({"kind": "exponential", "half_life": "100000 years"})");
    EXPECT_EQ(ls::landmark_us(*slow, 9000000000000000000LL), 0);
}

// Within one landmark cell every stored weight and the rescale factor stay in
// 2^[-64, 64]: after 1,100 half-lives (the old scheme's weights overflowed to
// Infinity and the factor underflowed to 0, Infinity * 0 = NaN) the sums of a
// lead are finite and equal the direct evaluation.
TEST(Ranking, LandmarkKeepsWeightsFinite) {
    auto m = model(R"({"kind": "exponential", "half_life": "1 hour"})");
    const int view = m->slot_for("view");
    const int64_t hour = 3600LL * 1000000;
    const int64_t as_of = 1100 * hour + 1234567;
    const int64_t ref = ls::landmark_us(*m, as_of);
    EXPECT_LE(as_of - ref, 64 * hour);
    const double k = ls::rescale_factor(*m, ref, as_of);
    EXPECT_GE(k, std::ldexp(1.0, -64));
    std::vector<double> sums(m->slots.size() + 1, 0), direct(sums.size(), 0);
    std::vector<unsigned char> flags(sums.size(), 0), f2(sums.size(), 0);
    ls::LeadAccumulator at_ref{m.get(), sums.data(), flags.data()};
    ls::LeadAccumulator now{m.get(), direct.data(), f2.data()};
    for (int64_t t : {as_of - 10, as_of - 3 * hour, ref + 1, ref - 2 * hour}) {
        at_ref.add(view, static_cast<double>(as_of - t) / 1e6, static_cast<double>(ref - t) / 1e6);
        now.add(view, static_cast<double>(as_of - t) / 1e6, static_cast<double>(as_of - t) / 1e6);
    }
    EXPECT_TRUE(std::isfinite(sums[view]));
    EXPECT_NEAR(sums[view] * k, direct[view], 1e-12 * direct[view]);
}

// NaN scores (from event points whose sums overflow) are an error, never a hang
// in the tie loop or a broken sort.
TEST(Ranking, NonFiniteScoreIsAnError) {
    auto m = model(R"({"kind": "none"})");
    auto in = input(*m, 3);
    const size_t ns = m->slots.size() + 1, st = ls::state_stride(ns);
    const int view = m->slot_for("view"), demo = m->slot_for("demo");
    ls::state_sums(in.state.data(), st, 1)[demo] = INFINITY;
    ls::state_sums(in.state.data(), st, 1)[view] = -INFINITY;  // capped at -3: activity Infinity
    EXPECT_THROW(ls::compute_ranking(in), ls::Error);
    ls::state_sums(in.state.data(), st, 1)[view] = 0;
    ls::state_sums(in.state.data(), st, 1)[demo] = NAN;
    EXPECT_THROW(ls::compute_ranking(in), ls::Error);
    in.fit[2] = NAN;
    ls::state_sums(in.state.data(), st, 1)[demo] = 0;
    EXPECT_THROW(ls::compute_ranking(in), ls::Error);
}

// The interrupt callback runs during the pass over the leads (it may throw to cancel).
TEST(Ranking, InterruptCallbackIsCalledAndCanCancel) {
    auto m = model(R"({"kind": "none"})");
    const size_t n = 3 * ls::kInterruptEvery + 7;
    auto in = input(*m, n);
    for (size_t i = 0; i < n; ++i) in.fit[i] = static_cast<double>(i % 3);
    size_t calls = 0;
    auto rows = ls::compute_ranking(in, [&] { ++calls; });
    EXPECT_GE(calls, 3u);  // at least 3 in the pass over the leads
    EXPECT_DOUBLE_EQ(rows[2].score, 2);
    struct Cancelled {};
    EXPECT_THROW(ls::compute_ranking(in, [] { throw Cancelled{}; }), Cancelled);
}

TEST(Ranking, RfmOnlyForLeadsWithOrders) {
    auto m = model(R"({"kind": "none"})");
    auto in = input(*m, 6);
    for (size_t i = 0; i < 5; ++i) {
        in.has_orders[i] = 1;
        in.recency_days[i] = 10.0 * (i + 1);
        in.frequency[i] = static_cast<double>(5 - i);
        in.monetary[i] = 100.0 * (5 - i);
    }
    auto rows = ls::compute_ranking(in);
    EXPECT_EQ(rows[0].rfm_code, "555");
    EXPECT_EQ(*rows[0].rfm_segment, "Champions");
    EXPECT_EQ(rows[4].rfm_code, "111");
    EXPECT_TRUE(rows[5].rfm_code.empty());
    EXPECT_EQ(rows[5].rfm_segment, nullptr);
}

}  // namespace
