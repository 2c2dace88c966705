// The evaluation report: one self-contained HTML page with inline SVG charts
// (no script, nothing fetched), drawn from series the glue reads with SQL
// (doc/report.md). Every label is HTML-escaped: lead data is user input. Every
// drawn mark carries its number in data-value so tests can check the picture
// against SQL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ls::report {

// NaN stands for "no value" (SQL NULL) in every double below.
struct Header {
    std::string model;
    std::string as_of;           // formatted by the caller; empty: no time split
    std::string ranking_as_of;
    std::string outcome_before;  // empty: to date
    std::string split;           // the sentence saying who is counted
    std::string generated_at;
    int64_t leads = 0;
    int64_t converted = 0;
    double auc;                  // NaN when a class is empty
};

struct HistogramBin {
    double low, high;
    int64_t converted, not_converted;
};

struct GainsPoint {
    double leads_share, conversions_share;  // conversions_share NaN: nobody converted
    int64_t leads, conversions;
};

struct Decile {
    int decile;
    int64_t leads, converted;
    double rate;
};

struct FunnelStage {
    std::string stage;
    int position;  // -1 = disqualified
    int64_t leads, converted;
    double to_next;  // NaN for the last stage and for disqualified
    double rate;
};

struct FlowCell {
    std::string week;  // label of the week (its Monday)
    std::string stage;
    int64_t entered;
};

struct Lift {
    std::string field, value;  // value empty + missing = true: the missing group
    bool missing = false;
    int64_t leads, converted;
    double rate, lift, ci_low, ci_high;
};

struct Data {
    Header header;
    double base_rate;  // NaN when there are no leads
    std::vector<HistogramBin> histogram;
    std::vector<GainsPoint> gains;
    std::vector<Decile> deciles;
    std::vector<FunnelStage> funnel;  // top of the funnel first
    std::vector<FlowCell> flow;       // in week order
    std::vector<Lift> lifts;
};

// Text as HTML text and attribute content: & < > " ' escaped. Bytes that are
// not valid UTF-8 and control characters other than tab/newline become U+FFFD.
std::string escape(std::string_view s);

// A linear map from a domain to a pixel range.
struct Scale {
    double d0, d1, r0, r1;
    double operator()(double v) const;
};

// "Nice" tick values (1, 2, 2.5 or 5 × 10^k steps) covering [lo, hi], about n of them.
std::vector<double> nice_ticks(double lo, double hi, int n);

// Numbers for data-value: integers exactly, others with 12 significant digits;
// NaN as the empty string.
std::string num(double v);
// Numbers for people: a percentage with `decimals` decimals ("12.5 %").
std::string percent(double share, int decimals = 1);
// Thousands separated with commas ("20,000").
std::string count(int64_t n);

// The whole page.
std::string render(const Data& d);

// The single charts (an <svg> element each), exposed for the unit tests.
std::string histogram_svg(const Data& d);
std::string gains_svg(const Data& d);
std::string deciles_svg(const Data& d);
std::string funnel_svg(const Data& d);
std::string flow_svg(const Data& d);
std::string lift_svg(const Data& d, int strongest = 6, int weakest = 6, int64_t min_leads = 30);

}  // namespace ls::report
