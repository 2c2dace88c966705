// Spec validation (doc/foundation.md): every malformed spec is rejected with the
// exact JSON path of its first problem; good specs parse into the typed model.
#include "core/error.hpp"
#include "core/spec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace {

// Asserts that spec is rejected at exactly `path`, and that the message is
// "invalid model spec at <path>: ..." and mentions `fragment`.
void rejects(const std::string& spec, const std::string& path, const std::string& fragment = "") {
    try {
        ls::parse_model(spec);
        ADD_FAILURE() << "accepted: " << spec;
    } catch (const ls::SpecError& e) {
        EXPECT_EQ(e.path(), path) << spec << "\n" << e.what();
        EXPECT_EQ(e.code(), ls::ErrorCode::InvalidParameter);
        const std::string msg = e.what();
        const std::string prefix = "invalid model spec at " + path + ": ";
        EXPECT_EQ(msg.substr(0, prefix.size()), prefix) << msg;
        EXPECT_NE(msg.find(fragment), std::string::npos) << msg << "\nlacks: " << fragment;
    }
}

std::string fit_rule(const std::string& body) { return R"({"fit": {"rules": [)" + body + "]}}"; }

}  // namespace

TEST(SpecErrors, Root) {
    rejects("", "$", "not valid JSON");
    rejects("{", "$", "not valid JSON");
    rejects(R"({"fit": {}} x)", "$", "not valid JSON");
    rejects("[]", "$", "expected an object, got array");
    rejects("42", "$", "expected an object, got number");
    rejects("null", "$", "expected an object, got null");
    rejects(R"({"fitt": {}})", "$.fitt", "unknown key \"fitt\"");
    rejects(R"({"page view": 1})", R"($."page view")", "unknown key");
    rejects(R"({"description": 5})", "$.description", "expected a string, got number");
    rejects(R"({"default_stage": ""})", "$.default_stage", "non-empty string");
    rejects(R"({"default_stage": "disqualified"})", "$.default_stage", "reserved");
}

TEST(SpecErrors, FitRules) {
    rejects(R"({"fit": []})", "$.fit", "expected an object, got array");
    rejects(R"({"fit": {"rule": []}})", "$.fit.rule", "unknown key \"rule\"");
    rejects(R"({"fit": {"rules": {}}})", "$.fit.rules", "expected an array, got object");
    rejects(fit_rule("5"), "$.fit.rules[0]", "expected an object, got number");
    rejects(fit_rule(R"({"eq": 1, "points": 1})"), "$.fit.rules[0]", "missing required key \"field\"");
    rejects(fit_rule(R"({"field": "", "eq": 1, "points": 1})"), "$.fit.rules[0].field", "non-empty");
    rejects(fit_rule(R"({"field": 3, "eq": 1, "points": 1})"), "$.fit.rules[0].field", "expected a string");
    rejects(fit_rule(R"({"field": "a", "eq": 1})"), "$.fit.rules[0]", "missing required key \"points\"");
    rejects(fit_rule(R"({"field": "a", "eq": 1, "points": "5"})"), "$.fit.rules[0].points",
            "expected a number, got string");
    rejects(fit_rule(R"({"field": "a", "points": 1})"), "$.fit.rules[0]", "needs one predicate");
    rejects(fit_rule(R"({"field": "a", "eq": 1, "gt": 0, "points": 1})"), "$.fit.rules[0].gt",
            "one predicate, found both \"eq\" and \"gt\"");
    rejects(fit_rule(R"({"field": "a", "eq": 1, "points": 1, "weight": 2})"), "$.fit.rules[0].weight",
            "unknown key \"weight\"");
    rejects(fit_rule(R"({"field": "a", "eq": 1, "points": 1, "label": 7})"), "$.fit.rules[0].label",
            "expected a string");
    rejects(fit_rule(R"({"field": "a", "eq": 1, "points": 1}, {"field": "b", "eq": null, "points": 1})"),
            "$.fit.rules[1].eq", "expected a string, number or boolean, got null");
    rejects(fit_rule(R"({"field": "a", "eq": [1], "points": 1})"), "$.fit.rules[0].eq", "got array");
    rejects(fit_rule(R"({"field": "a", "in": "x", "points": 1})"), "$.fit.rules[0].in", "expected an array");
    rejects(fit_rule(R"({"field": "a", "not_in": [], "points": 1})"), "$.fit.rules[0].not_in", "non-empty");
    rejects(fit_rule(R"({"field": "a", "in": ["x", {}], "points": 1})"), "$.fit.rules[0].in[1]", "got object");
    rejects(fit_rule(R"({"field": "a", "gt": "10", "points": 1})"), "$.fit.rules[0].gt", "expected a number");
    rejects(fit_rule(R"({"field": "a", "lte": true, "points": 1})"), "$.fit.rules[0].lte", "got boolean");
    rejects(fit_rule(R"({"field": "a", "exists": 1, "points": 1})"), "$.fit.rules[0].exists", "expected a boolean");
    rejects(fit_rule(R"({"field": "a", "contains": 5, "points": 1})"), "$.fit.rules[0].contains",
            "expected a string");
    rejects(fit_rule(R"({"field": "a", "matches": "(", "points": 1})"), "$.fit.rules[0].matches",
            "invalid regular expression");
    rejects(fit_rule(R"({"field": "a", "matches": "", "points": 1})"), "$.fit.rules[0].matches", "non-empty");
    // a pattern whose compiled program would be huge is refused, not compiled
    rejects(fit_rule(R"J({"field": "a", "matches": "((((a{100}){100}){100}){100})", "points": 1})J"),
            "$.fit.rules[0].matches", "invalid regular expression");
}

TEST(SpecErrors, Between) {
    const std::string ok = R"({"field": "a", "eq": 1, "points": 1}, {"field": "a", "eq": 1, "points": 1}, )";
    rejects(fit_rule(ok + R"({"field": "a", "between": [1, "x"], "points": 1})"), "$.fit.rules[2].between[1]",
            "expected a number, got string");
    rejects(fit_rule(R"({"field": "a", "between": [null, 2], "points": 1})"), "$.fit.rules[0].between[0]",
            "got null");
    rejects(fit_rule(R"({"field": "a", "between": [1, 2, 3], "points": 1})"), "$.fit.rules[0].between",
            "an array of 3");
    rejects(fit_rule(R"({"field": "a", "between": 5, "points": 1})"), "$.fit.rules[0].between", "got number");
    rejects(fit_rule(R"({"field": "a", "between": [10, 5], "points": 1})"), "$.fit.rules[0].between",
            "low bound 10 is above high bound 5");
}

TEST(SpecErrors, Clamps) {
    rejects(R"({"fit": {"min": 10, "max": 5}})", "$.fit.min", "min is above max");
    rejects(R"({"fit": {"max": "5"}})", "$.fit.max", "expected a number");
    rejects(R"({"activity": {"min": 1, "max": 0}})", "$.activity.min", "min is above max");
    rejects(R"({"score": {"min": 0, "max": 100, "avg": 1}})", "$.score.avg", "unknown key");
    rejects(R"({"score": []})", "$.score", "expected an object");
    rejects(R"({"weights": {"fit": "1"}})", "$.weights.fit", "expected a number");
    rejects(R"({"weights": {"fit": 1, "bant": 1}})", "$.weights.bant", "unknown key");
}

TEST(SpecErrors, Activity) {
    rejects(R"({"activity": {"events": {"demo_request": {"points": "50"}}}})",
            "$.activity.events.demo_request.points", "expected a number, got string");
    rejects(R"({"activity": {"events": {"page view": {"points": 1, "cap": -1}}}})",
            R"($.activity.events."page view".cap)", "expected a number >= 0");
    rejects(R"({"activity": {"events": {"a\"b": {"points": 1, "cap": "x"}}}})",
            R"($.activity.events."a\"b".cap)", "expected a number");
    rejects(R"({"activity": {"events": {"9lives": {"points": 1, "cap": "x"}}}})",
            R"($.activity.events."9lives".cap)");
    rejects(R"({"activity": {"events": {"web": {"cap": 5}}}})", "$.activity.events.web",
            "missing required key \"points\"");
    rejects(R"({"activity": {"events": {"web": {"points": 1, "decay": 5}}}})", "$.activity.events.web.decay",
            "unknown key");
    rejects(R"({"activity": {"events": {"*": {"points": 1, "cap": 5}}}})", R"($.activity.events."*".cap)",
            "unknown key");
    rejects(R"({"activity": {"events": {"": {"points": 1}}}})", R"($.activity.events."")", "non-empty");
    rejects(R"({"activity": {"events": {"web": 5}}})", "$.activity.events.web", "expected an object");
    rejects(R"({"activity": {"events": []}})", "$.activity.events", "expected an object, got array");
    rejects(R"({"activity": {"event": {}}})", "$.activity.event", "unknown key \"event\"");
    rejects(R"({"activity": {"window": "0 days"}})", "$.activity.window", "positive interval");
    rejects(R"({"activity": {"window": "-3 days"}})", "$.activity.window", "positive interval");
    rejects(R"({"activity": {"window": "forever"}})", "$.activity.window", "invalid interval \"forever\"");
    rejects(R"({"activity": {"window": 365}})", "$.activity.window", "expected a string");
}

TEST(SpecErrors, Decay) {
    rejects(R"({"activity": {"decay": "exponential"}})", "$.activity.decay", "expected an object");
    rejects(R"({"activity": {"decay": {}}})", "$.activity.decay", "missing required key \"kind\"");
    rejects(R"({"activity": {"decay": {"kind": "logarithmic"}}})", "$.activity.decay.kind",
            "unknown decay kind \"logarithmic\"");
    rejects(R"({"activity": {"decay": {"kind": "exponential"}}})", "$.activity.decay",
            "missing required key \"half_life\"");
    rejects(R"({"activity": {"decay": {"kind": "exponential", "lifetime": "9 days"}}})",
            "$.activity.decay.lifetime", "unknown key");
    rejects(R"({"activity": {"decay": {"kind": "exponential", "half_life": "0"}}})",
            "$.activity.decay.half_life", "positive interval");
    rejects(R"({"activity": {"decay": {"kind": "linear", "lifetime": "ninety days"}}})",
            "$.activity.decay.lifetime", "invalid interval");
    rejects(R"({"activity": {"decay": {"kind": "step", "expire_after": 90}}})", "$.activity.decay.expire_after",
            "expected a string");
    rejects(R"({"activity": {"decay": {"kind": "none", "half_life": "1 day"}}})", "$.activity.decay.half_life",
            "unknown key");
}

TEST(SpecErrors, DisqualifyGradesStages) {
    rejects(R"({"disqualify": {"rules": [{"field": "a", "eq": 1, "points": 5}]}})",
            "$.disqualify.rules[0].points", "unknown key \"points\"");
    rejects(R"({"disqualify": {"events": "complaint"}})", "$.disqualify.events", "expected an array");
    rejects(R"({"disqualify": {"events": ["bounce", 3]}})", "$.disqualify.events[1]", "expected a string");
    rejects(R"({"disqualify": {"types": []}})", "$.disqualify.types", "unknown key");
    rejects(R"({"grades": {"A": 75}})", "$.grades", "expected an array");
    rejects(R"({"grades": [{"grade": "A", "min_fit": 75}, {"grade": "B"}]})", "$.grades[1]",
            "missing required key \"min_fit\"");
    rejects(R"({"grades": [{"grade": "A", "min_fit": 75, "max_fit": 100}]})", "$.grades[0].max_fit", "unknown key");
    rejects(R"({"stages": [{"stage": "SQL", "min_score": "80"}]})", "$.stages[0].min_score",
            "expected a number, got string");
    rejects(R"({"stages": [{"stage": "SQL"}, {"min_score": 1}]})", "$.stages[1]", "missing required key \"stage\"");
    rejects(R"({"stages": [{"stage": "disqualified"}]})", "$.stages[0].stage", "reserved");
    rejects(R"({"stages": [{"stage": "SQL", "event": ""}]})", "$.stages[0].event", "non-empty");
    rejects(R"({"stages": [{"stage": "SQL", "score": 1}]})", "$.stages[0].score", "unknown key");
    rejects(R"({"stages": [{"stage": "SQL", "min_score": 80}, {"stage": "MQL", "min_score": 40},
                           {"stage": "SQL", "min_score": 20}]})",
            "$.stages[2].stage", "duplicate stage \"SQL\" (already at $.stages[0].stage)");
}

TEST(SpecErrors, Bant) {
    rejects(R"({"bant": {"budget": {"field": "budget", "gte": 1000, "points": 1}}})", "$.bant.budget.points",
            "unknown key");
    rejects(R"({"bant": {"budget": {"field": "budget"}}})", "$.bant.budget", "needs one predicate");
    rejects(R"({"bant": {"qualify_at": 5}})", "$.bant.qualify_at", "from 0 to 4");
    rejects(R"({"bant": {"qualify_at": 2.5}})", "$.bant.qualify_at", "expected an integer");
    rejects(R"({"bant": {"money": {}}})", "$.bant.money", "unknown key");
}

TEST(SpecErrors, Rfm) {
    rejects(R"({"rfm": {"bins": 1}})", "$.rfm.bins", "from 2 to 100");
    rejects(R"({"rfm": {"bins": 101}})", "$.rfm.bins", "from 2 to 100");
    rejects(R"({"rfm": {"bins": "5"}})", "$.rfm.bins", "expected a number");
    rejects(R"({"rfm": {"bins": 4.5}})", "$.rfm.bins", "expected an integer");
    rejects(R"({"rfm": {"segments": {}}})", "$.rfm.segments", "expected an array");
    rejects(R"({"rfm": {"segments": [{"r": 5}]}})", "$.rfm.segments[0]", "missing required key \"segment\"");
    rejects(R"({"rfm": {"segments": [{"segment": "X", "r": 6}]}})", "$.rfm.segments[0].r", "from 1 to 5");
    rejects(R"({"rfm": {"bins": 3, "segments": [{"segment": "X", "f": [1, 4]}]}})", "$.rfm.segments[0].f[1]",
            "from 1 to 3");
    rejects(R"({"rfm": {"segments": [{"segment": "X", "m": [4, 2]}]}})", "$.rfm.segments[0].m",
            "low bound is above high bound");
    rejects(R"({"rfm": {"segments": [{"segment": "X", "m": [1, 2, 3]}]}})", "$.rfm.segments[0].m");
    rejects(R"({"rfm": {"segments": [{"segment": "X", "r": 0}]}})", "$.rfm.segments[0].r", "from 1 to 5");
    rejects(R"({"rfm": {"segments": [{"segment": "X", "q": 1}]}})", "$.rfm.segments[0].q", "unknown key");
}

TEST(SpecErrors, Source) {
    rejects(R"({"source": {}})", "$.source", "missing required key \"leads\"");
    rejects(R"({"source": {"leads": {"table": "crm.leads"}}})", "$.source.leads", "missing required key \"id\"");
    rejects(R"({"source": {"leads": {"id": "id"}}})", "$.source.leads", "missing required key \"table\"");
    rejects(R"({"source": {"leads": {"table": "", "id": "id"}}})", "$.source.leads.table", "non-empty");
    rejects(R"({"source": {"leads": {"table": "l", "id": "id", "props": "p"}}})", "$.source.leads.props",
            "unknown key \"props\"");
    rejects(R"({"source": {"leads": {"table": "l", "id": 1}}})", "$.source.leads.id", "expected a string");
    rejects(R"({"source": {"leads": {"table": "l", "id": "id"}, "events": {"table": "e", "lead_id": "l"}}})",
            "$.source.events", "missing required key \"type\"");
    rejects(R"({"source": {"leads": {"table": "l", "id": "id"}, "orders": {"table": "o", "lead_id": "l", "time": "t"}}})",
            "$.source.orders", "missing required key \"amount\"");
    rejects(R"({"source": {"leads": {"table": "l", "id": "id"}, "conversions": {"table": "d"}}})",
            "$.source.conversions", "missing required key \"lead_id\"");
    rejects(R"({"source": {"leads": {"table": "l", "id": "id"}, "target": 5}})", "$.source.target",
            "expected a string");
    rejects(R"({"source": {"leads": {"table": "l", "id": "id"}, "deals": {}}})", "$.source.deals", "unknown key");
    rejects(R"({"source": {"leads": []}})", "$.source.leads", "expected an object");
}

TEST(SpecErrors, NonFiniteAndHugeNumbers) {
    rejects(fit_rule(R"({"field": "a", "gt": 1e999, "points": 1})"), "$.fit.rules[0].gt", "expected a finite number");
    rejects(R"({"rfm": {"bins": 1e300}})", "$.rfm.bins", "from 2 to 100");
}

TEST(SpecPath, Quoting) {
    EXPECT_EQ(ls::path_key("$", "fit"), "$.fit");
    EXPECT_EQ(ls::path_key("$", "_x9"), "$._x9");
    EXPECT_EQ(ls::path_key("$", "page view"), "$.\"page view\"");
    EXPECT_EQ(ls::path_key("$", "9a"), "$.\"9a\"");
    EXPECT_EQ(ls::path_key("$", "a-b"), "$.\"a-b\"");
    EXPECT_EQ(ls::path_key("$", ""), "$.\"\"");
    EXPECT_EQ(ls::path_key("$", "q\"\\"), "$.\"q\\\"\\\\\"");
    EXPECT_EQ(ls::path_key("$", "grüße"), "$.\"grüße\"");
}

TEST(SpecParse, FullModel) {
    auto m = ls::parse_model(R"J({
      "description": "demo",
      "fit": {"rules": [
          {"field": "industry", "in": ["Software", "SaaS"], "points": 20, "label": "target industry"},
          {"field": "title", "matches": "^(vp|chief)", "points": 15},
          {"field": "industry", "eq": "retail", "points": -5}],
        "min": 0, "max": 100},
      "activity": {"events": {"demo_request": {"points": 50, "cap": 100}, "page view": {"points": 1},
                              "*": {"points": 0.5}},
                   "decay": {"kind": "exponential", "half_life": "30 days"}, "window": "365 days",
                   "min": -50, "max": 200},
      "disqualify": {"rules": [{"field": "email", "contains": "@competitor.com"}],
                     "events": ["complaint", "demo_request"]},
      "weights": {"fit": 0.5, "activity": 2},
      "score": {"min": 0, "max": 100},
      "grades": [{"grade": "A", "min_fit": 75}, {"grade": "B", "min_fit": 50}],
      "stages": [{"stage": "SQL", "min_score": 80, "event": "webinar"}, {"stage": "MQL1", "min_fit": 40}],
      "default_stage": "cold",
      "bant": {"budget": {"field": "budget", "gte": 10000}, "qualify_at": 2},
      "rfm": {"bins": 4, "segments": [{"segment": "Best", "r": 4, "f": [3, 4]}]},
      "source": {"leads": {"table": "crm.leads", "id": "id", "properties": "props"},
                 "events": {"table": "crm.events", "lead_id": "lead_id", "type": "t", "time": "at"},
                 "target": "crm.ranking"}
    })J");
    EXPECT_TRUE(m->has_fit);
    EXPECT_TRUE(m->has_activity);
    ASSERT_EQ(m->fit.rules.size(), 3u);
    EXPECT_EQ(m->fit.rules[0].label, "target industry");
    EXPECT_EQ(m->fit.rules[0].path, "$.fit.rules[0]");
    EXPECT_EQ(m->fit.rules[2].field_index, 0);  // same field, same slot
    EXPECT_EQ(*m->fit.bounds.min, 0);
    EXPECT_EQ(*m->fit.bounds.max, 100);
    EXPECT_EQ(m->fields, (std::vector<std::string>{"industry", "title", "email", "budget"}));
    EXPECT_EQ(m->activity.decay.kind, ls::DecayKind::Exponential);
    EXPECT_EQ(m->activity.decay.seconds, 30 * 86400.0);
    EXPECT_EQ(*m->activity.window_seconds, 365 * 86400.0);
    EXPECT_EQ(*m->activity.wildcard_points, 0.5);
    // slots: activity types in spec order, then disqualify.events, then stage events, each once
    EXPECT_EQ(m->slots, (std::vector<std::string>{"demo_request", "page view", "complaint", "webinar"}));
    EXPECT_EQ(m->slot_for("page view"), 1);
    EXPECT_EQ(m->slot_for("unknown"), 4);
    EXPECT_EQ(m->wildcard_slot(), 4);
    EXPECT_EQ(m->slot_points, (std::vector<double>{50, 1, 0.5, 0.5, 0.5}));
    EXPECT_EQ(m->slot_cap[0], 100);
    EXPECT_TRUE(std::isinf(m->slot_cap[1]));
    EXPECT_EQ(m->slot_disqualifies, (std::vector<unsigned char>{1, 0, 1, 0, 0}));
    EXPECT_EQ(m->stages[0].event_slot, 3);
    EXPECT_EQ(m->weight_fit, 0.5);
    EXPECT_EQ(m->weight_activity, 2);
    EXPECT_EQ(m->default_stage, "cold");
    EXPECT_TRUE(m->has_bant);
    EXPECT_EQ(m->bant.qualify_at, 2);
    EXPECT_TRUE(m->bant.budget.has_value());
    EXPECT_FALSE(m->bant.need.has_value());
    EXPECT_EQ(m->rfm.bins, 4);
    ASSERT_EQ(m->rfm.segments.size(), 1u);
    EXPECT_EQ(m->rfm.segments[0].r_lo, 4);
    EXPECT_EQ(m->rfm.segments[0].r_hi, 4);
    EXPECT_EQ(m->rfm.segments[0].f_lo, 3);
    EXPECT_EQ(m->rfm.segments[0].m_lo, 1);
    EXPECT_EQ(m->rfm.segments[0].m_hi, 4);
    EXPECT_EQ(*m->source.leads.column("properties"), "props");
    EXPECT_EQ(m->source.target, "crm.ranking");
    EXPECT_EQ(m->source.orders.present, false);
}

TEST(SpecParse, Defaults) {
    auto m = ls::parse_model("{}");
    EXPECT_FALSE(m->has_fit);
    EXPECT_EQ(m->weight_fit, 1);
    EXPECT_EQ(m->weight_activity, 1);
    EXPECT_EQ(m->default_stage, "new");
    EXPECT_EQ(m->rfm.bins, 5);
    EXPECT_FALSE(m->rfm.has_segments);
    EXPECT_EQ(m->activity.decay.kind, ls::DecayKind::None);
    EXPECT_EQ(m->wildcard_slot(), 0);
    EXPECT_EQ(m->slot_points, std::vector<double>{0});
}

TEST(Decay, Weights) {
    ls::Decay d;
    EXPECT_EQ(d.weight(1e9), 1);
    d = ls::Decay::make(ls::DecayKind::Exponential, 100);
    EXPECT_DOUBLE_EQ(d.weight(0), 1);
    EXPECT_DOUBLE_EQ(d.weight(100), 0.5);
    EXPECT_DOUBLE_EQ(d.weight(300), 0.125);
    d = ls::Decay::make(ls::DecayKind::Linear, 100);
    EXPECT_DOUBLE_EQ(d.weight(25), 0.75);
    EXPECT_DOUBLE_EQ(d.weight(100), 0);
    EXPECT_DOUBLE_EQ(d.weight(150), 0);
    d = ls::Decay::make(ls::DecayKind::Step, 100);
    EXPECT_EQ(d.weight(99.9), 1);
    EXPECT_EQ(d.weight(100), 0);
}
