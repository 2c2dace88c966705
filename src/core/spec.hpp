// The typed form of a model spec (doc/foundation.md). A spec is parsed and validated
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

// The exponential weight 2^-(age / half_life), the only implementation of it
// (activity_score, activity_breakdown, the fused GROUP BY node, refresh and
// decay() all call it). Ages are whole microseconds, PostgreSQL's timestamp
// resolution. q = age / hl and rem = age % hl come from one multiply by 1/hl
// and a correction, and rem / hl as a 64-bit fraction from a 128-bit multiply
// by a fixed-point reciprocal, instead of two double divisions (age / 1e6,
// then by the half-life) whose latency the aggregate's next rows waited on.
// Whole half-lives are exact (rem = 0); other ages are within 4 ulp of
// 2^-(age / hl). A half-life of 2^52 us (~142 years) or more, where q * hl
// could overflow, falls back to exp2_neg(age / half_life) in seconds.
struct HalfLife {
    double seconds = 0;
    int64_t us = 0;       // the half-life in us; 0: the fallback
    double inv_us = 0;    // 1 / us
    uint64_t recip = 0;   // floor((2^(64 + shift) - 1) / us), in [2^63, 2^64)
    int shift = 0;        // floor(log2(us))

    static HalfLife of(double seconds) {
        HalfLife h;
        h.seconds = seconds;
        const double hl = seconds * 1e6;
        if (hl >= 1 && hl < 0x1p52) {
            h.us = std::llround(hl);
            h.inv_us = 1.0 / static_cast<double>(h.us);
            h.shift = 63 - __builtin_clzll(static_cast<uint64_t>(h.us));
            const unsigned __int128 one = 1;
            h.recip = static_cast<uint64_t>(((one << (64 + h.shift)) - 1) / static_cast<uint64_t>(h.us));
        }
        return h;
    }

    // 2^-(age_us / half-life), age_us >= 0. Inlined: as an exported inline
    // member it was called through the PLT.
    __attribute__((always_inline)) double weight_us(int64_t age_us) const {
        if (us == 0) return exp2_neg(static_cast<double>(age_us) / 1e6 / seconds);
        uint64_t q = static_cast<uint64_t>(static_cast<double>(age_us) * inv_us);
        if (q >= 1100) return 0;  // below 2^-1099: rounds to 0
        int64_t rem = age_us - static_cast<int64_t>(q) * us;
        if (rem < 0) {
            --q;
            rem += us;
        } else if (rem >= us) {
            ++q;
            rem -= us;
        }
        const uint64_t f = static_cast<uint64_t>((static_cast<unsigned __int128>(rem) * recip) >> shift);
        const double r = static_cast<double>(f & ((uint64_t{1} << 40) - 1)) * 0x1p-64;
        if (__builtin_expect(q >= 998, 0)) return std::ldexp(exp2_neg_parts(0, f >> 40, r), -static_cast<int>(q));
        return exp2_neg_parts(q, f >> 40, r);
    }

    // The same for an age in seconds, as (double)age_us / 1e6 gives it: the
    // age is taken back to its whole microseconds, so a caller holding seconds
    // gets bitwise what one holding microseconds gets. Ages beyond int64
    // microseconds (~292,000 years) in seconds.
    double weight(double age_s) const {
        const double a = age_s * 1e6;
        if (us != 0 && a >= 0 && a < 0x1p62) return weight_us(static_cast<int64_t>(a + 0.5));
        return exp2_neg(age_s / seconds);
    }
};

struct Decay {
    DecayKind kind = DecayKind::None;
    double seconds = 0;  // half_life, lifetime or expire_after
    HalfLife half_life;  // exponential only

    static Decay make(DecayKind kind, double seconds) {
        Decay d;
        d.kind = kind;
        d.seconds = seconds;
        if (kind == DecayKind::Exponential) d.half_life = HalfLife::of(seconds);
        return d;
    }

    // weight(age) of doc/activity.md, for age >= 0 in seconds.
    double weight(double age) const {
        switch (kind) {
            case DecayKind::None: return 1.0;
            case DecayKind::Exponential: return half_life.weight(age);
            case DecayKind::Linear: return std::max(0.0, 1.0 - age / seconds);
            case DecayKind::Step: return age < seconds ? 1.0 : 0.0;
        }
        return 1.0;
    }

    // The same for an age in whole microseconds (the aggregates' form).
    __attribute__((always_inline)) double weight_us(int64_t age_us) const {
        if (kind == DecayKind::Exponential) return half_life.weight_us(age_us);
        return weight(static_cast<double>(age_us) / 1e6);
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
    bool has_segments = false;  // false: the default map of doc/qualify.md (bins = 5 only)
    std::vector<RfmSegment> segments;
};

// Names of the CRM's own tables and columns (doc/rank.md). Checked and quoted
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

// Documented limits (doc/foundation.md, "Limits"): keeps a hostile spec from taking the
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
