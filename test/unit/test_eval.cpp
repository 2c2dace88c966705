// Unit tests of the AUC core (src/core/eval.cpp) against a brute-force pairwise count.
#include "core/error.hpp"
#include "core/eval.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace {

double brute_auc(const std::vector<double>& s, const std::vector<int>& y) {
    double num = 0, pairs = 0;
    for (size_t i = 0; i < s.size(); ++i)
        for (size_t j = 0; j < s.size(); ++j)
            if (y[i] && !y[j]) {
                pairs += 1;
                num += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
            }
    return num / pairs;
}

// Feeds rows in chunks the way the aggregate does (append, compact when full).
std::vector<ls::ScoreCount> accumulate(const std::vector<double>& s, const std::vector<int>& y, size_t cap) {
    std::vector<ls::ScoreCount> a(cap);
    size_t n = 0, sorted = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (n == a.size()) {
            n = sorted = ls::auc_compact(a.data(), sorted, n);
            if (n * 2 > a.size()) a.resize(a.size() * 2);
        }
        a[n++] = {s[i], y[i] ? 1 : 0, y[i] ? 0 : 1};
    }
    n = ls::auc_compact(a.data(), sorted, n);
    a.resize(n);
    return a;
}

// A tail longer than the chunk (65,536) is sorted in chunks and merged bottom-up
// with the interrupt called between steps; the result must equal one sort with
// equal scores summed, and an interrupt that throws must leave by exception.
int g_interrupts = 0;
void count_interrupt() { ++g_interrupts; }
void throwing_interrupt() { throw ls::Error(ls::ErrorCode::InvalidParameter, "canceled"); }

// Found by test/fuzz/states_fuzz.cpp: a state with counts near 2^62 passed the
// check, and combining it with itself overflowed int64 (UBSan).
TEST(Auc, SerializedCountsBounded) {
    ls::ScoreCount a[2] = {{1.0, int64_t{1} << 62, 0}, {2.0, 0, 1}};
    std::vector<unsigned char> buf(ls::auc_serialized_size(2));
    ls::auc_serialize(a, 2, buf.data());
    EXPECT_THROW(ls::auc_check_serialized(buf.data(), buf.size()), ls::Error);
    a[0].pos = int64_t{1} << 52;
    ls::auc_serialize(a, 2, buf.data());
    EXPECT_EQ(ls::auc_check_serialized(buf.data(), buf.size()), 2u);
}

TEST(Auc, CompactInChunksWithInterrupt) {
    std::mt19937 rng(7);
    const size_t sorted_n = 1000, tail = 300001;
    std::vector<ls::ScoreCount> a;
    for (size_t i = 0; i < sorted_n; ++i) a.push_back({static_cast<double>(2 * i), 1, 0});
    for (size_t i = 0; i < tail; ++i) a.push_back({static_cast<double>(rng() % 50000), 0, 1});
    std::vector<ls::ScoreCount> expect = a;
    std::sort(expect.begin(), expect.end(), [](const auto& x, const auto& y) { return x.score < y.score; });
    size_t w = 0;
    for (size_t r = 1; r < expect.size(); ++r) {
        if (expect[r].score == expect[w].score) {
            expect[w].pos += expect[r].pos;
            expect[w].neg += expect[r].neg;
        } else {
            expect[++w] = expect[r];
        }
    }
    expect.resize(w + 1);
    std::vector<ls::ScoreCount> b = a;
    g_interrupts = 0;
    size_t n = ls::auc_compact(a.data(), sorted_n, a.size(), count_interrupt);
    EXPECT_GE(g_interrupts, 5 + 4);  // 5 chunk sorts and 4 merges at least
    ASSERT_EQ(n, expect.size());
    for (size_t k = 0; k < n; ++k) {
        EXPECT_EQ(a[k].score, expect[k].score);
        EXPECT_EQ(a[k].pos, expect[k].pos);
        EXPECT_EQ(a[k].neg, expect[k].neg);
    }
    EXPECT_THROW(ls::auc_compact(b.data(), sorted_n, b.size(), throwing_interrupt), ls::Error);
}

TEST(Auc, MatchesBruteForceWithTies) {
    std::mt19937 rng(42);
    for (int trial = 0; trial < 20; ++trial) {
        std::vector<double> s;
        std::vector<int> y;
        int m = 50 + trial * 17;
        for (int i = 0; i < m; ++i) {
            s.push_back(static_cast<double>(rng() % 13));  // many ties
            y.push_back(static_cast<int>(rng() % 3 == 0));
        }
        auto a = accumulate(s, y, 8);
        for (size_t k = 1; k < a.size(); ++k) EXPECT_LT(a[k - 1].score, a[k].score);
        double v;
        ASSERT_TRUE(ls::auc_value(a.data(), a.size(), &v));
        EXPECT_NEAR(v, brute_auc(s, y), 1e-12);
    }
}

TEST(Auc, DegenerateClasses) {
    double v;
    EXPECT_FALSE(ls::auc_value(nullptr, 0, &v));
    ls::ScoreCount only_pos[2] = {{1, 3, 0}, {2, 1, 0}};
    EXPECT_FALSE(ls::auc_value(only_pos, 2, &v));
    ls::ScoreCount only_neg[1] = {{1, 0, 5}};
    EXPECT_FALSE(ls::auc_value(only_neg, 1, &v));
    ls::ScoreCount all_tied[1] = {{1, 2, 5}};
    ASSERT_TRUE(ls::auc_value(all_tied, 1, &v));
    EXPECT_EQ(v, 0.5);
    ls::ScoreCount perfect[2] = {{1, 0, 5}, {2, 7, 0}};
    ASSERT_TRUE(ls::auc_value(perfect, 2, &v));
    EXPECT_EQ(v, 1.0);
}

TEST(Auc, MergeSumsEqualScores) {
    ls::ScoreCount a[3] = {{1, 1, 0}, {3, 0, 2}, {5, 1, 1}};
    ls::ScoreCount b[2] = {{3, 4, 0}, {9, 0, 1}};
    ls::ScoreCount out[5];
    size_t n = ls::auc_merge(a, 3, b, 2, out);
    ASSERT_EQ(n, 4u);
    EXPECT_EQ(out[1].score, 3);
    EXPECT_EQ(out[1].pos, 4);
    EXPECT_EQ(out[1].neg, 2);
    EXPECT_EQ(out[3].score, 9);
}

TEST(Auc, SerializeRoundTripAndGarbage) {
    ls::ScoreCount a[3] = {{-1.5, 1, 0}, {0, 2, 2}, {7, 0, 3}};
    std::vector<unsigned char> buf(ls::auc_serialized_size(3));
    ls::auc_serialize(a, 3, buf.data());
    ASSERT_EQ(ls::auc_check_serialized(buf.data(), buf.size()), 3u);
    ls::ScoreCount back[3];
    ls::auc_deserialize(buf.data(), 3, back);
    EXPECT_EQ(back[2].score, 7);
    EXPECT_EQ(back[1].neg, 2);

    auto corrupt = [&](std::vector<unsigned char> b) {
        try {
            ls::auc_check_serialized(b.data(), b.size());
        } catch (const ls::Error& e) {
            return e.code() == ls::ErrorCode::DataCorrupted;
        }
        return false;
    };
    EXPECT_TRUE(corrupt({}));
    EXPECT_TRUE(corrupt({0xde, 0xad, 0xbe, 0xef}));
    auto shorter = buf;
    shorter.pop_back();
    EXPECT_TRUE(corrupt(shorter));
    auto unsorted = buf;
    unsorted[16] ^= 0xff;  // first score's low byte: still a number, order may break
    unsorted[16 + 7] = 0x7f; unsorted[16 + 6] = 0xf0;  // first score = +inf: not increasing
    EXPECT_TRUE(corrupt(unsorted));
    auto huge_n = buf;
    huge_n[15] = 0x7f;
    EXPECT_TRUE(corrupt(huge_n));
}

}  // namespace
