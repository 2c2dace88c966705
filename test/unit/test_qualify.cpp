// Qualification (doc/qualify.md): expectations computed by hand from the formulas.
#include "core/error.hpp"
#include "core/qualify.hpp"
#include "core/spec.hpp"
#include "test_qualify_util.hpp"
#include "core/value.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

const char* kSpec = R"({
  "fit": {"rules": [{"field": "industry", "eq": "software", "points": 30}]},
  "activity": {"events": {"page_view": {"points": 1}, "demo_request": {"points": 20}}, "window": "90 days"},
  "disqualify": {"rules": [{"field": "email", "matches": "@competitor\\.com$"},
                           {"field": "status", "eq": "invalid"}],
                 "events": ["complaint", "bounce"]},
  "weights": {"fit": 0.5, "activity": 2},
  "score": {"min": 0, "max": 100},
  "grades": [{"grade": "A", "min_fit": 75}, {"grade": "B", "min_fit": 50}, {"grade": "C", "min_fit": 25}],
  "stages": [{"stage": "SQL", "min_score": 80, "event": "demo_request"},
             {"stage": "MQL3", "min_score": 60}, {"stage": "MQL2", "min_score": 30, "min_activity": 5},
             {"stage": "MQL1", "min_fit": 40}],
  "bant": {"budget": {"field": "budget", "gte": 10000}, "authority": {"field": "title", "in": ["cto", "ceo"]},
           "need": {"field": "pain", "exists": true}, "qualify_at": 2}
})";

std::shared_ptr<const ls::Model> model(const char* s = kSpec) { return ls::parse_model(s); }

// Flags per slot (slots.size() + 1 entries) with the named types set.
std::vector<unsigned char> flags(const ls::Model& m, std::vector<std::string> types) {
    std::vector<unsigned char> f(m.slots.size() + 1, 0);
    for (const auto& t : types) f[m.slot_for(t)] = 1;
    return f;
}

std::vector<ls::Value> values(const ls::Model& m, std::vector<std::pair<std::string, ls::Value>> kv) {
    std::vector<ls::Value> v(m.fields.size());
    for (auto& [k, x] : kv) {
        int i = m.field_for(k);
        if (i >= 0) v[i] = x;
    }
    return v;
}

TEST(Score, WeightsAndClamp) {
    auto m = model();
    EXPECT_DOUBLE_EQ(ls::total_score(*m, 40, 10), 0.5 * 40 + 2 * 10);  // 40
    EXPECT_DOUBLE_EQ(ls::total_score(*m, 100, 100), 100);               // 250 clamped to max
    EXPECT_DOUBLE_EQ(ls::total_score(*m, -100, 0), 0);                  // -50 clamped to min
    auto plain = model("{}");
    EXPECT_DOUBLE_EQ(ls::total_score(*plain, 12.5, -3), 9.5);  // weights default to 1, no clamps
}

TEST(Grade, FirstMatchAndExactCut) {
    auto m = model();
    EXPECT_EQ(*ls::grade_for(*m, 75), "A");  // exactly at the cut
    EXPECT_EQ(*ls::grade_for(*m, 74.999), "B");
    EXPECT_EQ(*ls::grade_for(*m, 50), "B");
    EXPECT_EQ(*ls::grade_for(*m, 25), "C");
    EXPECT_EQ(ls::grade_for(*m, 24.9), nullptr);
    EXPECT_EQ(ls::grade_for(*model("{}"), 1000), nullptr);
    // Order matters: the first entry whose min_fit <= F, even when a later one is higher.
    auto odd = model(R"({"grades": [{"grade": "low", "min_fit": 0}, {"grade": "high", "min_fit": 90}]})");
    EXPECT_EQ(*ls::grade_for(*odd, 95), "low");
}

TEST(Stage, ThresholdsEventsAndDefault) {
    auto m = model();
    auto none = flags(*m, {});
    auto demo = flags(*m, {"demo_request"});
    // Exactly at min_score 80 with the event: SQL.
    EXPECT_EQ(ls::stage_for(*m, 80, 0, 0, demo.data()), "SQL");
    // Without the event: falls to MQL3.
    EXPECT_EQ(ls::stage_for(*m, 80, 0, 0, none.data()), "MQL3");
    EXPECT_EQ(ls::stage_for(*m, 80, 0, 0, nullptr), "MQL3");
    EXPECT_EQ(ls::stage_for(*m, 79.99, 0, 0, demo.data()), "MQL3");
    EXPECT_EQ(ls::stage_for(*m, 60, 0, 0, none.data()), "MQL3");
    // MQL2 needs both min_score 30 and min_activity 5.
    EXPECT_EQ(ls::stage_for(*m, 30, 0, 5, none.data()), "MQL2");
    EXPECT_EQ(ls::stage_for(*m, 30, 0, 4.9, none.data()), "new");
    EXPECT_EQ(ls::stage_for(*m, 30, 40, 4.9, none.data()), "MQL1");
    EXPECT_EQ(ls::stage_for(*m, 0, 39.9, 0, none.data()), "new");
    EXPECT_EQ(ls::stage_for(*m, 99, 99, 99, demo.data(), true), "disqualified");
    auto custom = model(R"({"stages": [{"stage": "any"}], "default_stage": "cold"})");
    EXPECT_EQ(ls::stage_for(*custom, -1e9, 0, 0, nullptr), "any");  // no conditions: always holds
    auto empty = model(R"({"default_stage": "cold"})");
    EXPECT_EQ(ls::stage_for(*empty, 50, 50, 50, nullptr), "cold");
    // An event type only a stage names still gets its own slot.
    auto ev = model(R"({"stages": [{"stage": "hot", "event": "webinar"}]})");
    auto web = flags(*ev, {"webinar"});
    auto other = flags(*ev, {"page_view"});
    EXPECT_EQ(ls::stage_for(*ev, 0, 0, 0, web.data()), "hot");
    EXPECT_EQ(ls::stage_for(*ev, 0, 0, 0, other.data()), "new");
}

TEST(Disqualify, RulesAndEvents) {
    auto m = model();
    auto none = flags(*m, {});
    auto v_ok = values(*m, {{"email", ls::Value::string("a@example.com")}, {"status", ls::Value::string("ok")}});
    auto v_comp = values(*m, {{"email", ls::Value::string("Bob@Competitor.COM")}});
    auto v_inv = values(*m, {{"status", ls::Value::string("INVALID")}});
    auto v_missing = values(*m, {});
    EXPECT_FALSE(ls::is_disqualified(*m, v_ok.data(), none.data()));
    EXPECT_TRUE(ls::is_disqualified(*m, v_comp.data(), none.data()));  // case-insensitive regex
    EXPECT_TRUE(ls::is_disqualified(*m, v_inv.data(), nullptr));
    EXPECT_FALSE(ls::is_disqualified(*m, v_missing.data(), nullptr));
    auto complaint = flags(*m, {"complaint"});
    auto bounce_demo = flags(*m, {"bounce", "demo_request"});
    auto demo = flags(*m, {"demo_request", "page_view", "other"});
    EXPECT_TRUE(ls::is_disqualified(*m, v_ok.data(), complaint.data()));
    EXPECT_TRUE(ls::disqualified_by_events(*m, bounce_demo.data()));
    EXPECT_FALSE(ls::disqualified_by_events(*m, demo.data()));
    EXPECT_FALSE(ls::disqualified_by_events(*m, nullptr));
}

TEST(Bant, CriteriaMetAndQualified) {
    auto m = model();
    auto all = values(*m, {{"budget", ls::Value::number(10000)},
                           {"title", ls::Value::string("CTO")},
                           {"pain", ls::Value::string("slow")}});
    ls::BantResult r = ls::bant(*m, all.data());
    EXPECT_EQ(r.budget, 1);
    EXPECT_EQ(r.authority, 1);
    EXPECT_EQ(r.need, 1);
    EXPECT_EQ(r.timeline, -1);  // not defined: NULL, not counted
    EXPECT_EQ(r.met, 3);
    EXPECT_TRUE(r.qualified);
    auto one = values(*m, {{"budget", ls::Value::string("9999.99")}, {"title", ls::Value::string("cto")}});
    r = ls::bant(*m, one.data());
    EXPECT_EQ(r.budget, 0);
    EXPECT_EQ(r.authority, 1);
    EXPECT_EQ(r.need, 0);
    EXPECT_EQ(r.met, 1);
    EXPECT_FALSE(r.qualified);  // qualify_at 2
    auto none = model("{}");
    r = ls::bant(*none, nullptr);
    EXPECT_EQ(r.budget, -1);
    EXPECT_EQ(r.met, 0);
    EXPECT_FALSE(r.qualified);  // default qualify_at 3
    auto zero = model(R"({"bant": {"qualify_at": 0}})");
    EXPECT_TRUE(ls::bant(*zero, nullptr).qualified);
}

constexpr double kDay = 86400;

TEST(Engagement, Ratios) {
    const double d60 = 60 * kDay;
    EXPECT_EQ(ls::engagement_rating(5, 4, true, 0, d60), 5);  // exactly 0.8
    EXPECT_EQ(ls::engagement_rating(10, 8, true, 0, d60), 5);
    EXPECT_EQ(ls::engagement_rating(10, 10, true, 0, d60), 5);
    EXPECT_EQ(ls::engagement_rating(1000000, 799999, true, 0, d60), 4);
    EXPECT_EQ(ls::engagement_rating(5, 3, true, 0, d60), 4);  // exactly 0.6
    EXPECT_EQ(ls::engagement_rating(5, 2, true, 0, d60), 3);  // exactly 0.4
    EXPECT_EQ(ls::engagement_rating(10, 3, true, 0, d60), 2);
    EXPECT_EQ(ls::engagement_rating(5, 1, true, 0, d60), 2);  // exactly 0.2
    EXPECT_EQ(ls::engagement_rating(100, 19, true, 0, d60), 1);
    EXPECT_EQ(ls::engagement_rating(3, 0, false, 0, d60), 0);  // never opened
    EXPECT_EQ(ls::engagement_rating(3, 0, true, 0, d60), 0);
}

TEST(Engagement, Inactivity) {
    const double d60 = 60 * kDay;
    EXPECT_EQ(ls::engagement_rating(5, 5, true, d60, d60), 5);      // exactly 60 days: still rated
    EXPECT_EQ(ls::engagement_rating(5, 5, true, d60 + 1e-6, d60), 0);  // one microsecond more
    EXPECT_EQ(ls::engagement_rating(5, 5, true, -kDay, d60), 5);    // last open after as_of
    EXPECT_EQ(ls::engagement_rating(5, 5, true, 1, 0), 0);          // inactive_after 0
    EXPECT_EQ(ls::engagement_rating(5, 5, true, 0, 0), 5);
    EXPECT_EQ(ls::engagement_rating(5, 5, true, std::numeric_limits<double>::infinity(), d60), 0);
    EXPECT_EQ(ls::engagement_rating(5, 2, false, 0, d60), -1);  // opened but last open unknown: NULL
}

TEST(Engagement, ImpossibleCounts) {
    auto code_of = [](auto f) {
        try {
            f();
        } catch (const ls::Error& e) {
            return static_cast<int>(e.code());
        }
        return -1;
    };
    const int bad = static_cast<int>(ls::ErrorCode::InvalidParameter);
    EXPECT_EQ(code_of([] { ls::engagement_rating(0, 0, false, 0, 1); }), bad);
    EXPECT_EQ(code_of([] { ls::engagement_rating(-1, 0, false, 0, 1); }), bad);
    EXPECT_EQ(code_of([] { ls::engagement_rating(5, -1, false, 0, 1); }), bad);
    EXPECT_EQ(code_of([] { ls::engagement_rating(5, 6, true, 0, 1); }), bad);
    EXPECT_EQ(code_of([] { ls::engagement_rating(5, 1, true, 0, -1); }), bad);
    try {
        ls::engagement_rating(5, 6, true, 0, 1);
    } catch (const ls::Error& e) {
        EXPECT_STREQ(e.what(), "engagement_rating: opened (6) is more than sent (5)");
    }
}

// Malformed qualification keys: each error names its JSON path.
using qualify_test::spec_error;

TEST(Spec, MalformedQualificationKeys) {
    EXPECT_EQ(spec_error(R"({"grades": {"grade": "A"}})"), "invalid model spec at $.grades: expected an array, got object");
    EXPECT_EQ(spec_error(R"({"grades": [{"grade": "A"}]})"),
              "invalid model spec at $.grades[0]: missing required key \"min_fit\"");
    EXPECT_EQ(spec_error(R"({"grades": [{"grade": "A", "min_fit": "75"}]})"),
              "invalid model spec at $.grades[0].min_fit: expected a number, got string");
    EXPECT_EQ(spec_error(R"({"stages": [{"stage": "SQL", "min_scor": 1}]})").rfind(
                  "invalid model spec at $.stages[0].min_scor: unknown key \"min_scor\"", 0),
              0u);
    EXPECT_EQ(spec_error(R"({"stages": [{"stage": "disqualified"}]})"),
              "invalid model spec at $.stages[0].stage: \"disqualified\" is reserved for disqualified leads");
    EXPECT_EQ(spec_error(R"({"stages": [{"min_score": 3}]})"),
              "invalid model spec at $.stages[0]: missing required key \"stage\"");
    EXPECT_EQ(spec_error(R"({"stages": [{"stage": "x", "event": 3}]})"),
              "invalid model spec at $.stages[0].event: expected a string, got number");
    EXPECT_EQ(spec_error(R"({"default_stage": "disqualified"})"),
              "invalid model spec at $.default_stage: \"disqualified\" is reserved for disqualified leads");
    EXPECT_EQ(spec_error(R"({"default_stage": ""})"), "invalid model spec at $.default_stage: expected a non-empty string");
    EXPECT_EQ(spec_error(R"({"weights": {"fit": "1"}})"),
              "invalid model spec at $.weights.fit: expected a number, got string");
    EXPECT_EQ(spec_error(R"({"weights": {"total": 1}})").rfind("invalid model spec at $.weights.total: unknown key", 0), 0u);
    EXPECT_EQ(spec_error(R"({"score": {"min": 10, "max": 5}})"), "invalid model spec at $.score.min: min is above max");
    EXPECT_EQ(spec_error(R"({"disqualify": {"events": "complaint"}})"),
              "invalid model spec at $.disqualify.events: expected an array, got string");
    EXPECT_EQ(spec_error(R"({"disqualify": {"rules": [{"field": "x", "eq": 1, "points": 5}]}})").rfind(
                  "invalid model spec at $.disqualify.rules[0].points: unknown key \"points\"", 0),
              0u);
    EXPECT_EQ(spec_error(R"({"bant": {"budget": {"field": "b"}}})").rfind(
                  "invalid model spec at $.bant.budget: a rule needs one predicate", 0),
              0u);
    EXPECT_EQ(spec_error(R"({"bant": {"qualify_at": 5}})"),
              "invalid model spec at $.bant.qualify_at: expected an integer from 0 to 4, got 5");
    EXPECT_EQ(spec_error(R"({"bant": {"money": {}}})").rfind("invalid model spec at $.bant.money: unknown key", 0), 0u);
}

}  // namespace
