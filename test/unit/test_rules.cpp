// Every fit predicate of doc/foundation.md against every kind of value, plus the
// fit sum, its clamps and fit_matches. Expected results follow the doc
// rules: string comparisons are case-insensitive, numeric predicates accept
// numbers and wholly-numeric strings, anything else is false; a missing or
// null field makes every predicate false except exists: false.
#include "core/fit.hpp"
#include "core/spec.hpp"
#include "core/value.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

using ls::Value;

namespace {

std::shared_ptr<const ls::Model> one_rule(const std::string& predicate) {
    return ls::parse_model(R"({"fit": {"rules": [{"field": "x", )" + predicate + R"(, "points": 1}]}})");
}

bool M(const std::string& predicate, const Value& v) { return one_rule(predicate)->fit.rules[0].matches(v); }

const Value N(double x) { return Value::number(x); }
const Value S(const char* s) { return Value::string(s); }
const Value B(bool b) { return Value::boolean(b); }
const Value kNull = Value::null();
const Value kMissing = Value::missing();
const Value kOther = Value::other();

// Missing, null: false for everything but exists:false.
void absent_is_false(const std::string& predicate) {
    EXPECT_FALSE(M(predicate, kNull)) << predicate << " on null";
    EXPECT_FALSE(M(predicate, kMissing)) << predicate << " on missing";
}

}  // namespace

TEST(Predicate, EqNumber) {
    const char* p = R"("eq": 250)";
    EXPECT_TRUE(M(p, N(250)));
    EXPECT_TRUE(M(p, S("250")));
    EXPECT_TRUE(M(p, S(" 2.5e2 ")));
    EXPECT_FALSE(M(p, N(250.5)));
    EXPECT_FALSE(M(p, S("250 employees")));
    EXPECT_FALSE(M(p, S("abc")));
    EXPECT_FALSE(M(p, B(true)));
    EXPECT_FALSE(M(R"("eq": 1)", B(true)));  // booleans are not numbers
    EXPECT_FALSE(M(p, kOther));
    EXPECT_FALSE(M(R"("eq": 0)", S("NaN")));
    absent_is_false(p);
}

TEST(Predicate, EqString) {
    EXPECT_TRUE(M(R"("eq": "Software")", S("SOFTWARE")));
    EXPECT_TRUE(M(R"("eq": "Software")", S("software")));
    EXPECT_FALSE(M(R"("eq": "Software")", S("software ")));
    EXPECT_FALSE(M(R"("eq": "Software")", S("Soft")));
    EXPECT_TRUE(M(R"("eq": "ÄRZTE")", S("ärzte")));
    EXPECT_TRUE(M(R"("eq": "ärzte")", S("ÄRZTE")));
    EXPECT_TRUE(M(R"("eq": "Ελλάδα")", S("ελλάδα")));
    EXPECT_TRUE(M(R"("eq": "")", S("")));
    // a numeric string operand equals the same number
    EXPECT_TRUE(M(R"("eq": "250")", N(250)));
    EXPECT_TRUE(M(R"("eq": "2.5e2")", N(250)));
    EXPECT_FALSE(M(R"("eq": "abc")", N(0)));
    EXPECT_FALSE(M(R"("eq": "Software")", kOther));
    absent_is_false(R"("eq": "Software")");
}

TEST(Predicate, EqBoolean) {
    EXPECT_TRUE(M(R"("eq": true)", B(true)));
    EXPECT_FALSE(M(R"("eq": true)", B(false)));
    EXPECT_TRUE(M(R"("eq": false)", B(false)));
    EXPECT_TRUE(M(R"("eq": true)", S("TRUE")));
    EXPECT_FALSE(M(R"("eq": true)", S("yes")));
    EXPECT_FALSE(M(R"("eq": true)", N(1)));
    EXPECT_TRUE(M(R"("eq": "true")", B(true)));
    EXPECT_FALSE(M(R"("eq": true)", kOther));
    absent_is_false(R"("eq": true)");
    absent_is_false(R"("eq": false)");
}

TEST(Predicate, Neq) {
    const char* p = R"("neq": "gmail.com")";
    EXPECT_TRUE(M(p, S("acme.com")));
    EXPECT_FALSE(M(p, S("GMAIL.COM")));
    EXPECT_TRUE(M(p, N(5)));
    EXPECT_TRUE(M(p, B(false)));
    EXPECT_FALSE(M(p, kOther));
    EXPECT_FALSE(M(R"("neq": 250)", S(" 2.5e2 ")));
    EXPECT_TRUE(M(R"("neq": 250)", S("abc")));
    absent_is_false(p);
}

TEST(Predicate, InAndNotIn) {
    const char* in = R"("in": ["Software", "ÄRZTE", 3, true])";
    EXPECT_TRUE(M(in, S("software")));
    EXPECT_TRUE(M(in, S("Ärzte")));
    EXPECT_TRUE(M(in, N(3)));
    EXPECT_TRUE(M(in, S("3")));
    EXPECT_TRUE(M(in, S(" 3.0 ")));
    EXPECT_TRUE(M(in, B(true)));
    EXPECT_FALSE(M(in, B(false)));
    EXPECT_FALSE(M(in, S("Hardware")));
    EXPECT_FALSE(M(in, N(4)));
    EXPECT_FALSE(M(in, kOther));
    absent_is_false(in);

    const char* not_in = R"("not_in": ["gmail.com", "Yahoo.com"])";
    EXPECT_TRUE(M(not_in, S("acme.com")));
    EXPECT_FALSE(M(not_in, S("YAHOO.COM")));
    EXPECT_TRUE(M(not_in, N(1)));
    EXPECT_FALSE(M(not_in, kOther));
    absent_is_false(not_in);
}

TEST(Predicate, Comparisons) {
    EXPECT_TRUE(M(R"("gt": 100)", N(250)));
    EXPECT_TRUE(M(R"("gt": 100)", S("250")));
    EXPECT_TRUE(M(R"("gt": 100)", S(" 2.5e2 ")));
    EXPECT_FALSE(M(R"("gt": 100)", N(100)));
    EXPECT_FALSE(M(R"("gt": 100)", S("abc")));
    EXPECT_FALSE(M(R"("gt": 100)", S("250 staff")));
    EXPECT_FALSE(M(R"("gt": 100)", S("Infinity")));
    EXPECT_FALSE(M(R"("gt": 0)", B(true)));
    EXPECT_FALSE(M(R"("gt": 0)", kOther));
    EXPECT_TRUE(M(R"("gte": 100)", N(100)));
    EXPECT_FALSE(M(R"("gte": 100)", N(99.999)));
    EXPECT_TRUE(M(R"("gte": 100)", S("100")));
    EXPECT_TRUE(M(R"("lt": 0)", S("-1")));
    EXPECT_TRUE(M(R"("lt": 100)", N(99.5)));
    EXPECT_FALSE(M(R"("lt": 100)", N(100)));
    EXPECT_FALSE(M(R"("lt": 100)", S("")));
    EXPECT_FALSE(M(R"("lt": 1)", B(false)));
    EXPECT_TRUE(M(R"("lte": 100)", N(100)));
    EXPECT_FALSE(M(R"("lte": 100)", N(100.0001)));
    EXPECT_TRUE(M(R"("lte": 100)", S("1e2")));
    for (const char* p : {R"("gt": 0)", R"("gte": 0)", R"("lt": 0)", R"("lte": 0)"}) absent_is_false(p);
}

TEST(Predicate, Between) {
    const char* p = R"("between": [10, 20])";
    EXPECT_TRUE(M(p, N(10)));
    EXPECT_TRUE(M(p, N(20)));
    EXPECT_TRUE(M(p, N(15.5)));
    EXPECT_FALSE(M(p, N(9.99)));
    EXPECT_FALSE(M(p, N(20.5)));
    EXPECT_TRUE(M(p, S("15")));
    EXPECT_TRUE(M(p, S(" 1.5e1 ")));
    EXPECT_FALSE(M(p, S("fifteen")));
    EXPECT_FALSE(M(p, B(true)));
    EXPECT_FALSE(M(p, kOther));
    EXPECT_TRUE(M(R"("between": [5, 5])", N(5)));
    EXPECT_TRUE(M(R"("between": [-1.5, 0])", N(-1)));
    absent_is_false(p);
}

TEST(Predicate, Contains) {
    EXPECT_TRUE(M(R"("contains": "tech")", S("Chief TECHNOLOGY Officer")));
    EXPECT_FALSE(M(R"("contains": "tech")", S("Chief Executive")));
    EXPECT_TRUE(M(R"("contains": "ÄRZTE")", S("die ärzte gmbh")));
    EXPECT_TRUE(M(R"("contains": "")", S("")));
    // numbers and booleans are searched as JSON writes them
    EXPECT_TRUE(M(R"("contains": "25")", N(250)));
    EXPECT_TRUE(M(R"("contains": "2.3")", N(2.3)));
    EXPECT_TRUE(M(R"("contains": "0.1")", N(0.1)));
    EXPECT_FALSE(M(R"("contains": "0000")", N(0.1)));
    EXPECT_TRUE(M(R"("contains": "RU")", B(true)));
    EXPECT_FALSE(M(R"("contains": "a")", kOther));
    absent_is_false(R"("contains": "")");
}

TEST(Predicate, Matches) {
    const char* p = R"("matches": "^(vp|chief)\\b")";
    EXPECT_TRUE(M(p, S("VP Sales")));
    EXPECT_TRUE(M(p, S("chief revenue officer")));
    EXPECT_FALSE(M(p, S("Senior VP")));
    EXPECT_TRUE(M(R"("matches": "ärzte")", S("DIE ÄRZTE")));
    EXPECT_TRUE(M(R"("matches": "^\\d{3}$")", N(250)));
    EXPECT_FALSE(M(R"("matches": "^\\d{3}$")", N(2500)));
    EXPECT_TRUE(M(R"("matches": "^T")", B(true)));
    EXPECT_FALSE(M(R"("matches": ".*")", kOther));
    EXPECT_TRUE(M(R"("matches": "x")", S("aXb")));  // unanchored search
    absent_is_false(R"("matches": ".*")");
}

TEST(Predicate, MatchesIsLinearTime) {
    // (a+)+$ backtracks exponentially in std::regex and PCRE; RE2 is linear, so
    // this finishes at once (with a backtracking engine it would never finish).
    auto m = one_rule(R"("matches": "(a+)+$")");
    std::string s(100000, 'a');
    s.push_back('!');
    EXPECT_FALSE(m->fit.rules[0].matches(S(s.c_str())));
    s.pop_back();
    EXPECT_TRUE(m->fit.rules[0].matches(S(s.c_str())));
}

TEST(Predicate, Exists) {
    for (const Value& v : {N(0), S(""), B(false), kOther}) {
        EXPECT_TRUE(M(R"("exists": true)", v));
        EXPECT_FALSE(M(R"("exists": false)", v));
    }
    for (const Value& v : {kNull, kMissing}) {
        EXPECT_FALSE(M(R"("exists": true)", v));
        EXPECT_TRUE(M(R"("exists": false)", v));
    }
}

namespace {

const char* kFitSpec = R"({"fit": {"rules": [
    {"field": "industry", "eq": "software", "points": 20, "label": "software"},
    {"field": "employees", "gte": 100, "points": 15},
    {"field": "employees", "gte": 1000, "points": 10},
    {"field": "email_domain", "in": ["gmail.com", "yahoo.com"], "points": -30},
    {"field": "country", "exists": false, "points": -5}
  ], "min": -20, "max": 40}})";

}  // namespace

TEST(Fit, SumClampsAndMatches) {
    auto m = ls::parse_model(kFitSpec);
    ASSERT_EQ(m->fields, (std::vector<std::string>{"industry", "employees", "email_domain", "country"}));
    EXPECT_EQ(m->fit.rules[2].field_index, 1);
    std::vector<Value> v(4);
    // nothing matches but the missing country: -5
    EXPECT_EQ(ls::fit_raw(*m, v.data()), -5);
    EXPECT_EQ(ls::fit_score(*m, v.data()), -5);
    // 20 + 15 + 10 = 45, clamped to max 40
    v = {S("Software"), N(5000), S("acme.com"), S("DE")};
    EXPECT_EQ(ls::fit_raw(*m, v.data()), 45);
    EXPECT_EQ(ls::fit_score(*m, v.data()), 40);
    std::vector<int> matched;
    ls::fit_matches(*m, v.data(), &matched);
    EXPECT_EQ(matched, (std::vector<int>{0, 1, 2}));
    // -30 - 5 = -35, clamped to min -20
    v = {S("Retail"), S("12"), S("GMAIL.com"), kNull};
    EXPECT_EQ(ls::fit_raw(*m, v.data()), -35);
    EXPECT_EQ(ls::fit_score(*m, v.data()), -20);
    ls::fit_matches(*m, v.data(), &matched);
    EXPECT_EQ(matched, (std::vector<int>{3, 4}));
    // inside the bounds: 20 + 15 = 35
    v = {S("software"), S(" 250 "), S("acme.com"), S("US")};
    EXPECT_EQ(ls::fit_score(*m, v.data()), 35);
}

TEST(Fit, OnlyOneBoundAndNoRules) {
    auto lo = ls::parse_model(R"({"fit": {"rules": [{"field": "a", "exists": true, "points": -50}], "min": 0}})");
    Value a = N(1);
    EXPECT_EQ(ls::fit_score(*lo, &a), 0);
    auto hi = ls::parse_model(R"({"fit": {"rules": [{"field": "a", "exists": true, "points": 50}], "max": 10}})");
    EXPECT_EQ(ls::fit_score(*hi, &a), 10);
    a = kMissing;
    EXPECT_EQ(ls::fit_score(*hi, &a), 0);
    auto none = ls::parse_model(R"({"fit": {"rules": [], "min": 5}})");
    EXPECT_EQ(ls::fit_score(*none, nullptr), 5);
    auto empty = ls::parse_model("{}");
    EXPECT_EQ(ls::fit_score(*empty, nullptr), 0);
}

TEST(Bounds, Apply) {
    ls::Bounds b;
    EXPECT_EQ(b.apply(-1e300), -1e300);
    b.min = -1;
    b.max = 1;
    EXPECT_EQ(b.apply(-2), -1);
    EXPECT_EQ(b.apply(2), 1);
    EXPECT_EQ(b.apply(0.5), 0.5);
}
