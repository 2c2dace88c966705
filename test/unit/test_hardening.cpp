// Regression tests for what the sanitizers, fuzzers and the bad-input catalogue
// found (doc/hardening.md). One test per finding, named after it.
#include "core/error.hpp"
#include "core/fit.hpp"
#include "core/spec.hpp"
#include "core/value.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

TEST(Hardening, SeedSpecsParse) {
    EXPECT_NO_THROW(ls::parse_model(R"({"fit": {"rules": [{"field": "a", "eq": 1, "points": 1}]}})"));
    EXPECT_THROW(ls::parse_model("[1"), ls::SpecError);
}

}  // namespace

namespace {

std::string many_rules(size_t n, bool distinct_fields) {
    std::string s = R"({"fit": {"rules": [)";
    for (size_t i = 0; i < n; ++i) {
        if (i) s += ",";
        s += R"({"field": "f)" + std::to_string(distinct_fields ? i : i % 7) + R"(", "gte": )" +
             std::to_string(i) + R"(, "points": 1})";
    }
    return s + "]}}";
}

// interval_seconds multiplied a quantity up to 1e15 by 12000 months in int64
// (signed overflow, found by UBSan on interval_fuzz input).
TEST(Hardening, IntervalMonthsOverflow) {
    EXPECT_THROW(ls::interval_seconds("999999999999999 millennium"), ls::Error);
    EXPECT_THROW(ls::interval_seconds("200000000 years"), ls::Error);
    EXPECT_THROW(ls::interval_seconds("2000000000 years 2000000000 years"), ls::Error);
    EXPECT_THROW(ls::interval_seconds("-2147483648 mons -1 mon"), ls::Error);
    // PostgreSQL's largest: 178956970 years 7 mons = 2147483647 months.
    EXPECT_DOUBLE_EQ(ls::interval_seconds("178956970 years 7 mons"),
                     178956970.0 * 365.25 * 86400 + 7 * 30.0 * 86400);
    EXPECT_DOUBLE_EQ(ls::interval_seconds("1.5 years"), (365.25 + 6 * 30) * 86400);  // 1 year 6 mons
}

// Two rules of 1e308 summed to Infinity, and with two of -1e308 to NaN: such a
// spec is now rejected, so every fit_score is finite.
TEST(Hardening, FitPointsSumOverflow) {
    const char* inf = R"({"fit": {"rules": [{"field": "a", "exists": true, "points": 1e308},
                                            {"field": "b", "exists": true, "points": 1e308}]}})";
    try {
        ls::parse_model(inf);
        FAIL() << "accepted points that add up to Infinity";
    } catch (const ls::SpecError& e) {
        EXPECT_EQ(e.path(), "$.fit.rules");
    }
    EXPECT_THROW(ls::parse_model(R"({"fit": {"rules": [{"field": "a", "exists": true, "points": -1e308},
                                                         {"field": "a", "exists": true, "points": -1e308}]}})"),
                 ls::SpecError);
    // One each way is fine: the sum of any subset is finite.
    auto m = ls::parse_model(R"({"fit": {"rules": [{"field": "a", "exists": true, "points": 8e307},
                                                     {"field": "a", "exists": true, "points": -1e308},
                                                     {"field": "a", "exists": true, "points": 8e307}]}})");
    ls::Value v = ls::Value::number(1);
    EXPECT_DOUBLE_EQ(ls::fit_score(*m, &v), 8e307 - 1e308 + 8e307);
    EXPECT_TRUE(std::isfinite(ls::fit_score(*m, &v)));
}

// kMaxRules rules with distinct fields: parse_model looked each field up with a
// linear scan (quadratic, minutes for 100,000 fields); one more rule is refused
// with the documented limit.
TEST(Hardening, MaxRulesSpec) {
    auto m = ls::parse_model(many_rules(ls::kMaxRules, true));
    EXPECT_EQ(m->fit.rules.size(), ls::kMaxRules);
    EXPECT_EQ(m->fields.size(), ls::kMaxRules);
    EXPECT_EQ(m->fit.rules[99999].field_index, 99999);
    try {
        ls::parse_model(many_rules(ls::kMaxRules + 1, false));
        FAIL() << "accepted more than kMaxRules rules";
    } catch (const ls::SpecError& e) {
        EXPECT_NE(std::string(e.what()).find("too many rules (the limit is 100000)"), std::string::npos) << e.what();
        EXPECT_EQ(e.path(), "$.fit.rules");  // refused before any rule is compiled
    }
}

// 100,000 "matches" rules took 10 s and 700 MB in one uninterruptible
// validate_model call; regular expressions now have their own limit.
TEST(Hardening, MaxRegexes) {
    auto spec = [](size_t n) {
        std::string s = R"({"fit": {"rules": [)";
        for (size_t i = 0; i < n; ++i) s += std::string(i ? "," : "") + R"({"field": "f", "matches": "^x)" + std::to_string(i) + R"($", "points": 1})";
        return s + "]}}";
    };
    EXPECT_EQ(ls::parse_model(spec(ls::kMaxRegexes))->fit.rules.size(), ls::kMaxRegexes);
    try {
        ls::parse_model(spec(ls::kMaxRegexes + 1));
        FAIL() << "accepted more than kMaxRegexes regular expressions";
    } catch (const ls::SpecError& e) {
        EXPECT_EQ(e.path(), "$.fit.rules[1000].matches");
    }
}

}  // namespace

namespace {

// A number beyond double's range (1e400: valid JSON, valid jsonb numeric) was
// reported as "invalid model spec at $: not valid JSON: ... number overflow
// parsing '1000...<400 digits>'"; now it is reported at its path.
TEST(Hardening, NumberOverflowHasPath) {
    auto path_of = [](const char* spec) {
        try {
            ls::parse_model(spec);
        } catch (const ls::SpecError& e) {
            return e.path() + " | " + e.what();
        }
        return std::string("accepted");
    };
    EXPECT_EQ(path_of(R"({"fit": {"rules": [{"field": "a", "eq": 1, "points": 1e400}]}})"),
              "$.fit.rules[0].points | invalid model spec at $.fit.rules[0].points: expected a finite number, got "
              "1e400 (beyond the range of float8)");
    EXPECT_EQ(path_of(R"({"fit": {"rules": [{"field": "a", "gt": 1}, {"field": "b", "in": [1, 2, -1e999]}]}})")
                  .substr(0, 28),
              "$.fit.rules[1].in[2] | inval");
    EXPECT_EQ(path_of("1e400").substr(0, 4), "$ | ");
    EXPECT_EQ(path_of(R"({"weird key": [[1e400]]})").substr(0, 19), R"($."weird key"[0][0])");
    // Other malformed JSON is still reported as such.
    EXPECT_NE(path_of(R"({"fit": )").find("not valid JSON"), std::string::npos);
}

// 10,000 levels of nesting: parsed without recursion, refused as a spec.
TEST(Hardening, DeeplyNestedSpec) {
    std::string deep = R"({"fit": )" + std::string(10000, '[') + std::string(10000, ']') + "}";
    EXPECT_THROW(ls::parse_model(deep), ls::SpecError);
    std::string deep_obj;
    for (int i = 0; i < 10000; ++i) deep_obj += R"({"a": )";
    deep_obj += "1" + std::string(10000, '}');
    EXPECT_THROW(ls::parse_model(deep_obj), ls::SpecError);
}

// Overlong UTF-8 (0xC1 0x81 is a non-canonical 'A') was decoded and folded to
// "a", shortening the string; invalid sequences now pass through unchanged.
TEST(Hardening, OverlongUtf8NotFolded) {
    const std::string overlong = "\xC1\x81\xC0\xAF";
    EXPECT_EQ(ls::fold_case(overlong), overlong);
    EXPECT_FALSE(ls::equals_folded(overlong, "a/"));
    EXPECT_EQ(ls::fold_case("\xC3\x84X"), "\xC3\xA4x");  // Ä X still folds
}

}  // namespace

namespace {

// The spec size limit is checked before parsing (kMaxSpecBytes, 16 MB).
TEST(Hardening, SpecSizeLimit) {
    std::string big = R"({"description": ")" + std::string(ls::kMaxSpecBytes, 'x') + R"("})";
    try {
        ls::parse_model(big);
        FAIL() << "accepted a spec above kMaxSpecBytes";
    } catch (const ls::SpecError& e) {
        EXPECT_EQ(e.path(), "$");
        EXPECT_NE(std::string(e.what()).find("larger than the limit"), std::string::npos) << e.what();
    }
}

}  // namespace
