#include "core/spec.hpp"

#include "core/error.hpp"
#include "core/value.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <nlohmann/json.hpp>

namespace ls {

using json = nlohmann::json;

std::string path_key(const std::string& parent, std::string_view key) {
    // ASCII only: <cctype> would follow the backend's LC_CTYPE, and a path in an
    // error message must not depend on the server's locale.
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    bool ident = !key.empty() && alpha(key[0]);
    for (char c : key)
        if (!(alpha(c) || (c >= '0' && c <= '9'))) ident = false;
    if (ident) return parent + "." + std::string(key);
    std::string q = parent + ".\"";
    for (char c : key) {
        if (c == '"' || c == '\\') q.push_back('\\');
        q.push_back(c);
    }
    return q + "\"";
}

namespace {

std::string idx(const std::string& parent, size_t i) { return parent + "[" + std::to_string(i) + "]"; }

const char* type_name(const json& j) {
    switch (j.type()) {
        case json::value_t::object: return "object";
        case json::value_t::array: return "array";
        case json::value_t::string: return "string";
        case json::value_t::boolean: return "boolean";
        case json::value_t::null: return "null";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float: return "number";
        default: return "value";
    }
}

[[noreturn]] void fail(const std::string& path, const std::string& msg) { throw SpecError(path, msg); }

void expect_object(const json& j, const std::string& path) {
    if (!j.is_object()) fail(path, std::string("expected an object, got ") + type_name(j));
}

void check_keys(const json& j, const std::string& path, std::initializer_list<const char*> allowed) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool ok = false;
        for (const char* a : allowed)
            if (it.key() == a) { ok = true; break; }
        if (!ok) {
            std::string list;
            for (const char* a : allowed) {
                if (!list.empty()) list += ", ";
                list += a;
            }
            fail(path_key(path, it.key()), "unknown key \"" + it.key() + "\" (expected one of: " + list + ")");
        }
    }
}

const json* member(const json& j, const char* key) {
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

double number(const json& j, const std::string& path) {
    if (!j.is_number()) fail(path, std::string("expected a number, got ") + type_name(j));
    double v = j.get<double>();
    if (!std::isfinite(v)) fail(path, "expected a finite number");
    return v;
}

int integer(const json& j, const std::string& path, int lo, int hi) {
    double v = number(j, path);
    if (v != std::floor(v)) fail(path, "expected an integer, got " + j.dump());
    if (v < lo || v > hi)
        fail(path, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " + j.dump());
    return static_cast<int>(v);
}

std::string string(const json& j, const std::string& path, bool nonempty = true) {
    if (!j.is_string()) fail(path, std::string("expected a string, got ") + type_name(j));
    std::string s = j.get<std::string>();
    if (nonempty && s.empty()) fail(path, "expected a non-empty string");
    return s;
}

bool boolean(const json& j, const std::string& path) {
    if (!j.is_boolean()) fail(path, std::string("expected a boolean, got ") + type_name(j));
    return j.get<bool>();
}

double positive_interval(const json& j, const std::string& path) {
    std::string s = string(j, path);
    double secs;
    try {
        secs = interval_seconds(s);
    } catch (const Error& e) {
        fail(path, e.what());
    }
    if (!(secs > 0)) fail(path, "expected a positive interval, got \"" + s + "\"");
    return secs;
}

const json& required(const json& j, const char* key, const std::string& path) {
    const json* m = member(j, key);
    if (!m) fail(path, std::string("missing required key \"") + key + "\"");
    return *m;
}

Operand operand(const json& j, const std::string& path) {
    Operand o;
    if (j.is_string()) {
        o.kind = Operand::String;
        std::string raw = j.get<std::string>();
        o.str = fold_case(raw);
        o.str_is_number = parse_number(raw, &o.str_num);
    } else if (j.is_number()) {
        o.kind = Operand::Number;
        o.num = number(j, path);
    } else if (j.is_boolean()) {
        o.kind = Operand::Bool;
        o.b = j.get<bool>();
    } else {
        fail(path, std::string("expected a string, number or boolean, got ") + type_name(j));
    }
    return o;
}

struct Builder {
    Model* m;
    size_t rules_seen = 0;
    size_t regexes_seen = 0;
    std::unordered_map<std::string, int> field_of;  // a hash, not a scan: up to kMaxRules fields

    int field_index(const std::string& f) {
        auto it = field_of.find(f);
        if (it != field_of.end()) return it->second;
        m->fields.push_back(f);
        int i = static_cast<int>(m->fields.size() - 1);
        field_of.emplace(f, i);
        return i;
    }

    Rule rule(const json& j, const std::string& path, bool with_points) {
        expect_object(j, path);
        if (++rules_seen > kMaxRules)
            fail(path, "too many rules (the limit is " + std::to_string(kMaxRules) + ")");
        static const char* const preds[] = {"eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte",
                                            "between", "contains", "matches", "exists"};
        if (with_points)
            check_keys(j, path, {"field", "points", "label", "eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte",
                                 "between", "contains", "matches", "exists"});
        else
            check_keys(j, path, {"field", "label", "eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "between",
                                 "contains", "matches", "exists"});
        Rule r;
        r.path = path;
        r.field = string(required(j, "field", path), path_key(path, "field"));
        r.field_index = field_index(r.field);
        if (const json* l = member(j, "label")) r.label = string(*l, path_key(path, "label"), false);
        if (with_points) {
            r.points = number(required(j, "points", path), path_key(path, "points"));
            r.has_points = true;
        }
        const char* found = nullptr;
        for (const char* p : preds) {
            const json* v = member(j, p);
            if (!v) continue;
            if (found) fail(path_key(path, p), std::string("a rule takes one predicate, found both \"") + found +
                                                   "\" and \"" + p + "\"");
            found = p;
            std::string pp = path_key(path, p);
            std::string name = p;
            if (name == "eq" || name == "neq") {
                r.op = name == "eq" ? Op::Eq : Op::Neq;
                r.operands.push_back(operand(*v, pp));
            } else if (name == "in" || name == "not_in") {
                r.op = name == "in" ? Op::In : Op::NotIn;
                if (!v->is_array()) fail(pp, std::string("expected an array, got ") + type_name(*v));
                if (v->empty()) fail(pp, "expected a non-empty array");
                for (size_t i = 0; i < v->size(); ++i) r.operands.push_back(operand((*v)[i], idx(pp, i)));
            } else if (name == "gt" || name == "gte" || name == "lt" || name == "lte") {
                r.op = name == "gt" ? Op::Gt : name == "gte" ? Op::Gte : name == "lt" ? Op::Lt : Op::Lte;
                r.lo = number(*v, pp);
            } else if (name == "between") {
                r.op = Op::Between;
                if (!v->is_array() || v->size() != 2)
                    fail(pp, std::string("expected an array [low, high], got ") +
                                 (v->is_array() ? "an array of " + std::to_string(v->size()) : type_name(*v)));
                r.lo = number((*v)[0], idx(pp, 0));
                r.hi = number((*v)[1], idx(pp, 1));
                if (r.lo > r.hi) fail(pp, "low bound " + (*v)[0].dump() + " is above high bound " + (*v)[1].dump());
            } else if (name == "contains") {
                r.op = Op::Contains;
                Operand o;
                o.kind = Operand::String;
                o.str = fold_case(string(*v, pp, false));
                r.operands.push_back(o);
            } else if (name == "matches") {
                r.op = Op::Matches;
                if (++regexes_seen > kMaxRegexes)
                    fail(pp, "too many \"matches\" rules (the limit is " + std::to_string(kMaxRegexes) + ")");
                r.pattern = string(*v, pp);
                RE2::Options opt;
                opt.set_case_sensitive(false);
                opt.set_log_errors(false);
                opt.set_max_mem(8 << 20);
                auto re = std::make_shared<const RE2>(r.pattern, opt);
                if (!re->ok()) fail(pp, "invalid regular expression: " + re->error());
                r.re = std::move(re);
            } else {
                r.op = Op::Exists;
                r.exists = boolean(*v, pp);
            }
        }
        if (!found)
            fail(path, "a rule needs one predicate (eq, neq, in, not_in, gt, gte, lt, lte, between, contains, "
                       "matches or exists)");
        return r;
    }

    void bounds(const json& j, const std::string& path, Bounds* b) {
        if (const json* v = member(j, "min")) b->min = number(*v, path_key(path, "min"));
        if (const json* v = member(j, "max")) b->max = number(*v, path_key(path, "max"));
        if (b->min && b->max && *b->min > *b->max)
            fail(path_key(path, "min"), "min is above max");
    }

    void fit(const json& j, const std::string& path) {
        expect_object(j, path);
        check_keys(j, path, {"rules", "min", "max"});
        m->has_fit = true;
        if (const json* rules = member(j, "rules")) {
            std::string rp = path_key(path, "rules");
            if (!rules->is_array()) fail(rp, std::string("expected an array, got ") + type_name(*rules));
            if (rules->size() > kMaxRules)
                fail(rp, "too many rules (the limit is " + std::to_string(kMaxRules) + ")");
            m->fit.rules.reserve(rules->size());
            for (size_t i = 0; i < rules->size(); ++i) m->fit.rules.push_back(rule((*rules)[i], idx(rp, i), true));
            // Any set of matching rules must add up to a finite score (no
            // Infinity, no Infinity - Infinity = NaN): the positive points and
            // the negative points must each sum to a finite number.
            double pos = 0, neg = 0;
            for (const Rule& r : m->fit.rules) (r.points > 0 ? pos : neg) += std::fabs(r.points);
            if (!std::isfinite(pos) || !std::isfinite(neg))
                fail(rp, "the points of the rules add up to more than a float8 can hold (about 1.8e308)");
        }
        bounds(j, path, &m->fit.bounds);
    }

    void decay(const json& j, const std::string& path) {
        expect_object(j, path);
        Decay& d = m->activity.decay;
        std::string kind = string(required(j, "kind", path), path_key(path, "kind"));
        if (kind == "none") {
            check_keys(j, path, {"kind"});
            d.kind = DecayKind::None;
        } else if (kind == "exponential") {
            check_keys(j, path, {"kind", "half_life"});
            d = Decay::make(DecayKind::Exponential,
                            positive_interval(required(j, "half_life", path), path_key(path, "half_life")));
        } else if (kind == "linear") {
            check_keys(j, path, {"kind", "lifetime"});
            d.kind = DecayKind::Linear;
            d.seconds = positive_interval(required(j, "lifetime", path), path_key(path, "lifetime"));
        } else if (kind == "step") {
            check_keys(j, path, {"kind", "expire_after"});
            d.kind = DecayKind::Step;
            d.seconds = positive_interval(required(j, "expire_after", path), path_key(path, "expire_after"));
        } else {
            fail(path_key(path, "kind"),
                 "unknown decay kind \"" + kind + "\" (expected none, exponential, linear or step)");
        }
    }

    void activity(const json& j, const std::string& path) {
        expect_object(j, path);
        check_keys(j, path, {"events", "decay", "window", "min", "max"});
        m->has_activity = true;
        if (const json* ev = member(j, "events")) {
            std::string ep = path_key(path, "events");
            expect_object(*ev, ep);
            if (ev->size() > kMaxEventTypes)
                fail(ep, "too many event types (the limit is " + std::to_string(kMaxEventTypes) + ")");
            for (auto it = ev->begin(); it != ev->end(); ++it) {
                std::string tp = path_key(ep, it.key());
                if (it.key().empty()) fail(tp, "an event type must be a non-empty string");
                expect_object(*it, tp);
                if (it.key() == "*") {
                    check_keys(*it, tp, {"points"});
                    m->activity.wildcard_points = number(required(*it, "points", tp), path_key(tp, "points"));
                    continue;
                }
                check_keys(*it, tp, {"points", "cap"});
                EventRule e;
                e.type = it.key();
                e.points = number(required(*it, "points", tp), path_key(tp, "points"));
                if (const json* c = member(*it, "cap")) {
                    e.cap = number(*c, path_key(tp, "cap"));
                    if (*e.cap < 0) fail(path_key(tp, "cap"), "expected a number >= 0");
                }
                m->activity.events.push_back(std::move(e));
            }
        }
        if (const json* d = member(j, "decay")) decay(*d, path_key(path, "decay"));
        if (const json* w = member(j, "window")) m->activity.window_seconds = positive_interval(*w, path_key(path, "window"));
        bounds(j, path, &m->activity.bounds);
    }

    void disqualify(const json& j, const std::string& path) {
        expect_object(j, path);
        check_keys(j, path, {"rules", "events"});
        if (const json* rules = member(j, "rules")) {
            std::string rp = path_key(path, "rules");
            if (!rules->is_array()) fail(rp, std::string("expected an array, got ") + type_name(*rules));
            for (size_t i = 0; i < rules->size(); ++i)
                m->disqualify.rules.push_back(rule((*rules)[i], idx(rp, i), false));
        }
        if (const json* ev = member(j, "events")) {
            std::string ep = path_key(path, "events");
            if (!ev->is_array()) fail(ep, std::string("expected an array, got ") + type_name(*ev));
            if (ev->size() > kMaxEventTypes)
                fail(ep, "too many event types (the limit is " + std::to_string(kMaxEventTypes) + ")");
            for (size_t i = 0; i < ev->size(); ++i) m->disqualify.events.push_back(string((*ev)[i], idx(ep, i)));
        }
    }

    void weights(const json& j, const std::string& path) {
        expect_object(j, path);
        check_keys(j, path, {"fit", "activity"});
        if (const json* v = member(j, "fit")) m->weight_fit = number(*v, path_key(path, "fit"));
        if (const json* v = member(j, "activity")) m->weight_activity = number(*v, path_key(path, "activity"));
    }

    void grades(const json& j, const std::string& path) {
        if (!j.is_array()) fail(path, std::string("expected an array, got ") + type_name(j));
        for (size_t i = 0; i < j.size(); ++i) {
            std::string gp = idx(path, i);
            expect_object(j[i], gp);
            check_keys(j[i], gp, {"grade", "min_fit"});
            GradeRule g;
            g.grade = string(required(j[i], "grade", gp), path_key(gp, "grade"));
            g.min_fit = number(required(j[i], "min_fit", gp), path_key(gp, "min_fit"));
            m->grades.push_back(std::move(g));
        }
    }

    void stages(const json& j, const std::string& path) {
        if (!j.is_array()) fail(path, std::string("expected an array, got ") + type_name(j));
        for (size_t i = 0; i < j.size(); ++i) {
            std::string sp = idx(path, i);
            expect_object(j[i], sp);
            check_keys(j[i], sp, {"stage", "min_score", "min_fit", "min_activity", "event"});
            StageRule s;
            s.stage = string(required(j[i], "stage", sp), path_key(sp, "stage"));
            if (s.stage == "disqualified")
                fail(path_key(sp, "stage"), "\"disqualified\" is reserved for disqualified leads");
            // A stage's funnel position is its index: a second entry of the
            // same name would put one stage at two positions.
            for (size_t k = 0; k < m->stages.size(); ++k)
                if (m->stages[k].stage == s.stage)
                    fail(path_key(sp, "stage"),
                         "duplicate stage \"" + s.stage + "\" (already at " + path_key(idx(path, k), "stage") + ")");
            if (const json* v = member(j[i], "min_score")) s.min_score = number(*v, path_key(sp, "min_score"));
            if (const json* v = member(j[i], "min_fit")) s.min_fit = number(*v, path_key(sp, "min_fit"));
            if (const json* v = member(j[i], "min_activity")) s.min_activity = number(*v, path_key(sp, "min_activity"));
            if (const json* v = member(j[i], "event")) s.event = string(*v, path_key(sp, "event"));
            m->stages.push_back(std::move(s));
        }
    }

    void bant(const json& j, const std::string& path) {
        expect_object(j, path);
        check_keys(j, path, {"budget", "authority", "need", "timeline", "qualify_at"});
        m->has_bant = true;
        if (const json* v = member(j, "budget")) m->bant.budget = rule(*v, path_key(path, "budget"), false);
        if (const json* v = member(j, "authority")) m->bant.authority = rule(*v, path_key(path, "authority"), false);
        if (const json* v = member(j, "need")) m->bant.need = rule(*v, path_key(path, "need"), false);
        if (const json* v = member(j, "timeline")) m->bant.timeline = rule(*v, path_key(path, "timeline"), false);
        if (const json* v = member(j, "qualify_at")) m->bant.qualify_at = integer(*v, path_key(path, "qualify_at"), 0, 4);
    }

    void range(const json* v, const std::string& path, int bins, int* lo, int* hi) {
        if (!v) return;
        if (v->is_array()) {
            if (v->size() != 2) fail(path, "expected a score or an array [low, high]");
            *lo = integer((*v)[0], idx(path, 0), 1, bins);
            *hi = integer((*v)[1], idx(path, 1), 1, bins);
            if (*lo > *hi) fail(path, "low bound is above high bound");
        } else {
            *lo = *hi = integer(*v, path, 1, bins);
        }
    }

    void rfm(const json& j, const std::string& path) {
        expect_object(j, path);
        check_keys(j, path, {"bins", "segments"});
        if (const json* v = member(j, "bins")) m->rfm.bins = integer(*v, path_key(path, "bins"), 2, 100);
        if (const json* segs = member(j, "segments")) {
            std::string sp = path_key(path, "segments");
            if (!segs->is_array()) fail(sp, std::string("expected an array, got ") + type_name(*segs));
            m->rfm.has_segments = true;
            for (size_t i = 0; i < segs->size(); ++i) {
                std::string p = idx(sp, i);
                const json& s = (*segs)[i];
                expect_object(s, p);
                check_keys(s, p, {"segment", "r", "f", "m"});
                RfmSegment seg;
                seg.segment = string(required(s, "segment", p), path_key(p, "segment"));
                const int b = m->rfm.bins;
                seg.r_hi = seg.f_hi = seg.m_hi = b;
                range(member(s, "r"), path_key(p, "r"), b, &seg.r_lo, &seg.r_hi);
                range(member(s, "f"), path_key(p, "f"), b, &seg.f_lo, &seg.f_hi);
                range(member(s, "m"), path_key(p, "m"), b, &seg.m_lo, &seg.m_hi);
                m->rfm.segments.push_back(std::move(seg));
            }
        }
    }

    void table(const json& j, const std::string& path, SourceTable* t, std::initializer_list<const char*> required_cols,
               std::initializer_list<const char*> optional_cols) {
        expect_object(j, path);
        for (auto it = j.begin(); it != j.end(); ++it) {
            bool ok = it.key() == "table";
            for (const char* c : required_cols) ok = ok || it.key() == c;
            for (const char* c : optional_cols) ok = ok || it.key() == c;
            if (!ok) {
                std::string list = "table";
                for (const char* c : required_cols) list += std::string(", ") + c;
                for (const char* c : optional_cols) list += std::string(", ") + c;
                fail(path_key(path, it.key()), "unknown key \"" + it.key() + "\" (expected one of: " + list + ")");
            }
        }
        t->present = true;
        t->table = string(required(j, "table", path), path_key(path, "table"));
        for (const char* c : required_cols) t->columns[c] = string(required(j, c, path), path_key(path, c));
        for (const char* c : optional_cols)
            if (const json* v = member(j, c)) t->columns[c] = string(*v, path_key(path, c));
    }

    void source(const json& j, const std::string& path) {
        expect_object(j, path);
        check_keys(j, path, {"leads", "events", "orders", "conversions", "target"});
        m->source.present = true;
        const json& leads = required(j, "leads", path);
        table(leads, path_key(path, "leads"), &m->source.leads, {"id"}, {"properties", "created"});
        if (const json* v = member(j, "events"))
            table(*v, path_key(path, "events"), &m->source.events, {"lead_id", "type", "time"}, {});
        if (const json* v = member(j, "orders"))
            table(*v, path_key(path, "orders"), &m->source.orders, {"lead_id", "time", "amount"}, {});
        if (const json* v = member(j, "conversions"))
            table(*v, path_key(path, "conversions"), &m->source.conversions, {"lead_id"}, {"time"});
        if (const json* v = member(j, "target")) m->source.target = string(*v, path_key(path, "target"));
    }

    // refresh.tick: a PostgreSQL interval literal (interval_seconds' grammar:
    // "N unit" pairs with microsecond ... week units, abbreviations and plurals,
    // hh:mm:ss) of at least one second, without months or years, which have no
    // fixed length (date_bin refuses them).
    void refresh(const json& j, const std::string& path) {
        expect_object(j, path);
        check_keys(j, path, {"tick"});
        const json* t = member(j, "tick");
        if (!t) return;
        const std::string tp = path_key(path, "tick");
        const std::string s = string(*t, tp);
        double secs = 0;
        bool months = false;
        try {
            secs = interval_seconds(s, &months);
        } catch (const Error& e) {
            fail(tp, e.what());
        }
        if (months)
            fail(tp, "a tick cannot contain months or years (they have no fixed length); write e.g. '30 days', got \"" + s +
                         "\"");
        if (!(secs >= 1)) fail(tp, "a tick must be at least 1 second, got \"" + s + "\"");
        if (!(secs <= 1e12)) fail(tp, "a tick must be at most 1e12 seconds, got \"" + s + "\"");
        m->refresh_tick_us = static_cast<int64_t>(std::llround(secs * 1e6));
    }

    void slots() {
        auto add = [&](const std::string& t) {
            if (m->slot_of.count(t)) return;
            if (m->slots.size() >= kMaxEventTypes * 2)
                throw SpecError("$", "too many event types (the limit is " + std::to_string(kMaxEventTypes) + ")");
            m->slot_of.emplace(t, static_cast<int>(m->slots.size()));
            m->slots.push_back(t);
        };
        for (const auto& e : m->activity.events) add(e.type);
        for (const auto& e : m->disqualify.events) add(e);
        for (const auto& s : m->stages)
            if (s.event) add(*s.event);
        const double other = m->activity.wildcard_points.value_or(0.0);
        const size_t n = m->slots.size();
        m->slot_points.assign(n + 1, other);
        m->slot_cap.assign(n + 1, std::numeric_limits<double>::infinity());
        m->slot_disqualifies.assign(n + 1, 0);
        for (const auto& e : m->activity.events) {
            int s = m->slot_of.at(e.type);
            m->slot_points[s] = e.points;
            if (e.cap) m->slot_cap[s] = *e.cap;
        }
        for (const auto& e : m->disqualify.events) m->slot_disqualifies[m->slot_of.at(e)] = 1;
        for (auto& s : m->stages)
            if (s.event) s.event_slot = m->slot_of.at(*s.event);
    }
};

// The DOM parser, plus the path of the value being parsed, so that a number
// beyond double's range (which nlohmann::json refuses while parsing, before any
// validation sees it) is reported at its path like every other bad number.
class PathSax : public nlohmann::detail::json_sax_dom_parser<json> {
    using Base = nlohmann::detail::json_sax_dom_parser<json>;
    struct Level {
        bool array;
        size_t count = 0;  // values begun so far (arrays)
        std::string key;   // current key (objects)
    };
    std::vector<Level> stack_;

    void begin_value() {
        if (!stack_.empty() && stack_.back().array) stack_.back().count++;
    }
    // Path of the value being parsed when an error stops the parser: the
    // pending element of the innermost container.
    std::string pending_path() const {
        std::string p = "$";
        for (size_t i = 0; i < stack_.size(); ++i) {
            const Level& l = stack_[i];
            const bool innermost = i + 1 == stack_.size();
            if (l.array)
                p = idx(p, innermost ? l.count : l.count - 1);
            else
                p = path_key(p, l.key);
        }
        return p;
    }

public:
    explicit PathSax(json& root) : Base(root, true) {}
    bool null() { begin_value(); return Base::null(); }
    bool boolean(bool v) { begin_value(); return Base::boolean(v); }
    bool number_integer(number_integer_t v) { begin_value(); return Base::number_integer(v); }
    bool number_unsigned(number_unsigned_t v) { begin_value(); return Base::number_unsigned(v); }
    bool number_float(number_float_t v, const string_t& s) { begin_value(); return Base::number_float(v, s); }
    bool string(string_t& v) { begin_value(); return Base::string(v); }
    bool binary(binary_t& v) { begin_value(); return Base::binary(v); }
    bool start_object(size_t n) {
        begin_value();
        stack_.push_back(Level{false, 0, {}});
        return Base::start_object(n);
    }
    bool key(string_t& k) {
        stack_.back().key = k;
        return Base::key(k);
    }
    bool end_object() { stack_.pop_back(); return Base::end_object(); }
    bool start_array(size_t n) {
        begin_value();
        stack_.push_back(Level{true, 0, {}});
        return Base::start_array(n);
    }
    bool end_array() { stack_.pop_back(); return Base::end_array(); }
    template <class Exception>
    bool parse_error(size_t pos, const std::string& token, const Exception& ex) {
        if (ex.id == 406) {  // number overflow
            std::string shown = token.size() > 24 ? token.substr(0, 20) + "..." : token;
            throw SpecError(pending_path(), "expected a finite number, got " + shown +
                                                " (beyond the range of float8)");
        }
        return Base::parse_error(pos, token, ex);
    }
};

}  // namespace

int Model::slot_for(std::string_view type) const {
    // Heterogeneous lookup without building a std::string per row: the few
    // slot names are compared directly when there are not many of them.
    if (slots.size() <= 8) {
        for (size_t i = 0; i < slots.size(); ++i)
            if (slots[i] == type) return static_cast<int>(i);
        return wildcard_slot();
    }
    auto it = slot_of.find(std::string(type));
    return it == slot_of.end() ? wildcard_slot() : it->second;
}

int Model::field_for(std::string_view name) const {
    for (size_t i = 0; i < fields.size(); ++i)
        if (fields[i] == name) return static_cast<int>(i);
    return -1;
}

Exp2Tables::Exp2Tables() {
    for (int k = 0; k < 256; ++k) {
        a[k] = std::exp2(-k / 256.0);
        b[k] = std::exp2(-k / 65536.0);
        c[k] = std::exp2(-k / 16777216.0);
    }
}

const Exp2Tables kExp2Tables;

std::shared_ptr<const Model> parse_model(std::string_view text) {
    if (text.size() > kMaxSpecBytes)
        throw SpecError("$", "spec is larger than the limit of " + std::to_string(kMaxSpecBytes) + " bytes");
    json j;
    try {
        PathSax sax(j);
        json::sax_parse(text.begin(), text.end(), &sax);
    } catch (const SpecError&) {
        throw;
    } catch (const json::exception& e) {
        throw SpecError("$", std::string("not valid JSON: ") + e.what());
    }
    auto m = std::make_shared<Model>();
    Builder b{m.get(), 0, 0, {}};
    const std::string root = "$";
    expect_object(j, root);
    check_keys(j, root, {"description", "fit", "activity", "disqualify", "weights", "score", "grades", "stages",
                         "default_stage", "bant", "rfm", "source", "refresh"});
    if (const json* v = member(j, "description")) string(*v, path_key(root, "description"), false);
    if (const json* v = member(j, "fit")) b.fit(*v, path_key(root, "fit"));
    if (const json* v = member(j, "activity")) b.activity(*v, path_key(root, "activity"));
    if (const json* v = member(j, "disqualify")) b.disqualify(*v, path_key(root, "disqualify"));
    if (const json* v = member(j, "weights")) b.weights(*v, path_key(root, "weights"));
    if (const json* v = member(j, "score")) {
        std::string p = path_key(root, "score");
        expect_object(*v, p);
        check_keys(*v, p, {"min", "max"});
        b.bounds(*v, p, &m->score_bounds);
    }
    if (const json* v = member(j, "grades")) b.grades(*v, path_key(root, "grades"));
    if (const json* v = member(j, "stages")) b.stages(*v, path_key(root, "stages"));
    if (const json* v = member(j, "default_stage")) {
        m->default_stage = string(*v, path_key(root, "default_stage"));
        if (m->default_stage == "disqualified")
            fail(path_key(root, "default_stage"), "\"disqualified\" is reserved for disqualified leads");
    }
    if (const json* v = member(j, "bant")) b.bant(*v, path_key(root, "bant"));
    if (const json* v = member(j, "rfm")) b.rfm(*v, path_key(root, "rfm"));
    if (const json* v = member(j, "source")) b.source(*v, path_key(root, "source"));
    if (const json* v = member(j, "refresh")) b.refresh(*v, path_key(root, "refresh"));
    b.slots();
    return m;
}

}  // namespace ls
