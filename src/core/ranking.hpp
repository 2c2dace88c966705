// Materialized rankings (doc/rank.md): the per-lead state a refresh keeps and
// the global pass (scores, RFM) that turns it into ranking rows.
//
// Per lead and per event-type slot the refresh keeps the sum of points weighted
// at a fixed reference time `ref` (and whether the lead has a counted event of
// that slot). For exponential decay the sums at another as_of are the stored sums
// times 2^(-(as_of - ref) / half_life) (doc/activity.md: the weight is multiplicative),
// so an incremental refresh at a later as_of only rescales; caps and clamps are
// applied after scaling. For other decays the sums are only valid at ref.
#pragma once
#include "core/cpp_only.hpp"

#include "core/rfm.hpp"
#include "core/spec.hpp"
#include "core/value.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ls {

// Accumulates one lead's events. `sums` and `flags` have m.slots.size() + 1
// entries (the last is the wildcard slot).
struct LeadAccumulator {
    const Model* m = nullptr;
    double* sums = nullptr;
    unsigned char* flags = nullptr;

    // One event of slot s: age_asof = as_of - time (decides whether it counts),
    // age_ref = ref - time (its weight; equal to age_asof unless rescaling).
    // Returns true when the event counted.
    bool add(int slot, double age_asof, double age_ref) const {
        if (!event_counts_at(age_asof)) return false;
        sums[slot] += m->slot_points[slot] * weight_at(age_ref);
        flags[slot] = 1;
        return true;
    }
    bool event_counts_at(double age) const;
    double weight_at(double age) const;
};

// The reference time ("landmark") at which a refresh at as_of_us weights the
// per-lead sums, microseconds since a fixed epoch (any, the same for every call).
// With exponential decay it is as_of floored to a grid of kLandmarkHalfLives
// half-lives, so full and incremental refreshes at one as_of weight every event
// with the same factor (their sums agree bit for bit when the rows are read in
// the same order), and every stored weight stays within 2^±kLandmarkHalfLives
// of 1: an event after the landmark weighs at most 2^64 and the rescale factor
// is at least 2^-64, far from float8 overflow and underflow. When as_of enters
// the next grid cell the landmark moves and the refresh is full. Other decays:
// as_of itself.
constexpr int kLandmarkHalfLives = 64;
int64_t landmark_us(const Model& m, int64_t as_of_us);

// Factor turning sums weighted at ref into sums weighted at as_of.
double rescale_factor(const Model& m, int64_t ref_us, int64_t as_of_us);

// Per-lead activity state, one record per lead so that adding an event touches
// one or two cache lines: ns sums (weighted at ref), then ns "has a counted
// event" flag bytes, padded to whole doubles.
inline size_t state_stride(size_t ns) { return ns + (ns + 7) / 8; }
inline double* state_sums(double* state, size_t stride, size_t i) { return state + i * stride; }
inline const double* state_sums(const double* state, size_t stride, size_t i) { return state + i * stride; }
inline unsigned char* state_flags(double* state, size_t stride, size_t ns, size_t i) {
    return reinterpret_cast<unsigned char*>(state + i * stride + ns);
}
inline const unsigned char* state_flags(const double* state, size_t stride, size_t ns, size_t i) {
    return reinterpret_cast<const unsigned char*>(state + i * stride + ns);
}

struct RankingInput {
    const Model* m = nullptr;
    size_t n = 0;                       // leads
    std::vector<double> fit;            // n
    std::vector<unsigned char> rule_dq; // n: a disqualify rule matched
    std::vector<double> state;          // n * state_stride(slots + 1), see above
    double scale = 1.0;                 // rescale_factor(...)
    // RFM inputs; has_orders[i] == 0: no counted order (rfm NULL).
    std::vector<unsigned char> has_orders;  // n
    std::vector<double> recency_days, frequency, monetary;  // n
};

struct RankingRow {
    double score = 0, fit = 0, activity = 0;
    const std::string* grade = nullptr;  // nullptr: NULL
    const std::string* stage = nullptr;
    bool disqualified = false;
    std::string rfm_code;      // empty: NULL
    const std::string* rfm_segment = nullptr;
};

// Scores lead i (everything but RFM). A lead whose fit, activity or score is not
// a finite number is an Error (see compute_ranking).
RankingRow score_row(const RankingInput& in, size_t i);

// RFM cut points over every lead of `in` with orders; false when none has any.
bool rfm_breaks_of(const RankingInput& in, RfmBreaks* br);
// Sets r's rfm_code and rfm_segment from the lead's order summary (nothing when
// a dimension has no cut points: the code stays NULL, as lead_scoring.rfm()).
void apply_rfm(const Model& m, const RfmBreaks& br, double recency_days, double frequency, double monetary,
               RankingRow* r);
// Cut points as a flat list (kept between refreshes): bins, then per dimension a
// presence flag and bins-1 cut points. Empty: no lead had orders.
std::vector<double> encode_breaks(const RfmBreaks* br);
// false when `v` is empty (no breaks) or malformed.
bool decode_breaks(const std::vector<double>& v, RfmBreaks* br);

// Computes every row: score_row for each lead, then RFM with cut points
// (percentile_disc) over all leads with orders. Rank is not computed: it is
// read from the ranking table's _ranked view (doc/rank.md).
// `interrupt`, when set, is called every kInterruptEvery leads of every pass (the
// glue checks for query cancel there; it may throw). A lead whose fit, activity
// or score is not a finite number (event points whose sums overflow float8) is
// an Error (InvalidParameter): no NaN is ever ranked or written.
constexpr size_t kInterruptEvery = 16384;
std::vector<RankingRow> compute_ranking(const RankingInput& in, const std::function<void()>& interrupt = {});

}  // namespace ls
