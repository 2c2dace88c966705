// The typed form of a model spec (DESIGN.md §2). A spec is parsed and validated
// once by parse_model(); every evaluation works on these structures.
#pragma once
#include "core/cpp_only.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace re2 { class RE2; }

namespace ls {

struct Value;

// A literal a rule compares against. Strings are stored case-folded.
struct Operand {
    enum Kind : unsigned char { Bool, Number, String };
    Kind kind = String;
    bool b = false;
    double num = 0.0;
    std::string str;          // folded, for String
    bool str_is_number = false;  // String that parses wholly as a number
    double str_num = 0.0;
};

enum class Op : unsigned char { Eq, Neq, In, NotIn, Gt, Gte, Lt, Lte, Between, Contains, Matches, Exists };

// {"field": ..., <one predicate>, "points": n, "label": ...}
struct Rule {
    std::string field;
    int field_index = -1;  // into Model::fields
    Op op = Op::Eq;
    std::vector<Operand> operands;  // Eq/Neq/Contains: 1, In/NotIn: n
    double lo = 0, hi = 0;          // Gt..Lte use lo; Between uses both
    bool exists = true;
    std::shared_ptr<const re2::RE2> re;  // Matches
    std::string pattern;                 // Matches, as written
    double points = 0;
    bool has_points = false;
    std::string label;
    std::string path;  // JSON path of the rule in the spec, for messages

    bool matches(const Value& v) const;
};

struct Bounds {
    std::optional<double> min, max;
    double apply(double x) const {
        if (min && x < *min) x = *min;
        if (max && x > *max) x = *max;
        return x;
    }
};

struct FitSpec {
    std::vector<Rule> rules;
    Bounds bounds;
};

enum class DecayKind : unsigned char { None, Exponential, Linear, Step };

// 2^-x from tables instead of std::exp2, a library call that took a fifth of
// activity_score's transition function under perf: x = q + j/2^24 + r with q whole, j a 24-bit
// fraction looked up in three 256-entry tables of 2^-(k/2^8), 2^-(k/2^16),
// 2^-(k/2^24), and r < 2^-24 left to 1 + c1 r + c2 r^2 (the r^3 term is below
// 2^-73). Within 4 ulp of 2^-x, and exactly 2^-q when j = r = 0, so a whole
// number of half-lives decays exactly.
struct Exp2Tables {
    double a[256], b[256], c[256];
    Exp2Tables();
};
extern const Exp2Tables kExp2Tables;

// 2^-(q + j/2^24 + r), q < 1000 (a normal result), j < 2^24, 0 <= r < 2^-24.
__attribute__((always_inline)) inline double exp2_neg_parts(uint64_t q, uint64_t j, double r) {
    constexpr double c1 = -0.6931471805599453, c2 = 0.2402265069591007;  // -ln 2, (ln 2)^2 / 2
    const uint64_t bits = (1023 - q) << 52;
    double scale;
    std::memcpy(&scale, &bits, sizeof scale);
    const Exp2Tables& t = kExp2Tables;
    return (t.a[j >> 16] * t.b[(j >> 8) & 255]) * (t.c[j & 255] * (1.0 + r * (c1 + r * c2))) * scale;
}

// 2^-x for x >= 0.
inline double exp2_neg(double x) {
    if (!(x >= 0 && x < 999)) return std::exp2(-x);  // subnormal results, negatives, infinities, NaN
    const double t = x * 16777216.0;                  // exact
    const uint64_t n = static_cast<uint64_t>(t);     // floor
    return exp2_neg_parts(n >> 24, n & 0xFFFFFF, (t - static_cast<double>(n)) * 0x1p-24);
}

struct Decay {
    DecayKind kind = DecayKind::None;
    double seconds = 0;  // half_life, lifetime or expire_after
    // weight(age) of DESIGN.md §4, for age >= 0.
    double weight(double age) const {
        switch (kind) {
            case DecayKind::None: return 1.0;
            case DecayKind::Exponential: return exp2_neg(age / seconds);
            case DecayKind::Linear: return std::max(0.0, 1.0 - age / seconds);
            case DecayKind::Step: return age < seconds ? 1.0 : 0.0;
        }
        return 1.0;
    }
};

struct EventRule {
    std::string type;
    double points = 0;
    std::optional<double> cap;
};

struct ActivitySpec {
    std::vector<EventRule> events;  // in spec order, without "*"
    std::optional<double> wildcard_points;
    Decay decay;
    std::optional<double> window_seconds;
    Bounds bounds;
};

struct DisqualifySpec {
    std::vector<Rule> rules;
    std::vector<std::string> events;
};

struct GradeRule {
    std::string grade;
    double min_fit = 0;
};

struct StageRule {
    std::string stage;
    std::optional<double> min_score, min_fit, min_activity;
    std::optional<std::string> event;
    int event_slot = -1;  // into Model::slots, when event is set
};

struct BantSpec {
    std::optional<Rule> budget, authority, need, timeline;
    int qualify_at = 3;
};

struct RfmSegment {
    std::string segment;
    int r_lo = 1, r_hi = std::numeric_limits<int>::max();
    int f_lo = 1, f_hi = std::numeric_limits<int>::max();
    int m_lo = 1, m_hi = std::numeric_limits<int>::max();
};

struct RfmSpec {
    int bins = 5;
    bool has_segments = false;  // false: the default map of DESIGN.md §7 (bins = 5 only)
    std::vector<RfmSegment> segments;
};

// Names of the CRM's own tables and columns (DESIGN.md §8). Checked and quoted
// by the glue; the core only checks they are non-empty strings.
struct SourceTable {
    bool present = false;
    std::string table;
    std::unordered_map<std::string, std::string> columns;  // role -> column name
    const std::string* column(const std::string& role) const {
        auto it = columns.find(role);
        return it == columns.end() ? nullptr : &it->second;
    }
};

struct SourceSpec {
    bool present = false;
    SourceTable leads, events, orders, conversions;
    std::string target;  // empty: lead_scoring.ranking_<model>
};

struct Model {
    bool has_fit = false, has_activity = false;
    FitSpec fit;
    ActivitySpec activity;
    DisqualifySpec disqualify;
    double weight_fit = 1.0, weight_activity = 1.0;
    Bounds score_bounds;
    std::vector<GradeRule> grades;
    std::vector<StageRule> stages;
    std::string default_stage = "new";
    bool has_bant = false;
    BantSpec bant;
    RfmSpec rfm;
    SourceSpec source;
    // refresh.tick: rankings are scored at date_bin(tick, as_of, 1970-01-01 UTC)
    // (doc/rank.md, "Ticks"); whole microseconds, at least one second.
    int64_t refresh_tick_us = 3600LL * 1000000;

    // Every distinct lead field any rule reads, in first-use order; a rule's
    // field_index points here so the glue fetches each field once per lead.
    std::vector<std::string> fields;

    // Event-type slots: every type the spec names (activity.events keys, then
    // disqualify.events, then stage events), each once. Events of any other type
    // fall into the wildcard slot, index slots.size().
    std::vector<std::string> slots;
    std::vector<double> slot_points;  // per slot incl. wildcard
    std::vector<double> slot_cap;     // +inf where uncapped; wildcard uncapped
    std::vector<unsigned char> slot_disqualifies;  // type is in disqualify.events
    std::unordered_map<std::string, int> slot_of;

    int slot_for(std::string_view type) const;  // slots.size() for other types
    int wildcard_slot() const { return static_cast<int>(slots.size()); }
    int field_for(std::string_view name) const;  // -1 when no rule reads it
};

// Parses and validates a spec given as JSON text. Throws SpecError naming the
// JSON path of the first problem. Unknown keys are errors.
std::shared_ptr<const Model> parse_model(std::string_view json_text);

// Documented limits (README "Limits"): keeps a hostile spec from taking the
// backend's memory or time.
constexpr size_t kMaxRules = 100000;
// Compiling a regular expression costs ~0.1 ms and a few kB; 100,000 of them took
// 10 s and 700 MB in one uninterruptible call, so "matches" rules have their own limit.
constexpr size_t kMaxRegexes = 1000;
constexpr size_t kMaxEventTypes = 10000;
constexpr size_t kMaxSpecBytes = 16 * 1024 * 1024;

// A JSON path component, quoted as SQL/JSON path does when not an identifier.
std::string path_key(const std::string& parent, std::string_view key);

}  // namespace ls
