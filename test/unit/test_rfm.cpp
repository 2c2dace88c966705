// RFM (doc/qualify.md): cut points checked against a sort-based reference of
// PostgreSQL's percentile_disc definition; scores and segments by hand.
#include "core/error.hpp"
#include "core/rfm.hpp"
#include "core/spec.hpp"
#include "test_qualify_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

// Reference: sort, then the ceil(k/b * N)-th value (1-based, at least 1).
std::vector<double> reference(std::vector<double> v, int bins) {
    std::sort(v.begin(), v.end());
    std::vector<double> out;
    for (int k = 1; k < bins; ++k) {
        double frac = static_cast<double>(k) / bins;
        long rn = static_cast<long>(std::ceil(frac * static_cast<double>(v.size())));
        if (rn < 1) rn = 1;
        out.push_back(v[rn - 1]);
    }
    return out;
}

TEST(PercentileDisc, HandComputed) {
    std::vector<double> v = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5};
    // N = 10, b = 5: rows 2, 4, 6, 8 of 1..10.
    EXPECT_EQ(ls::percentile_disc_breaks(&v, 5), (std::vector<double>{2, 4, 6, 8}));
    std::vector<double> one = {42};
    EXPECT_EQ(ls::percentile_disc_breaks(&one, 5), (std::vector<double>{42, 42, 42, 42}));
    std::vector<double> two = {3, 1};
    // N = 2: ceil(0.4)=1, ceil(0.8)=1, ceil(1.2)=2, ceil(1.6)=2.
    EXPECT_EQ(ls::percentile_disc_breaks(&two, 5), (std::vector<double>{1, 1, 3, 3}));
    std::vector<double> empty;
    EXPECT_TRUE(ls::percentile_disc_breaks(&empty, 5).empty());
    std::vector<double> three = {1, 2, 3, 4, 5, 6, 7};
    // b = 3, N = 7: ceil(7/3)=3, ceil(14/3)=5.
    EXPECT_EQ(ls::percentile_disc_breaks(&three, 3), (std::vector<double>{3, 5}));
}

TEST(PercentileDisc, MatchesReferenceWithTies) {
    std::mt19937_64 rng(7);
    for (int bins : {2, 3, 4, 5, 7, 10, 100}) {
        for (size_t n : {1u, 2u, 3u, 5u, 99u, 100u, 101u, 1000u, 4999u}) {
            std::vector<double> v(n);
            std::uniform_int_distribution<int> few(0, 3);  // heavy ties
            for (auto& x : v) x = few(rng);
            auto ref = reference(v, bins);
            EXPECT_EQ(ls::percentile_disc_breaks(&v, bins), ref) << "bins " << bins << " n " << n;
            std::normal_distribution<double> g(0, 1e6);
            for (auto& x : v) x = g(rng);
            ref = reference(v, bins);
            EXPECT_EQ(ls::percentile_disc_breaks(&v, bins), ref) << "bins " << bins << " n " << n;
        }
    }
}

ls::RfmBreaks breaks5() {
    ls::RfmBreaks b;
    b.bins = 5;
    const double r[] = {10, 20, 30, 40}, f[] = {1, 2, 3, 5}, m[] = {100, 200, 300, 400};
    for (int k = 0; k < 4; ++k) {
        b.cuts[ls::kRecency][k] = r[k];
        b.cuts[ls::kFrequency][k] = f[k];
        b.cuts[ls::kMonetary][k] = m[k];
    }
    b.has[0] = b.has[1] = b.has[2] = true;
    return b;
}

TEST(RfmScore, BoundariesAndCode) {
    auto b = breaks5();
    ls::RfmScore s;
    ASSERT_TRUE(ls::rfm_score(10, 1, 100, b, nullptr, &s));  // exactly at the first cuts
    EXPECT_EQ(s.r, 5);
    EXPECT_EQ(s.f, 1);
    EXPECT_EQ(s.m, 1);
    EXPECT_STREQ(s.code, "511");
    EXPECT_EQ(*s.segment, "New Customers");
    ASSERT_TRUE(ls::rfm_score(10.5, 5, 400.01, b, nullptr, &s));
    EXPECT_EQ(s.r, 4);  // recency > 10: one cut above
    EXPECT_EQ(s.f, 4);  // 5 > 1, 2, 3 but not > 5
    EXPECT_EQ(s.m, 5);
    EXPECT_STREQ(s.code, "445");
    EXPECT_EQ(*s.segment, "Loyal Customers");
    ASSERT_TRUE(ls::rfm_score(1000, 6, 0, b, nullptr, &s));
    EXPECT_STREQ(s.code, "151");
    EXPECT_EQ(*s.segment, "Can't Lose");
}

// Every cell of the 5x5 grid against the table of doc/qualify.md written as a
// plain if-chain here.
const char* expected_segment(int r, int f) {
    if (r == 5 && f >= 4) return "Champions";
    if (r >= 3 && r <= 4 && f >= 4) return "Loyal Customers";
    if (r >= 4 && f >= 2 && f <= 3) return "Potential Loyalists";
    if (r == 5 && f == 1) return "New Customers";
    if (r == 4 && f == 1) return "Promising";
    if (r == 3 && f == 3) return "Need Attention";
    if (r == 3 && f <= 2) return "About to Sleep";
    if (r <= 2 && f == 5) return "Can't Lose";
    if (r <= 2 && f >= 3) return "At Risk";
    return "Hibernating";
}

TEST(RfmScore, DefaultSegmentGrid) {
    auto b = breaks5();
    const double rec_for_r[6] = {0, 50, 35, 25, 15, 5};  // r = 1..5
    const double freq_for_f[6] = {0, 1, 2, 3, 4, 9};     // f = 1..5
    for (int r = 1; r <= 5; ++r)
        for (int f = 1; f <= 5; ++f) {
            ls::RfmScore s;
            ASSERT_TRUE(ls::rfm_score(rec_for_r[r], freq_for_f[f], 250, b, nullptr, &s));
            EXPECT_EQ(s.r, r);
            EXPECT_EQ(s.f, f);
            EXPECT_EQ(s.m, 3);
            ASSERT_NE(s.segment, nullptr);
            EXPECT_EQ(*s.segment, expected_segment(r, f)) << r << f;
        }
}

TEST(RfmScore, OtherBinsAndCustomMap) {
    ls::RfmBreaks b;
    b.bins = 3;
    b.has[0] = b.has[1] = b.has[2] = true;
    b.cuts[0][0] = 7; b.cuts[0][1] = 30;
    b.cuts[1][0] = 1; b.cuts[1][1] = 4;
    b.cuts[2][0] = 50; b.cuts[2][1] = 500;
    ls::RfmScore s;
    ASSERT_TRUE(ls::rfm_score(8, 4, 501, b, nullptr, &s));
    EXPECT_STREQ(s.code, "223");
    EXPECT_EQ(s.segment, nullptr);  // no default map for b != 5
    auto m = ls::parse_model(R"({"rfm": {"bins": 3, "segments": [
        {"segment": "best", "r": 3, "f": [2, 3]}, {"segment": "big spender", "m": 3}, {"segment": "rest"}]}})");
    ASSERT_TRUE(ls::rfm_score(8, 4, 501, b, &m->rfm, &s));
    EXPECT_EQ(*s.segment, "big spender");
    ASSERT_TRUE(ls::rfm_score(1, 2, 0, b, &m->rfm, &s));
    EXPECT_EQ(*s.segment, "best");
    ASSERT_TRUE(ls::rfm_score(100, 0, 0, b, &m->rfm, &s));
    EXPECT_STREQ(s.code, "111");
    EXPECT_EQ(*s.segment, "rest");
    b.has[2] = false;
    EXPECT_FALSE(ls::rfm_score(8, 4, 501, b, nullptr, &s));
}

using qualify_test::spec_error;

TEST(RfmSpec, Malformed) {
    EXPECT_EQ(spec_error(R"({"rfm": {"bins": 1}})"), "invalid model spec at $.rfm.bins: expected an integer from 2 to 100, got 1");
    EXPECT_EQ(spec_error(R"({"rfm": {"bins": 2.5}})"), "invalid model spec at $.rfm.bins: expected an integer, got 2.5");
    EXPECT_EQ(spec_error(R"({"rfm": {"segments": {}}})"), "invalid model spec at $.rfm.segments: expected an array, got object");
    EXPECT_EQ(spec_error(R"({"rfm": {"segments": [{"r": 5}]}})"),
              "invalid model spec at $.rfm.segments[0]: missing required key \"segment\"");
    EXPECT_EQ(spec_error(R"({"rfm": {"segments": [{"segment": "x", "r": 6}]}})"),
              "invalid model spec at $.rfm.segments[0].r: expected an integer from 1 to 5, got 6");
    EXPECT_EQ(spec_error(R"({"rfm": {"bins": 3, "segments": [{"segment": "x", "f": [1, 4]}]}})"),
              "invalid model spec at $.rfm.segments[0].f[1]: expected an integer from 1 to 3, got 4");
    EXPECT_EQ(spec_error(R"({"rfm": {"segments": [{"segment": "x", "m": [4, 2]}]}})"),
              "invalid model spec at $.rfm.segments[0].m: low bound is above high bound");
    EXPECT_EQ(spec_error(R"({"rfm": {"segments": [{"segment": "x", "m": [1, 2, 3]}]}})"),
              "invalid model spec at $.rfm.segments[0].m: expected a score or an array [low, high]");
    EXPECT_EQ(spec_error(R"({"rfm": {"segments": [{"segment": "x", "q": 1}]}})").rfind(
                  "invalid model spec at $.rfm.segments[0].q: unknown key", 0),
              0u);
    EXPECT_EQ(spec_error(R"({"rfm": {"bin": 5}})").rfind("invalid model spec at $.rfm.bin: unknown key", 0), 0u);
}

}  // namespace
