// Each scoring formula has one implementation in src/core; these pin them to
// values worked out by hand (doc/activity.md): the exponential weight in both
// of its forms (microseconds, seconds), the other decays, the points of an
// event, and the activity total in both of its forms (accumulators, per-slot
// sums).
#include "core/activity.hpp"
#include "core/activity_state.hpp"
#include "core/spec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace {

constexpr int64_t kDayUs = 86400LL * 1000000;

TEST(Formula, ExponentialWeightByHand) {
    const ls::HalfLife h = ls::HalfLife::of(10 * 86400.0);  // 10 days
    EXPECT_EQ(h.us, 10 * kDayUs);
    EXPECT_EQ(h.weight_us(0), 1.0);
    EXPECT_EQ(h.weight_us(10 * kDayUs), 0.5);
    EXPECT_EQ(h.weight_us(30 * kDayUs), 0.125);
    EXPECT_EQ(h.weight_us(100 * kDayUs), 1.0 / 1024);
    // 5 days: 2^-0.5 = 0.70710678118654752...; 15 days: 2^-1.5 = 0.35355339059327376...
    EXPECT_NEAR(h.weight_us(5 * kDayUs), 0.70710678118654752, 4e-16);
    EXPECT_NEAR(h.weight_us(15 * kDayUs), 0.35355339059327376, 2e-16);
    // 2.5 days: 2^-0.25 = 0.84089641525371454...
    EXPECT_NEAR(h.weight_us(kDayUs * 5 / 2), 0.84089641525371454, 4e-16);
    // Past 1100 half-lives the weight is below the smallest double.
    EXPECT_EQ(h.weight_us(1100 * 10 * kDayUs), 0.0);
    // 1075 half-lives: 2^-1075 rounds to 0 too; 1074: the smallest subnormal.
    EXPECT_EQ(h.weight_us(1074 * 10 * kDayUs), std::ldexp(1.0, -1074));
}

TEST(Formula, ExponentialWeightInSecondsIsTheMicrosecondOne) {
    const ls::HalfLife h = ls::HalfLife::of(30 * 86400.0);
    for (int64_t us : {int64_t{0}, int64_t{1}, int64_t{999999}, 5 * kDayUs + 7, 29 * kDayUs + 123456, 30 * kDayUs,
                       365 * kDayUs + 1, 40000 * kDayUs + 3}) {
        const double seconds = static_cast<double>(us) / 1e6;  // as refresh and event_age give it
        EXPECT_EQ(h.weight(seconds), h.weight_us(us)) << us;
    }
    // A half-life of 2^52 us or more (~142 years): exp2 of the ratio, same in both forms.
    const ls::HalfLife big = ls::HalfLife::of(200 * 365.25 * 86400);
    EXPECT_EQ(big.us, 0);
    EXPECT_EQ(big.weight_us(200 * 36525 * kDayUs / 100), 0.5);
    EXPECT_EQ(big.weight(200 * 365.25 * 86400), 0.5);
}

TEST(Formula, DecayWeightsByHand) {
    const ls::Decay none = ls::Decay::make(ls::DecayKind::None, 0);
    const ls::Decay lin = ls::Decay::make(ls::DecayKind::Linear, 100);
    const ls::Decay step = ls::Decay::make(ls::DecayKind::Step, 100);
    const ls::Decay exp = ls::Decay::make(ls::DecayKind::Exponential, 100);
    EXPECT_EQ(none.weight_us(123456789), 1.0);
    EXPECT_EQ(lin.weight_us(25000000), 0.75);     // 1 - 25/100
    EXPECT_EQ(lin.weight_us(100000000), 0.0);     // max(0, 1 - 1)
    EXPECT_EQ(lin.weight_us(150000000), 0.0);     // max(0, 1 - 1.5)
    EXPECT_EQ(step.weight_us(99999999), 1.0);     // age < expire_after
    EXPECT_EQ(step.weight_us(100000000), 0.0);
    EXPECT_EQ(exp.weight_us(300000000), 0.125);   // three half-lives
    EXPECT_EQ(exp.weight(300), 0.125);
    EXPECT_EQ(exp.weight_us(150000000), exp.half_life.weight_us(150000000));
}

TEST(Formula, EventPointsByHand) {
    auto m = ls::parse_model(
        R"({"activity": {"events": {"demo": {"points": 24}}, "decay": {"kind": "exponential", "half_life": "1 day"}}})");
    const ls::EventScorer sc = ls::event_scorer(*m);
    const int demo = m->slot_for("demo");
    EXPECT_EQ(sc.points_at(demo, 0), 24);
    EXPECT_EQ(sc.points_at(demo, 2 * kDayUs), 6);  // 24 / 4
    EXPECT_EQ(ls::event_points(*m, demo, 2 * 86400.0), 6);
    // The seconds form (refresh, the aggregate's rare path) is the microsecond one.
    EXPECT_EQ(ls::event_points(*m, demo, static_cast<double>(kDayUs / 3) / 1e6), sc.points_at(demo, kDayUs / 3));
}

TEST(Formula, ActivityTotalByHand) {
    // demo capped at 15, unsubscribe capped at 15, webinar and "*" uncapped; A in [-5, 20].
    auto m = ls::parse_model(R"({"activity": {
        "events": {"demo": {"points": 10, "cap": 15}, "unsubscribe": {"points": -10, "cap": 15},
                   "webinar": {"points": 4}, "*": {"points": 1}}, "min": -5, "max": 20}})");
    std::vector<double> sums(m->slots.size() + 1, 0.0);
    sums[m->slot_for("demo")] = 30;          // capped: 15
    sums[m->slot_for("unsubscribe")] = -12;  // capped: -12 (within)
    sums[m->slot_for("webinar")] = 4;
    sums[m->wildcard_slot()] = 3;
    EXPECT_EQ(ls::activity_total(*m, sums.data()), 10);  // 15 - 12 + 4 + 3
    sums[m->slot_for("webinar")] = 40;
    EXPECT_EQ(ls::activity_total(*m, sums.data()), 20);  // 46, clamped to max
    // The accumulator form with the same sums: [demo, unsubscribe, webinar + "*"].
    const int32_t n = static_cast<int32_t>(m->slot_cap.size());
    std::vector<int32_t> acc_of(n);
    std::vector<double> caps(n + 1);
    const int32_t nacc = ls::activity_accumulators(m->slot_cap.data(), n, acc_of.data(), caps.data());
    ASSERT_EQ(nacc, 3);
    std::vector<double> acc(nacc, 0.0);
    for (int32_t s = 0; s < n; ++s) acc[acc_of[s]] += sums[s];
    const ls::ActivityClamp cl = ls::ActivityClamp::of(m->activity.bounds);
    EXPECT_EQ(ls::activity_total(acc.data(), caps.data(), nacc, cl), 20);
    acc[nacc - 1] = -30;                                                   // -30 + 15 - 12 = -27
    EXPECT_EQ(ls::activity_total(acc.data(), caps.data(), nacc, cl), -5);  // clamped to min
    EXPECT_EQ(ls::activity_total(acc.data(), caps.data(), nacc, ls::ActivityClamp{}), -27);

    // Two uncapped types are added up before the capped sums are added to
    // them (the aggregate's order): 0.1 + 0.2 first, then the capped 1e16.
    auto u = ls::parse_model(
        R"({"activity": {"events": {"a": {"points": 1}, "big": {"points": 1, "cap": 1e17}, "b": {"points": 1}}}})");
    std::vector<double> us(u->slots.size() + 1, 0.0);
    us[u->slot_for("a")] = 0.1;
    us[u->slot_for("big")] = 1e16;
    us[u->slot_for("b")] = 0.2;
    EXPECT_EQ(ls::activity_total(*u, us.data()), 1e16 + (0.1 + 0.2));
}

}  // namespace
