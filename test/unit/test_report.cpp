// The HTML/SVG report (doc/report.md): scales and ticks, number formats, HTML
// escaping of every label, each chart's marks and data-values, empty and
// one-class data, and a page without script or external references.
#include "core/report.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

using namespace ls::report;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

size_t occurrences(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

// All data-value="..." of elements with the given class, in document order.
std::vector<std::string> values_of(const std::string& svg, const std::string& cls) {
    std::vector<std::string> out;
    const std::string key = "class=\"" + cls + "\"";
    for (size_t p = svg.find(key); p != std::string::npos; p = svg.find(key, p + 1)) {
        size_t end = svg.find("/>", p);
        size_t v = svg.find("data-value=\"", p);
        if (v == std::string::npos || v > end) continue;
        v += 12;
        out.push_back(svg.substr(v, svg.find('"', v) - v));
    }
    return out;
}

Data sample() {
    Data d;
    d.header.model = "demo";
    d.header.as_of = "2026-01-10 00:00 UTC";
    d.header.split = "leads that existed at as_of and had not converted by then";
    d.header.leads = 10;
    d.header.converted = 4;
    d.header.auc = 0.75;
    d.base_rate = 0.4;
    d.histogram = {{0, 10, 1, 3}, {10, 20, 1, 2}, {20, 30, 2, 1}};
    d.gains = {{0, 0, 0, 0}, {0.2, 0.5, 2, 2}, {0.6, 0.75, 6, 3}, {1, 1, 10, 4}};
    d.deciles = {{1, 5, 3, 0.6}, {2, 5, 1, 0.2}};
    d.funnel = {{"new", 0, 6, 1, 4.0 / 10, 1.0 / 6}, {"MQL", 1, 3, 2, 1.0 / 4, 2.0 / 3}, {"SQL", 2, 1, 1, kNaN, 1.0},
                {"disqualified", -1, 2, 0, kNaN, 0.0}};
    d.flow = {{"2026-01-05", "MQL", 3}, {"2026-01-05", "SQL", 1}, {"2026-01-12", "MQL", 2}};
    d.lifts = {{"industry", "Software", false, 40, 20, 0.5, 1.25, 0.35, 0.65},
               {"industry", "Retail", false, 40, 8, 0.2, 0.5, 0.1, 0.35},
               {"industry", "", true, 40, 12, 0.3, 0.75, 0.18, 0.45}};
    return d;
}

TEST(ReportEscape, EveryMetaCharacter) {
    EXPECT_EQ(escape("<script>alert('x') & \"y\"</script>"),
              "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
    EXPECT_EQ(escape("CFO"), "CFO");
    EXPECT_EQ(escape("Gesch\xC3\xA4" "ftsf\xC3\xBChrer"), "Gesch\xC3\xA4" "ftsf\xC3\xBChrer");  // UTF-8 kept
    EXPECT_EQ(escape(std::string("a\0b", 3)), "a\xEF\xBF\xBD" "b");                      // NUL replaced
    EXPECT_EQ(escape("\xFF\xC3"), "\xEF\xBF\xBD\xEF\xBF\xBD");                              // invalid UTF-8
    EXPECT_EQ(escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");              // a surrogate
}

TEST(ReportScale, LinearAndDegenerate) {
    Scale s{0, 10, 100, 200};
    EXPECT_DOUBLE_EQ(s(0), 100);
    EXPECT_DOUBLE_EQ(s(5), 150);
    EXPECT_DOUBLE_EQ(s(10), 200);
    Scale inverted{0, 1, 300, 100};  // SVG y grows downwards
    EXPECT_DOUBLE_EQ(inverted(0.25), 250);
    Scale flat{3, 3, 0, 100};
    EXPECT_DOUBLE_EQ(flat(3), 50);
}

TEST(ReportScale, NiceTicks) {
    EXPECT_EQ(nice_ticks(0, 1, 5), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}));
    EXPECT_EQ(nice_ticks(0, 100, 4), (std::vector<double>{0, 25, 50, 75, 100}));
    EXPECT_EQ(nice_ticks(-7, 13, 4), (std::vector<double>{-5, 0, 5, 10}));
    EXPECT_EQ(nice_ticks(0.3, 0.3, 4), (std::vector<double>{0.3}));
    EXPECT_TRUE(nice_ticks(kNaN, 1, 4).empty());
    for (double t : nice_ticks(0, 0.3, 3)) EXPECT_EQ(t, std::round(t * 10) / 10);  // no 0.30000000000000004
}

TEST(ReportFormat, Numbers) {
    EXPECT_EQ(num(3), "3");
    EXPECT_EQ(num(0.1), "0.1");
    EXPECT_EQ(num(kNaN), "");
    EXPECT_EQ(num(1.0 / 3), "0.333333333333");
    EXPECT_EQ(percent(0.125), "12.5 %");
    EXPECT_EQ(percent(kNaN), "n/a");
    EXPECT_EQ(count(20000), "20,000");
    EXPECT_EQ(count(999), "999");
    EXPECT_EQ(count(-1234567), "-1,234,567");
    EXPECT_EQ(count(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(ReportCharts, HistogramCarriesCountsAndShares) {
    Data d = sample();
    std::string s = histogram_svg(d);
    EXPECT_EQ(values_of(s, "bar converted"), (std::vector<std::string>{"1", "1", "2"}));
    EXPECT_EQ(values_of(s, "bar not-converted"), (std::vector<std::string>{"3", "2", "1"}));
    EXPECT_NE(s.find("data-share=\"0.5\""), std::string::npos);  // 2 of 4 converted in the top bin
    EXPECT_NE(s.find("class=\"axis y-axis\""), std::string::npos);
    EXPECT_NE(s.find("class=\"axis x-axis\""), std::string::npos);
    // Shares up to 0.5: ticks every 20 %.
    EXPECT_NE(s.find("data-tick=\"0.4\""), std::string::npos);
    EXPECT_EQ(s.find("data-tick=\"0.6\""), std::string::npos);
}

TEST(ReportCharts, GainsAgainstRandomAndPerfect) {
    Data d = sample();
    std::string s = gains_svg(d);
    EXPECT_EQ(values_of(s, "point"), (std::vector<std::string>{"0", "0.5", "0.75", "1"}));
    EXPECT_NE(s.find("data-ref=\"random\""), std::string::npos);
    EXPECT_NE(s.find("data-ref=\"perfect\""), std::string::npos);
    // Perfect: all 4 conversions after 40 % of the leads: x = 58 + 0.4 * 404 = 219.6, y = top (18).
    EXPECT_NE(s.find("219.6,18.0"), std::string::npos);
}

TEST(ReportCharts, DecilesAndBaseRate) {
    Data d = sample();
    std::string s = deciles_svg(d);
    EXPECT_EQ(values_of(s, "bar decile"), (std::vector<std::string>{"0.6", "0.2"}));
    EXPECT_NE(s.find("data-ref=\"base\""), std::string::npos);
    EXPECT_NE(s.find("base rate 40.0 %"), std::string::npos);
}

TEST(ReportCharts, FunnelFlowLift) {
    Data d = sample();
    std::string f = funnel_svg(d);
    EXPECT_EQ(values_of(f, "bar stage"), (std::vector<std::string>{"6", "3", "1", "2"}));
    EXPECT_NE(f.find("data-to-next=\"0.25\""), std::string::npos);
    std::string w = flow_svg(d);
    EXPECT_EQ(values_of(w, "bar flow"), (std::vector<std::string>{"3", "1", "2"}));
    std::string l = lift_svg(d, 1, 1, 30);
    // The strongest (Software, 1.25) and the weakest (Retail, 0.5); the missing group in between is left out.
    EXPECT_EQ(values_of(l, "point lift"), (std::vector<std::string>{"1.25", "0.5"}));
    std::string all = lift_svg(d, 6, 6, 30);
    EXPECT_EQ(values_of(all, "point lift").size(), 3u);  // no value shown twice
    EXPECT_NE(all.find("industry: (missing)"), std::string::npos);
    // Groups below min_leads are left out unless nothing else is left.
    EXPECT_EQ(values_of(lift_svg(d, 6, 6, 41), "point lift").size(), 3u);
}

TEST(ReportCharts, HostileLabelsRenderAsText) {
    Data d = sample();
    d.header.model = "m<script>";
    d.lifts[0].value = "<script>alert(1)</script>";
    d.lifts[0].field = "job_title\" onload=\"x";
    d.funnel[0].stage = "<img src=x onerror=alert(1)>";
    d.flow[0].stage = "</svg><script>";
    d.flow[0].week = "2026-01-05\"><script>";
    d.header.split = "<b>split</b>";
    std::string page = render(d);
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_EQ(page.find("<img"), std::string::npos);
    EXPECT_EQ(page.find("<b>"), std::string::npos);
    EXPECT_EQ(page.find("\" onload=\""), std::string::npos);
    EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
    EXPECT_NE(page.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
}

TEST(ReportCharts, EmptyData) {
    Data d;
    d.header.model = "empty";
    d.header.auc = kNaN;
    d.base_rate = kNaN;
    std::string page = render(d);
    EXPECT_EQ(occurrences(page, "data-empty=\"true\""), 6u);  // every chart says it has nothing
    EXPECT_EQ(page.find("data-value"), std::string::npos);
    EXPECT_NE(page.find("No stage changes recorded yet"), std::string::npos);
    EXPECT_NE(page.find(">n/a<"), std::string::npos);  // AUC and base rate
}

TEST(ReportCharts, OneClass) {
    Data d = sample();
    for (auto& b : d.histogram) b.converted = 0;
    for (auto& g : d.gains) g.conversions = 0, g.conversions_share = kNaN;
    for (auto& k : d.deciles) k.converted = 0, k.rate = 0;
    d.header.converted = 0;
    d.header.auc = kNaN;
    d.base_rate = 0;
    EXPECT_NE(histogram_svg(d).find("Nobody converted"), std::string::npos);
    EXPECT_EQ(values_of(histogram_svg(d), "bar not-converted").size(), 3u);
    EXPECT_NE(gains_svg(d).find("data-empty=\"true\""), std::string::npos);
    EXPECT_EQ(values_of(deciles_svg(d), "bar decile"), (std::vector<std::string>{"0", "0"}));
    // All converted: the gains curve is the diagonal and the perfect line.
    Data a = sample();
    a.gains = {{0, 0, 0, 0}, {0.5, 0.5, 1, 1}, {1, 1, 2, 2}};
    std::string g = gains_svg(a);
    EXPECT_EQ(values_of(g, "point").size(), 3u);
    // One distinct score: one histogram bin, drawn.
    Data one = sample();
    one.histogram = {{5, 5, 2, 3}};
    EXPECT_EQ(values_of(histogram_svg(one), "bar converted"), (std::vector<std::string>{"2"}));
}

TEST(ReportPage, SelfContainedAndComplete) {
    std::string page = render(sample());
    EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_EQ(page.find("http://"), page.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
    EXPECT_EQ(page.find("https://"), std::string::npos);
    EXPECT_EQ(page.find("url("), std::string::npos);
    EXPECT_EQ(page.find(" src="), std::string::npos);
    EXPECT_EQ(occurrences(page, "<svg "), 6u);
    for (const char* chart : {"score_histogram", "gains", "deciles", "funnel", "stage_flow", "attribute_lift"})
        EXPECT_NE(page.find(std::string("data-chart=\"") + chart + "\""), std::string::npos) << chart;
    EXPECT_NE(page.find("@media print"), std::string::npos);
    EXPECT_NE(page.find("Scores as of 2026-01-10 00:00 UTC; conversions after that up to now."), std::string::npos);
    Data later = sample();
    later.header.generated_at = "2026-03-01 12:00 UTC";
    EXPECT_NE(render(later).find("conversions after that up to now (2026-03-01 12:00 UTC)."), std::string::npos);
    later.header.outcome_before = "2026-02-01 00:00 UTC";
    EXPECT_NE(render(later).find("conversions after that and before 2026-02-01 00:00 UTC."), std::string::npos);
    EXPECT_NE(page.find("data-auc=\"0.75\""), std::string::npos);
}

}  // namespace

namespace {

// Found by test/fuzz/report_fuzz.cpp: an axis over non-finite or huge values has
// no ticks; the page must still be drawn.
TEST(ReportCharts, ExtremeNumbers) {
    Data d = sample();
    d.base_rate = 1e308;
    d.deciles[0].rate = 1e308;
    d.lifts[0].ci_high = std::numeric_limits<double>::infinity();
    d.histogram[0].low = -std::numeric_limits<double>::infinity();
    d.gains[1].leads_share = kNaN;
    d.header.auc = std::numeric_limits<double>::infinity();
    std::string page = render(d);
    EXPECT_EQ(occurrences(page, "<svg "), 6u);
    EXPECT_EQ(page.find("<script"), std::string::npos);
}

}  // namespace
