// Activity scoring core (doc/activity.md): decay kinds at 0, at the boundary and
// beyond; caps and clamps; event type -> slot mapping (ls::SlotTable, equal to
// Model::slot_for) including the wildcard and types only named in disqualify or
// stages; event ages; the model fingerprint.
#include "core/activity.hpp"
#include "core/activity_state.hpp"
#include "core/spec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <limits>
#include <string>
#include <vector>

namespace {

constexpr double kDay = 86400.0;

std::shared_ptr<const ls::Model> model(const std::string& json) { return ls::parse_model(json); }

std::shared_ptr<const ls::Model> with_decay(const std::string& decay) {
    return model(R"({"activity": {"events": {"visit": {"points": 8}}, "decay": )" + decay + "}}");
}

double one(const ls::Model& m, double age) {
    if (!ls::event_counts(m, age)) return 0;
    return ls::event_points(m, m.slot_for("visit"), age);
}

TEST(ActivityDecay, Exponential) {
    auto m = with_decay(R"({"kind": "exponential", "half_life": "10 days"})");
    EXPECT_EQ(one(*m, 0), 8);           // 8 · 2^0
    EXPECT_EQ(one(*m, 10 * kDay), 4);   // one half-life
    EXPECT_EQ(one(*m, 20 * kDay), 2);   // two
    EXPECT_NEAR(one(*m, 5 * kDay), 8 / std::sqrt(2.0), 1e-12);
    EXPECT_EQ(one(*m, -1), 0);          // future: ignored
}

TEST(ActivityDecay, Linear) {
    auto m = with_decay(R"({"kind": "linear", "lifetime": "10 days"})");
    EXPECT_EQ(one(*m, 0), 8);
    EXPECT_EQ(one(*m, 5 * kDay), 4);    // 8 · (1 - 1/2)
    EXPECT_EQ(one(*m, 10 * kDay), 0);   // 8 · (1 - 1)
    EXPECT_EQ(one(*m, 20 * kDay), 0);   // max(0, 1 - 2)
}

TEST(ActivityDecay, Step) {
    auto m = with_decay(R"({"kind": "step", "expire_after": "10 days"})");
    EXPECT_EQ(one(*m, 0), 8);
    EXPECT_EQ(one(*m, 10 * kDay - 1), 8);  // age < expire_after
    EXPECT_EQ(one(*m, 10 * kDay), 0);      // not any more
    EXPECT_EQ(one(*m, 20 * kDay), 0);
}

TEST(ActivityDecay, None) {
    auto m = with_decay(R"({"kind": "none"})");
    EXPECT_EQ(one(*m, 0), 8);
    EXPECT_EQ(one(*m, 1e9), 8);
    auto d = model(R"({"activity": {"events": {"visit": {"points": 8}}}})");  // no decay key
    EXPECT_EQ(one(*d, 1e9), 8);
}

TEST(ActivityWindow, BoundaryCounts) {
    auto m = model(R"({"activity": {"events": {"visit": {"points": 8}}, "window": "7 days"}})");
    EXPECT_TRUE(ls::event_counts(*m, 0));
    EXPECT_TRUE(ls::event_counts(*m, 7 * kDay));       // age == window counts
    EXPECT_FALSE(ls::event_counts(*m, 7 * kDay + 1));
    EXPECT_FALSE(ls::event_counts(*m, -0.5));
    EXPECT_FALSE(ls::event_counts(*m, std::nan("")));  // infinite timestamps
}

TEST(ActivityAge, Microseconds) {
    EXPECT_EQ(ls::event_age(86400000000LL, 0), 86400.0);
    EXPECT_EQ(ls::event_age(0, 1500000), -1.5);
    EXPECT_TRUE(std::isnan(ls::event_age(INT64_MAX, 0)));  // as_of = infinity
    EXPECT_TRUE(std::isnan(ls::event_age(0, INT64_MIN)));  // -infinity event
    // Differences beyond int64 fall back to double arithmetic.
    EXPECT_GT(ls::event_age(INT64_MAX - 1, -INT64_MAX + 1), 9e12);
}

const char* kCapped = R"({"activity": {
    "events": {"demo": {"points": 10, "cap": 15}, "unsubscribe": {"points": -10, "cap": 15},
               "webinar": {"points": 4}, "*": {"points": 1}},
    "min": -5, "max": 20}})";

TEST(ActivityTotal, CapsPositiveAndNegative) {
    auto m = model(kCapped);
    std::vector<double> sums(m->slots.size() + 1, 0.0);
    sums[m->slot_for("demo")] = 30;          // → 15
    sums[m->slot_for("unsubscribe")] = -30;  // → -15
    sums[m->slot_for("webinar")] = 4;        // uncapped
    sums[m->wildcard_slot()] = 3;            // "*" never capped
    EXPECT_EQ(ls::activity_total(*m, sums.data()), 7);
    EXPECT_EQ(ls::cap_value(30, 15), 15);
    EXPECT_EQ(ls::cap_value(-30, 15), -15);
    EXPECT_EQ(ls::cap_value(-3, 15), -3);
    EXPECT_EQ(ls::cap_value(3, 0), 0);
}

TEST(ActivityTotal, Clamps) {
    auto m = model(kCapped);
    std::vector<double> sums(m->slots.size() + 1, 0.0);
    sums[m->slot_for("webinar")] = 48;
    EXPECT_EQ(ls::activity_total(*m, sums.data()), 20);  // max
    sums[m->slot_for("webinar")] = 0;
    sums[m->slot_for("unsubscribe")] = -10;
    EXPECT_EQ(ls::activity_total(*m, sums.data()), -5);  // min
    sums[m->slot_for("unsubscribe")] = 0;
    EXPECT_EQ(ls::activity_total(*m, sums.data()), 0);   // nothing counted
    auto lo = model(R"({"activity": {"min": 3}})");
    std::vector<double> z(lo->slots.size() + 1, 0.0);
    EXPECT_EQ(ls::activity_total(*lo, z.data()), 3);     // an empty group is clamped too
}

// activity_score's state: one accumulator per capped slot, one shared by the
// rest, the last.
TEST(ActivityAccumulators, CappedSlotsOwnOneTheRestShareTheLast) {
    auto m = model(kCapped);  // demo cap 15, unsubscribe cap 15, webinar and "*" uncapped
    const int32_t n = static_cast<int32_t>(m->slot_cap.size());
    ASSERT_EQ(n, 4);
    std::vector<int32_t> acc_of(n + 1, -7);
    std::vector<double> acc_caps(n + 1, -7);
    const int32_t nacc = ls::activity_accumulators(m->slot_cap.data(), n, acc_of.data(), acc_caps.data());
    EXPECT_EQ(nacc, 3);
    const int demo = m->slot_for("demo"), unsub = m->slot_for("unsubscribe"), web = m->slot_for("webinar");
    EXPECT_NE(acc_of[demo], acc_of[unsub]);
    EXPECT_LT(acc_of[demo], 2);
    EXPECT_LT(acc_of[unsub], 2);
    EXPECT_EQ(acc_of[web], 2);
    EXPECT_EQ(acc_of[m->wildcard_slot()], 2);
    EXPECT_EQ(acc_caps[acc_of[demo]], 15);
    EXPECT_EQ(acc_caps[acc_of[unsub]], 15);
    EXPECT_EQ(acc_caps[2], std::numeric_limits<double>::infinity());

    // The same count from the caps' bytes at an odd address.
    std::vector<unsigned char> bytes(1 + sizeof(double) * n);
    std::memcpy(bytes.data() + 1, m->slot_cap.data(), sizeof(double) * n);
    EXPECT_EQ(ls::activity_accumulators(bytes.data() + 1, n), 3);

    // The hand example of CapsPositiveAndNegative through the accumulators:
    // demo 30 -> 15, unsubscribe -30 -> -15, webinar 4 and "*" 3 share one: 7.
    std::vector<double> acc(nacc, 0.0);
    acc[acc_of[demo]] += 30;
    acc[acc_of[unsub]] += -30;
    acc[acc_of[web]] += 4;
    acc[acc_of[m->wildcard_slot()]] += 3;
    EXPECT_EQ(ls::activity_total(acc.data(), acc_caps.data(), nacc, ls::ActivityClamp::of(m->activity.bounds)), 7);

    // Without caps there is one accumulator; a cap of 0 is a cap.
    auto flat = model(R"({"activity": {"events": {"a": {"points": 1}, "b": {"points": 2}}}})");
    const int32_t fn = static_cast<int32_t>(flat->slot_cap.size());
    std::vector<int32_t> fo(fn + 1);
    std::vector<double> fc(fn + 1);
    EXPECT_EQ(ls::activity_accumulators(flat->slot_cap.data(), fn, fo.data(), fc.data()), 1);
    for (int32_t s = 0; s < fn; ++s) EXPECT_EQ(fo[s], 0);
    const double zero_cap[2] = {0.0, std::numeric_limits<double>::infinity()};
    int32_t zo[3];
    double zc[3];
    EXPECT_EQ(ls::activity_accumulators(zero_cap, 2, zo, zc), 2);
    EXPECT_EQ(zo[0], 0);
    EXPECT_EQ(zo[1], 1);
}

TEST(ActivitySlots, WildcardAndOtherSections) {
    auto m = model(R"({"activity": {"events": {"demo": {"points": 10}, "*": {"points": 2}}},
                       "disqualify": {"events": ["complaint"]},
                       "stages": [{"stage": "SQL", "event": "pricing"}]})");
    ASSERT_EQ(m->slots.size(), 3u);
    const int demo = m->slot_for("demo"), complaint = m->slot_for("complaint"), pricing = m->slot_for("pricing");
    EXPECT_NE(demo, m->wildcard_slot());
    EXPECT_NE(complaint, m->wildcard_slot());
    EXPECT_NE(pricing, m->wildcard_slot());
    EXPECT_EQ(m->slot_for("page_view"), m->wildcard_slot());
    EXPECT_EQ(m->slot_points[demo], 10);
    EXPECT_EQ(m->slot_points[complaint], 2);  // named elsewhere: "*" points
    EXPECT_EQ(m->slot_points[pricing], 2);
    EXPECT_EQ(m->slot_points[m->wildcard_slot()], 2);

    auto z = model(R"({"disqualify": {"events": ["complaint"]}, "stages": [{"stage": "SQL", "event": "demo"}]})");
    EXPECT_EQ(z->slot_points[z->slot_for("complaint")], 0);  // no "*": 0
    EXPECT_EQ(z->slot_points[z->slot_for("demo")], 0);
    EXPECT_EQ(z->slot_points[z->wildcard_slot()], 0);
}

int table_find(const ls::Model& m, const std::string& type) {
    std::vector<ls::SlotCell> cells(ls::SlotTable::cells_for(m));
    ls::SlotTable t;
    t.build(m, cells.data());
    return t.find(type.data(), type.size());
}

TEST(ActivitySlots, TableAgreesWithSlotFor) {
    // Few types (slot_for compares directly) and many (slot_for hashes).
    for (int n : {0, 1, 3, 8, 9, 40, 1000}) {
        std::string spec = R"({"activity": {"events": {)";
        for (int i = 0; i < n; ++i) spec += (i ? ", " : "") + std::string("\"type_") + std::to_string(i) + R"(": {"points": 1})";
        spec += "}}}";
        auto m = model(spec);
        for (int i = 0; i < n; ++i) {
            std::string t = "type_" + std::to_string(i);
            EXPECT_EQ(table_find(*m, t), m->slot_for(t));
            EXPECT_NE(m->slot_for(t), m->wildcard_slot());
        }
        for (const char* other : {"", "type_", "type_1000", "TYPE_1", "x"})
            EXPECT_EQ(table_find(*m, other), m->slot_for(other)) << other;
        EXPECT_EQ(table_find(*m, "unknown"), m->wildcard_slot());
    }
}

// Distance in units in the last place between two positive finite doubles.
int64_t ulps(double a, double b) {
    int64_t x, y;
    std::memcpy(&x, &a, sizeof x);
    std::memcpy(&y, &b, sizeof y);
    return x > y ? x - y : y - x;
}

TEST(ActivityDecay, Exp2TableWithinFourUlpOfExp2) {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> small(0, 2), mid(0, 60), large(0, 1000);
    for (int i = 0; i < 1000000; ++i)
        for (double x : {small(rng), mid(rng), large(rng)}) ASSERT_LE(ulps(ls::exp2_neg(x), std::exp2(-x)), 4) << x;
    // Tiny exponents: 2^-x = 1 - x ln 2 to first order.
    EXPECT_EQ(ls::exp2_neg(0), 1.0);
    EXPECT_EQ(ls::exp2_neg(1e-300), 1.0);
    EXPECT_NEAR(ls::exp2_neg(1e-9), 1 - 1e-9 * std::log(2.0), 1e-18);
}

TEST(ActivityDecay, Exp2TableExactAtWholeHalfLives) {
    for (int k = 0; k < 1100; ++k) EXPECT_EQ(ls::exp2_neg(k), std::ldexp(1.0, -k)) << k;
    EXPECT_LE(ulps(ls::exp2_neg(0.5), 1 / std::sqrt(2.0)), 1);
    EXPECT_EQ(ls::exp2_neg(std::numeric_limits<double>::infinity()), 0);
    EXPECT_TRUE(std::isnan(ls::exp2_neg(std::nan(""))));
}

// The weight of an age in whole microseconds, against 2^-(age / half-life)
// computed in long double.
TEST(ActivityDecay, WeightInMicrosecondsWithinFourUlp) {
    std::mt19937_64 rng(7);
    for (const char* hl : {"30 days", "1 second", "7 days 3 hours 0.000001 seconds", "100 years", "0.000001 seconds"}) {
        auto m = with_decay(std::string(R"({"kind": "exponential", "half_life": ")") + hl + R"("})");
        const ls::HalfLife sc = m->activity.decay.half_life;
        ASSERT_GT(sc.us, 0) << hl;
        std::uniform_int_distribution<int64_t> ages(0, std::min<int64_t>(sc.us * 1200, INT64_MAX / 2));
        for (int i = 0; i < 300000; ++i) {
            const int64_t us = i < 1000 ? i : ages(rng);
            const double want = static_cast<double>(std::exp2(-static_cast<long double>(us) / sc.us));
            ASSERT_LE(ulps(sc.weight_us(us), want), 4) << hl << " " << us;
        }
        // Whole half-lives are exact, and just around them the weight is monotonic.
        for (int64_t k = 0; k < 998 && k * sc.us < INT64_MAX / 2; ++k) {
            ASSERT_EQ(sc.weight_us(k * sc.us), std::ldexp(1.0, static_cast<int>(-k))) << hl << " " << k;
            if (k > 0) {
                EXPECT_GE(sc.weight_us(k * sc.us - 1), sc.weight_us(k * sc.us)) << hl << " " << k;
            }
            EXPECT_LE(sc.weight_us(k * sc.us + 1), sc.weight_us(k * sc.us)) << hl << " " << k;
        }
    }
}

// Slot names of a model with n event types "prefix<i>".
std::shared_ptr<const ls::Model> types_model(int n, const std::string& prefix) {
    std::string spec = R"({"activity": {"events": {)";
    for (int i = 0; i < n; ++i) spec += (i ? ", " : "") + std::string("\"") + prefix + std::to_string(i) + R"(": {"points": 1})";
    spec += "}}}";
    return model(spec);
}

TEST(ActivitySlots, SmallModelsAreCollisionFree) {
    // Short names (word compares), 16 bytes exactly, and long ones (memcmp).
    for (const std::string prefix : {"t", "type_", "fifteen_bytes__", "a_long_event_type_name_"}) {
        for (int n : {1, 2, 12, 40, 64, 65}) {
            auto m = types_model(n, prefix);
            std::vector<ls::SlotCell> cells(ls::SlotTable::cells_for(*m));
            ls::SlotTable t;
            t.build(*m, cells.data());
            EXPECT_EQ(t.collision_free, n <= 64) << prefix << n;
            int used = 0;
            for (const ls::SlotCell& c : cells) used += c.slot >= 0;
            EXPECT_EQ(used, n);
            for (int i = 0; i < n; ++i) {
                const std::string name = prefix + std::to_string(i);
                if (t.collision_free) {  // each name sits in the very cell its hash picks
                    uint64_t a, b;
                    ls::name_words(name.data(), name.size(), &a, &b);
                    EXPECT_EQ(cells[t.cell_of(a, b, name.size())].slot, m->slot_for(name));
                }
                EXPECT_EQ(t.find(name.data(), name.size()), m->slot_for(name));
                // Same length, one byte different: the wildcard.
                std::string other = name;
                other[0] ^= 1;
                EXPECT_EQ(t.find(other.data(), other.size()), m->wildcard_slot()) << other;
            }
        }
    }
}

TEST(ActivityWindow, LimitInMicrosecondsDecidesLikeEventCounts) {
    for (const char* window : {"7 days", "365 days", "1 second", "0.000001 seconds", "1.5 seconds", "0.3 seconds", "10000 years"}) {
        auto m = model(std::string(R"({"activity": {"events": {"visit": {"points": 8}}, "window": ")") + window + R"("}})");
        const int64_t lim = ls::window_limit_us(*m);
        for (int64_t d : {lim - 2, lim - 1, lim, lim + 1, lim + 2}) {
            if (d < 0 || d == INT64_MAX) continue;
            EXPECT_EQ(d <= lim, ls::event_counts(*m, ls::event_age(d, 0))) << window << " " << d;
        }
    }
    // 1 second: exactly 1,000,000 us.
    EXPECT_EQ(ls::window_limit_us(*model(R"({"activity": {"window": "1 second"}})")), 1000000);
    EXPECT_EQ(ls::window_limit_us(*model(R"({"activity": {"events": {}}})")), INT64_MAX);  // no window
}

TEST(ActivityScorer, PointsByDecay) {
    const std::pair<const char*, double> decays[] = {  // and 8 points at 10 days by hand
        {R"({"kind": "exponential", "half_life": "10 days"})", 4}, {R"({"kind": "linear", "lifetime": "10 days"})", 0},
        {R"({"kind": "step", "expire_after": "10 days"})", 0}, {R"({"kind": "none"})", 8}};
    for (const auto& [decay, at_10_days] : decays) {
        auto m = with_decay(decay);
        const ls::EventScorer sc = ls::event_scorer(*m);
        const int slot = m->slot_for("visit");
        EXPECT_EQ(sc.points_at(slot, 864000000000), at_10_days) << decay;
        EXPECT_EQ(sc.points_at(slot, 0), 8) << decay;
        EXPECT_EQ(sc.window_us, INT64_MAX);
        // Other decays: the same arithmetic as event_points, in seconds.
        if (sc.decay.kind != ls::DecayKind::Exponential) {
            for (int64_t us : {int64_t{1}, int64_t{432000000000}, int64_t{864000000001}, int64_t{3000000000000}})
                EXPECT_EQ(sc.points_at(slot, us), ls::event_points(*m, slot, ls::event_age(us, 0))) << decay << " " << us;
        }
    }
    // Exponential: 5 days is half a half-life, 8 / sqrt(2).
    auto m = with_decay(R"({"kind": "exponential", "half_life": "10 days"})");
    EXPECT_LE(ulps(ls::event_scorer(*m).points_at(m->slot_for("visit"), 432000000000), 8 / std::sqrt(2.0)), 2);
}

TEST(ActivityFingerprint, SameSpecSameFingerprint) {
    auto a = model(kCapped), b = model(kCapped);
    EXPECT_EQ(ls::activity_fingerprint(*a), ls::activity_fingerprint(*b));
    // Anything scoring reads changes it: points, caps, clamps, decay, window, names.
    for (const char* other : {
             R"({"activity": {"events": {"demo": {"points": 11, "cap": 15}}}})",
             R"({"activity": {"events": {"demo": {"points": 10, "cap": 16}}}})",
             R"({"activity": {"events": {"demo": {"points": 10, "cap": 15}}, "max": 1}})",
             R"({"activity": {"events": {"demo": {"points": 10, "cap": 15}}, "window": "1 day"}})",
             R"({"activity": {"events": {"demo": {"points": 10, "cap": 15}}, "decay": {"kind": "step", "expire_after": "1 day"}}})",
             R"({"activity": {"events": {"dem0": {"points": 10, "cap": 15}}}})"}) {
        auto base = model(R"({"activity": {"events": {"demo": {"points": 10, "cap": 15}}}})");
        EXPECT_NE(ls::activity_fingerprint(*base), ls::activity_fingerprint(*model(other))) << other;
    }
    // Fit rules do not matter to activity.
    auto f = model(R"({"activity": {"events": {"demo": {"points": 10, "cap": 15}}},
                       "fit": {"rules": [{"field": "x", "eq": 1, "points": 1}]}})");
    auto base = model(R"({"activity": {"events": {"demo": {"points": 10, "cap": 15}}}})");
    EXPECT_EQ(ls::activity_fingerprint(*base), ls::activity_fingerprint(*f));
}

}  // namespace
