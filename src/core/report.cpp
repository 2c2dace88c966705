#include "core/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace ls::report {

namespace {

constexpr double kW = 480, kH = 290;                    // chart viewBox
constexpr double kL = 58, kR = 18, kT = 18, kB = 48;    // plot margins
constexpr const char* kConverted = "#1a7f37";
constexpr const char* kNotConverted = "#9aa3ad";
constexpr const char* kAccent = "#2557a7";
constexpr const char* kStagePalette[] = {"#2557a7", "#1a7f37", "#b35900", "#7b3fa0", "#a3293d",
                                         "#0f7c80", "#6b6b00", "#5c5c5c"};

std::string px(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", v);
    return b;
}

std::string attr(const char* name, const std::string& v) { return std::string(" ") + name + "=\"" + escape(v) + "\""; }

std::string svg_open(const char* id, const std::string& label) {
    return std::string("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart-svg\" data-chart=\"") + id +
           "\" viewBox=\"0 0 " + px(kW) + " " + px(kH) + "\" role=\"img\"" + attr("aria-label", label) + ">";
}

std::string text(double x, double y, const std::string& s, const char* cls, const char* anchor = "start",
                 const std::string& extra = "") {
    return "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\" class=\"" + cls + "\" text-anchor=\"" + anchor + "\"" +
           extra + ">" + escape(s) + "</text>";
}

std::string line(double x1, double y1, double x2, double y2, const char* cls, const std::string& extra = "") {
    return "<line x1=\"" + px(x1) + "\" y1=\"" + px(y1) + "\" x2=\"" + px(x2) + "\" y2=\"" + px(y2) + "\" class=\"" +
           cls + "\"" + extra + "/>";
}

std::string rect(double x, double y, double w, double h, const char* cls, const char* fill, const std::string& extra) {
    return "<rect x=\"" + px(x) + "\" y=\"" + px(y) + "\" width=\"" + px(std::max(0.0, w)) + "\" height=\"" +
           px(std::max(0.0, h)) + "\" class=\"" + cls + "\" fill=\"" + fill + "\"" + extra + "/>";
}

std::string empty_chart(const char* id, const std::string& why) {
    return svg_open(id, why) + "<g data-empty=\"true\">" + text(kW / 2, kH / 2, why, "empty", "middle") + "</g></svg>";
}

// A y axis with ticks from `ticks`, labelled by fmt, and a title.
template <typename F>
std::string y_axis(const Scale& y, const std::vector<double>& ticks, F fmt, const std::string& title) {
    std::string s = "<g class=\"axis y-axis\">" + line(kL, kT, kL, kH - kB, "axis-line");
    for (double t : ticks) {
        double yy = y(t);
        s += line(kL, yy, kW - kR, yy, "grid");
        s += text(kL - 6, yy + 4, fmt(t), "tick", "end", attr("data-tick", num(t)));
    }
    s += "<text class=\"axis-title\" text-anchor=\"middle\" transform=\"translate(14 " + px((kT + kH - kB) / 2) +
         ") rotate(-90)\">" + escape(title) + "</text></g>";
    return s;
}

template <typename F>
std::string x_axis(const Scale& x, const std::vector<double>& ticks, F fmt, const std::string& title) {
    std::string s = "<g class=\"axis x-axis\">" + line(kL, kH - kB, kW - kR, kH - kB, "axis-line");
    for (double t : ticks) {
        double xx = x(t);
        s += line(xx, kH - kB, xx, kH - kB + 4, "axis-line");
        s += text(xx, kH - kB + 16, fmt(t), "tick", "middle", attr("data-tick", num(t)));
    }
    s += text((kL + kW - kR) / 2, kH - 8, title, "axis-title", "middle") + "</g>";
    return s;
}

std::string short_num(double v) {
    char b[32];
    if (std::fabs(v) >= 1e6 || (std::fabs(v) < 1e-3 && v != 0))
        std::snprintf(b, sizeof b, "%.3g", v);
    else
        std::snprintf(b, sizeof b, "%.10g", std::round(v * 1000) / 1000);
    return b;
}

bool finite(double v) { return std::isfinite(v); }

// The top of an axis: the highest tick or the data's maximum, whichever is
// higher (no ticks when the maximum is not finite).
double top_of(const std::vector<double>& ticks, double max) {
    return ticks.empty() ? max : std::max(max, ticks.back());
}

std::string lift_text(double lift) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f\xC3\x97", lift);
    return b;
}

}  // namespace

std::string escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 16);
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t n = s.size();
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
                case '&': out += "&amp;"; break;
                case '<': out += "&lt;"; break;
                case '>': out += "&gt;"; break;
                case '"': out += "&quot;"; break;
                case '\'': out += "&#39;"; break;
                default:
                    if (c < 0x20 && c != '\t' && c != '\n') out += "\xEF\xBF\xBD";
                    else if (c == 0x7f) out += "\xEF\xBF\xBD";
                    else out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        // A well-formed UTF-8 sequence is copied; anything else is replaced.
        int len = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        bool ok = len > 0 && i + len <= n;
        for (int k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xC0) == 0x80;
        if (ok && len == 3) {
            unsigned char c1 = p[i + 1];
            ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
        }
        if (ok && len == 4) {
            unsigned char c1 = p[i + 1];
            ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
        }
        if (ok) {
            out.append(reinterpret_cast<const char*>(p + i), static_cast<size_t>(len));
            i += static_cast<size_t>(len);
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

double Scale::operator()(double v) const {
    if (d1 == d0) return (r0 + r1) / 2;
    return r0 + (v - d0) / (d1 - d0) * (r1 - r0);
}

std::vector<double> nice_ticks(double lo, double hi, int n) {
    std::vector<double> out;
    if (!finite(lo) || !finite(hi) || n < 1) return out;
    if (hi < lo) std::swap(lo, hi);
    if (hi == lo) {
        out.push_back(lo);
        return out;
    }
    double raw = (hi - lo) / n;
    double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        step = m * mag;
        if (step >= raw) break;
    }
    double first = std::ceil(lo / step - 1e-9) * step;
    for (double t = first; t <= hi + step * 1e-9; t += step) {
        // Multiples of a decimal step, rounded to 12 digits: 0.6, not 0.6000000000000001.
        char b[40];
        std::snprintf(b, sizeof b, "%.12g", std::round(t / step) * step);
        double r = std::strtod(b, nullptr);
        out.push_back(std::fabs(r) < step * 1e-9 ? 0.0 : r);
        if (out.size() > 1000) break;
    }
    return out;
}

std::string num(double v) {
    if (std::isnan(v)) return "";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    char b[40];
    if (v == std::trunc(v) && std::fabs(v) < 1e15)
        std::snprintf(b, sizeof b, "%.0f", v);
    else
        std::snprintf(b, sizeof b, "%.12g", v);
    return b;
}

std::string percent(double share, int decimals) {
    if (!finite(share)) return "n/a";
    char b[40];
    std::snprintf(b, sizeof b, "%.*f %%", decimals, share * 100);
    return b;
}

std::string count(int64_t n) {
    uint64_t m = n < 0 ? uint64_t(0) - uint64_t(n) : uint64_t(n);
    std::string digits = std::to_string(m), out = n < 0 ? "-" : "";
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// 1. Score distribution: per bin, the share of each group (converted, not
// converted) whose score falls in it, side by side; data-value is the count.
std::string histogram_svg(const Data& d) {
    const auto& bins = d.histogram;
    if (bins.empty()) return empty_chart("score_histogram", "No scored leads to show");
    int64_t tot_c = 0, tot_n = 0;
    for (const auto& b : bins) tot_c += b.converted, tot_n += b.not_converted;
    double max_share = 0;
    for (const auto& b : bins) {
        if (tot_c) max_share = std::max(max_share, double(b.converted) / tot_c);
        if (tot_n) max_share = std::max(max_share, double(b.not_converted) / tot_n);
    }
    if (max_share <= 0) max_share = 1;
    auto yt = nice_ticks(0, max_share, 4);
    double top = top_of(yt, max_share);
    Scale x{bins.front().low, bins.back().high, kL, kW - kR};
    if (bins.front().low == bins.back().high) x = Scale{bins.front().low - 0.5, bins.front().low + 0.5, kL, kW - kR};
    Scale y{0, top, kH - kB, kT};
    std::string s = svg_open("score_histogram", "Score distribution, converted vs not converted");
    s += y_axis(y, yt, [](double v) { return percent(v, 0); }, "share of the group");
    s += x_axis(x, nice_ticks(x.d0, x.d1, 6), short_num, "score");
    s += "<g class=\"marks\">";
    double slot = (kW - kR - kL) / bins.size();
    for (size_t i = 0; i < bins.size(); ++i) {
        const auto& b = bins[i];
        double x0 = kL + slot * i + slot * 0.1, w = slot * 0.4;
        double sn = tot_n ? double(b.not_converted) / tot_n : 0, sc = tot_c ? double(b.converted) / tot_c : 0;
        std::string common = attr("data-bin", std::to_string(i + 1)) + attr("data-low", num(b.low)) +
                             attr("data-high", num(b.high));
        s += rect(x0, y(sn), w, y(0) - y(sn), "bar not-converted", kNotConverted,
                  attr("data-value", std::to_string(b.not_converted)) + attr("data-share", num(sn)) + common) ;
        s += rect(x0 + w, y(sc), w, y(0) - y(sc), "bar converted", kConverted,
                  attr("data-value", std::to_string(b.converted)) + attr("data-share", num(sc)) + common);
    }
    s += "</g>";
    s += "<g class=\"legend\">" + rect(kW - kR - 190, kT, 10, 10, "key", kConverted, "") +
         text(kW - kR - 176, kT + 9, "converted (" + count(tot_c) + ")", "legend-text") +
         rect(kW - kR - 190, kT + 16, 10, 10, "key", kNotConverted, "") +
         text(kW - kR - 176, kT + 25, "not converted (" + count(tot_n) + ")", "legend-text") + "</g>";
    if (tot_c == 0) s += text(kW / 2, kT + 50, "Nobody converted in the outcome window", "note", "middle");
    return s + "</svg>";
}

// 2. Cumulative gains against the random and the perfect ranking.
std::string gains_svg(const Data& d) {
    const auto& g = d.gains;
    if (g.empty()) return empty_chart("gains", "No scored leads to show");
    const GainsPoint& last = g.back();
    if (last.conversions == 0 || !finite(last.conversions_share))
        return empty_chart("gains", "Nobody converted in the outcome window: no gains to show");
    Scale x{0, 1, kL, kW - kR}, y{0, 1, kH - kB, kT};
    auto pct = [](double v) { return percent(v, 0); };
    std::string s = svg_open("gains", "Cumulative gains");
    s += y_axis(y, nice_ticks(0, 1, 5), pct, "conversions captured");
    s += x_axis(x, nice_ticks(0, 1, 5), pct, "leads worked, best scores first");
    double base = last.leads ? double(last.conversions) / last.leads : 0;
    s += line(x(0), y(0), x(1), y(1), "ref random", attr("data-ref", "random"));
    s += "<polyline class=\"ref perfect\" data-ref=\"perfect\" points=\"" + px(x(0)) + "," + px(y(0)) + " " +
         px(x(base)) + "," + px(y(1)) + " " + px(x(1)) + "," + px(y(1)) + "\"/>";
    std::string pts;
    for (const auto& p : g) pts += px(x(p.leads_share)) + "," + px(y(p.conversions_share)) + " ";
    s += "<polyline class=\"curve\" points=\"" + pts + "\" stroke=\"" + kAccent + "\"/>";
    s += "<g class=\"marks\">";
    for (const auto& p : g)
        s += "<circle class=\"point\" r=\"2.2\" cx=\"" + px(x(p.leads_share)) + "\" cy=\"" + px(y(p.conversions_share)) +
             "\" fill=\"" + kAccent + "\"" + attr("data-x", num(p.leads_share)) +
             attr("data-value", num(p.conversions_share)) + attr("data-leads", std::to_string(p.leads)) +
             attr("data-conversions", std::to_string(p.conversions)) + "/>";
    s += "</g>";
    // Read off the curve where a manager decides: the top 10 % and 30 %.
    for (double at : {0.1, 0.3}) {
        for (size_t i = 1; i < g.size(); ++i) {
            if (g[i].leads_share >= at) {
                const auto &a = g[i - 1], &b = g[i];
                double t = b.leads_share == a.leads_share ? 1 : (at - a.leads_share) / (b.leads_share - a.leads_share);
                double v = a.conversions_share + t * (b.conversions_share - a.conversions_share);
                s += "<circle class=\"callout\" r=\"4\" cx=\"" + px(x(at)) + "\" cy=\"" + px(y(v)) + "\"/>";
                s += text(x(at) + 6, y(v) + 14, "top " + percent(at, 0) + " \xE2\x86\x92 " + percent(v, 0), "callout-text");
                break;
            }
        }
    }
    s += "<g class=\"legend\">" + line(kW - kR - 150, kH - kB - 40, kW - kR - 130, kH - kB - 40, "curve-key", attr("stroke", kAccent)) +
         text(kW - kR - 125, kH - kB - 36, "this model", "legend-text") +
         line(kW - kR - 150, kH - kB - 26, kW - kR - 130, kH - kB - 26, "ref perfect") +
         text(kW - kR - 125, kH - kB - 22, "perfect", "legend-text") +
         line(kW - kR - 150, kH - kB - 12, kW - kR - 130, kH - kB - 12, "ref random") +
         text(kW - kR - 125, kH - kB - 8, "random", "legend-text") + "</g>";
    return s + "</svg>";
}

// 3. Conversion rate per score decile against the base rate.
std::string deciles_svg(const Data& d) {
    const auto& ds = d.deciles;
    if (ds.empty()) return empty_chart("deciles", "No scored leads to show");
    double mx = finite(d.base_rate) ? d.base_rate : 0;
    for (const auto& k : ds)
        if (finite(k.rate)) mx = std::max(mx, k.rate);
    if (mx <= 0) mx = 0.01;
    auto yt = nice_ticks(0, mx * 1.1, 4);
    Scale y{0, top_of(yt, mx * 1.1), kH - kB, kT};
    std::string s = svg_open("deciles", "Conversion rate per score decile");
    s += y_axis(y, yt, [](double v) { return percent(v, 0); }, "conversion rate");
    std::string xa = "<g class=\"axis x-axis\">" + line(kL, kH - kB, kW - kR, kH - kB, "axis-line");
    double slot = (kW - kR - kL) / ds.size();
    std::string marks = "<g class=\"marks\">";
    for (size_t i = 0; i < ds.size(); ++i) {
        const auto& k = ds[i];
        double r = finite(k.rate) ? k.rate : 0;
        double x0 = kL + slot * i + slot * 0.15;
        marks += rect(x0, y(r), slot * 0.7, y(0) - y(r), "bar decile", kAccent,
                      attr("data-decile", std::to_string(k.decile)) + attr("data-value", num(k.rate)) +
                          attr("data-leads", std::to_string(k.leads)) + attr("data-converted", std::to_string(k.converted)));
        marks += text(x0 + slot * 0.35, y(r) - 4, percent(k.rate, mx < 0.1 ? 1 : 0), "bar-label", "middle");
        xa += text(kL + slot * (i + 0.5), kH - kB + 16, std::to_string(k.decile), "tick", "middle");
    }
    xa += text((kL + kW - kR) / 2, kH - 8, "score decile (1 = top 10 % of scores)", "axis-title", "middle") + "</g>";
    s += xa + marks + "</g>";
    if (finite(d.base_rate)) {
        s += line(kL, y(d.base_rate), kW - kR, y(d.base_rate), "ref base", attr("data-value", num(d.base_rate)) + attr("data-ref", "base"));
        s += text(kW - kR, y(d.base_rate) - 4, "base rate " + percent(d.base_rate), "ref-label", "end");
    }
    return s + "</svg>";
}

// 4. The funnel: leads per stage, share reaching the next stage, conversion to won.
std::string funnel_svg(const Data& d) {
    const auto& f = d.funnel;
    if (f.empty()) return empty_chart("funnel", "No leads to show");
    int64_t mx = 1;
    for (const auto& st : f) mx = std::max(mx, st.leads);
    const double left = 96, right = kW - 150;
    double row = std::min(36.0, (kH - kT - 10) / f.size());
    Scale x{0, double(mx), left, right - 46};  // room for the count after the longest bar
    std::string s = svg_open("funnel", "Funnel: leads per stage");
    s += text(right + 6, kT - 4, "to next stage \xC2\xB7 won", "axis-title", "start");
    s += "<g class=\"marks\">";
    for (size_t i = 0; i < f.size(); ++i) {
        const auto& st = f[i];
        double yy = kT + 6 + row * i;
        const char* fill = st.position < 0 ? kNotConverted : kAccent;
        s += text(left - 6, yy + row * 0.5 + 4, st.stage, "stage-label", "end");
        s += rect(left, yy, x(double(st.leads)) - left, row * 0.7, "bar stage", fill,
                  attr("data-stage", st.stage) + attr("data-value", std::to_string(st.leads)) +
                      attr("data-to-next", num(st.to_next)) + attr("data-converted", std::to_string(st.converted)) +
                      attr("data-rate", num(st.rate)));
        s += text(x(double(st.leads)) + 4, yy + row * 0.5 + 3, count(st.leads), "bar-label", "start");
        std::string info = (finite(st.to_next) ? percent(st.to_next, 0) : std::string("\xE2\x80\x93")) +
                           " \xC2\xB7 " + percent(st.rate, 1);
        s += text(right + 6, yy + row * 0.5 + 3, info, "stage-info", "start");
    }
    return s + "</g></svg>";
}

// 5. Leads entering each stage per week, stacked.
std::string flow_svg(const Data& d) {
    if (d.flow.empty()) return empty_chart("stage_flow", "No stage changes recorded yet (stage_history is empty)");
    std::vector<std::string> weeks, stages;
    for (const auto& c : d.flow) {
        if (std::find(weeks.begin(), weeks.end(), c.week) == weeks.end()) weeks.push_back(c.week);
    }
    // Stages in funnel order where known, others after them by name.
    for (const auto& st : d.funnel)
        for (const auto& c : d.flow)
            if (c.stage == st.stage && std::find(stages.begin(), stages.end(), st.stage) == stages.end())
                stages.push_back(st.stage);
    std::vector<std::string> rest;
    for (const auto& c : d.flow)
        if (std::find(stages.begin(), stages.end(), c.stage) == stages.end() &&
            std::find(rest.begin(), rest.end(), c.stage) == rest.end())
            rest.push_back(c.stage);
    std::sort(rest.begin(), rest.end());
    stages.insert(stages.end(), rest.begin(), rest.end());
    constexpr size_t kMaxWeeks = 26;
    if (weeks.size() > kMaxWeeks) weeks.erase(weeks.begin(), weeks.end() - kMaxWeeks);
    std::map<std::string, int64_t> total;
    for (const auto& c : d.flow) total[c.week] += c.entered;
    int64_t mx = 1;
    for (const auto& w : weeks) mx = std::max(mx, total[w]);
    auto yt = nice_ticks(0, double(mx), 4);
    const double right = kW - 96;
    Scale y{0, top_of(yt, double(mx)), kH - kB, kT};
    std::string s = svg_open("stage_flow", "Leads entering each stage per week");
    s += y_axis(y, yt, short_num, "leads entering");
    std::string xa = "<g class=\"axis x-axis\">" + line(kL, kH - kB, right, kH - kB, "axis-line");
    double slot = (right - kL) / weeks.size();
    // A label is about 70 px wide: label every k-th week so that they never overlap.
    size_t label_every = std::max<size_t>(1, size_t(std::ceil(72.0 / slot)));
    std::string marks = "<g class=\"marks\">";
    for (size_t i = 0; i < weeks.size(); ++i) {
        double base = 0;
        for (size_t k = 0; k < stages.size(); ++k) {
            for (const auto& c : d.flow) {
                if (c.week != weeks[i] || c.stage != stages[k]) continue;
                double top = base + double(c.entered);
                marks += rect(kL + slot * i + slot * 0.12, y(top), slot * 0.76, y(base) - y(top), "bar flow",
                              kStagePalette[k % 8],
                              attr("data-week", c.week) + attr("data-stage", c.stage) +
                                  attr("data-value", std::to_string(c.entered)));
                base = top;
            }
        }
        if (i % label_every == 0) xa += text(kL + slot * (i + 0.5), kH - kB + 16, weeks[i], "tick", "middle");
    }
    xa += text((kL + right) / 2, kH - 8, "week starting (UTC)", "axis-title", "middle") + "</g>";
    s += xa + marks + "</g><g class=\"legend\">";
    for (size_t k = 0; k < stages.size() && k < 12; ++k) {
        s += rect(right + 10, kT + 16 * k, 10, 10, "key", kStagePalette[k % 8], "");
        s += text(right + 24, kT + 16 * k + 9, stages[k], "legend-text");
    }
    return s + "</g></svg>";
}

// 6. Attribute lift: the strongest and weakest values with their 95 % intervals.
std::string lift_svg(const Data& d, int strongest, int weakest, int64_t min_leads) {
    std::vector<const Lift*> ok;
    for (const auto& l : d.lifts)
        if (l.leads >= min_leads && finite(l.lift) && finite(l.rate)) ok.push_back(&l);
    if (ok.empty())
        for (const auto& l : d.lifts)
            if (finite(l.lift) && finite(l.rate)) ok.push_back(&l);
    if (ok.empty()) return empty_chart("attribute_lift", "No attribute values to compare");
    std::stable_sort(ok.begin(), ok.end(), [](const Lift* a, const Lift* b) { return a->lift > b->lift; });
    std::vector<const Lift*> shown;
    size_t top = std::min<size_t>(ok.size(), size_t(std::max(0, strongest)));
    for (size_t i = 0; i < top; ++i) shown.push_back(ok[i]);
    size_t bottom = std::min<size_t>(ok.size() - top, size_t(std::max(0, weakest)));
    for (size_t i = ok.size() - bottom; i < ok.size(); ++i) shown.push_back(ok[i]);
    double mx = finite(d.base_rate) ? d.base_rate : 0;
    for (const Lift* l : shown) mx = std::max(mx, finite(l->ci_high) ? l->ci_high : l->rate);
    if (mx <= 0) mx = 0.01;
    const double left = 196, right = kW - 52;
    auto xt = nice_ticks(0, mx, 4);
    Scale x{0, top_of(xt, mx), left, right};
    double row = std::min(22.0, (kH - kT - kB - 8) / shown.size());
    std::string s = svg_open("attribute_lift", "Attribute lift: strongest and weakest values");
    s += "<g class=\"axis x-axis\">" + line(left, kH - kB, right, kH - kB, "axis-line");
    for (double t : xt) {
        s += line(x(t), kT, x(t), kH - kB, "grid");
        s += text(x(t), kH - kB + 16, percent(t, 0), "tick", "middle", attr("data-tick", num(t)));
    }
    s += text((left + right) / 2, kH - 8, "conversion rate, 95 % interval", "axis-title", "middle") + "</g>";
    if (finite(d.base_rate)) {
        s += line(x(d.base_rate), kT - 6, x(d.base_rate), kH - kB, "ref base", attr("data-value", num(d.base_rate)) + attr("data-ref", "base"));
        s += text(x(d.base_rate) + 3, kT - 8, "base " + percent(d.base_rate), "ref-label", "start");
    }
    s += "<g class=\"marks\">";
    for (size_t i = 0; i < shown.size(); ++i) {
        const Lift& l = *shown[i];
        double yy = kT + 4 + row * (i + 0.5);
        if (i == top && top > 0) s += line(8, yy - row / 2, kW - 8, yy - row / 2, "separator");
        std::string label = l.field + ": " + (l.missing ? std::string("(missing)") : l.value);
        if (label.size() > 30) {
            size_t cut = 28;
            while (cut > 0 && (static_cast<unsigned char>(label[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
            label = label.substr(0, cut) + "\xE2\x80\xA6";
        }
        const char* col = l.lift >= 1 ? kConverted : "#a3293d";
        s += text(left - 6, yy + 4, label, "lift-label", "end", attr("data-field", l.field));
        if (finite(l.ci_low) && finite(l.ci_high))
            s += line(x(l.ci_low), yy, x(l.ci_high), yy, "ci", attr("stroke", col) + attr("data-ci-low", num(l.ci_low)) +
                                                                 attr("data-ci-high", num(l.ci_high)));
        s += "<circle class=\"point lift\" r=\"4\" cx=\"" + px(x(l.rate)) + "\" cy=\"" + px(yy) + "\" fill=\"" + col + "\"" +
             attr("data-field", l.field) + attr("data-item", l.missing ? std::string() : l.value) +
             attr("data-missing", l.missing ? "true" : "false") + attr("data-value", num(l.lift)) +
             attr("data-rate", num(l.rate)) + attr("data-leads", std::to_string(l.leads)) +
             attr("data-converted", std::to_string(l.converted)) + "/>";
        s += text(right + 6, yy + 4, lift_text(l.lift), "lift-value", "start");
    }
    return s + "</g></svg>";
}

namespace {

const char* kStyle = R"CSS(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1f2328; background: #fff; }
header { padding: 18px 28px 10px; border-bottom: 2px solid #2557a7; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 2px; }
.split { margin: 2px 0 10px; color: #444; font-size: 13px; }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; margin: 0; padding: 0; list-style: none; }
.kpis li { border: 1px solid #d0d7de; border-radius: 6px; padding: 6px 12px; min-width: 120px; }
.kpis .v { display: block; font-size: 20px; font-weight: bold; }
.kpis .k { font-size: 12px; color: #555; }
main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px 22px; padding: 14px 28px 24px; }
section { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 12px 4px; break-inside: avoid; page-break-inside: avoid; }
section p { margin: 0 0 4px; color: #444; font-size: 12.5px; }
svg.chart-svg { width: 100%; height: auto; display: block; }
svg text { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; fill: #1f2328; }
.tick, .legend-text, .bar-label, .ref-label, .stage-info, .lift-value, .callout-text { font-size: 11px; }
.axis-title { font-size: 11px; fill: #444; }
.stage-label, .lift-label { font-size: 11.5px; }
.empty { font-size: 14px; fill: #666; }
.note { font-size: 12px; fill: #a3293d; }
.axis-line { stroke: #444; stroke-width: 1; }
.grid { stroke: #e4e7eb; stroke-width: 1; }
.ref { fill: none; stroke: #666; stroke-width: 1.2; }
.ref.random { stroke-dasharray: 5 4; }
.ref.perfect { stroke-dasharray: 2 3; }
.ref.base { stroke: #b35900; stroke-dasharray: 6 3; stroke-width: 1.5; }
.ref-label { fill: #b35900; }
.curve { fill: none; stroke-width: 2.4; }
.curve-key { stroke-width: 2.4; }
.callout { fill: none; stroke: #1f2328; stroke-width: 1.2; }
.ci { stroke-width: 2.5; }
.separator { stroke: #bbb; stroke-dasharray: 3 3; }
footer { padding: 0 28px 18px; color: #666; font-size: 12px; }
@page { size: A4 landscape; margin: 10mm; }
@media print {
  body { font-size: 11px; }
  header { padding: 0 0 6px; }
  h1 { font-size: 17px; }
  .split { font-size: 10.5px; margin-bottom: 6px; }
  .kpis li { padding: 3px 8px; min-width: 90px; }
  .kpis .v { font-size: 15px; }
  .kpis .k { font-size: 10px; }
  main { grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 6px 10px; padding: 6px 0 0; }
  section { border-color: #999; padding: 4px 6px 0; }
  h2 { font-size: 12.5px; }
  section p { font-size: 9.5px; }
  footer { padding: 4px 0 0; font-size: 9.5px; }
}
)CSS";

std::string section(const char* id, const std::string& title, const std::string& explain, const std::string& svg) {
    return std::string("<section id=\"") + id + "\"><h2>" + escape(title) + "</h2><p>" + escape(explain) + "</p>" + svg +
           "</section>\n";
}

std::string kpi(const std::string& value, const std::string& key, const char* id) {
    return std::string("<li id=\"") + id + "\"><span class=\"v\">" + escape(value) + "</span><span class=\"k\">" +
           escape(key) + "</span></li>";
}

}  // namespace

std::string render(const Data& d) {
    const Header& h = d.header;
    std::string out;
    out.reserve(64 * 1024);
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += "<title>" + escape("Lead scoring report: " + h.model) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
    out += "<header data-model=\"" + escape(h.model) + "\" data-leads=\"" + std::to_string(h.leads) +
           "\" data-converted=\"" + std::to_string(h.converted) + "\" data-auc=\"" + num(h.auc) + "\" data-as-of=\"" +
           escape(h.as_of) + "\">\n";
    out += "<h1>" + escape("Lead scoring report \xE2\x80\x94 model \xE2\x80\x9C" + h.model + "\xE2\x80\x9D") + "</h1>\n";
    std::string window;
    if (h.as_of.empty())
        window = "No time split.";
    else
        window = "Scores as of " + h.as_of + "; conversions after that" +
                 (h.outcome_before.empty()
                      ? " up to now" + (h.generated_at.empty() ? std::string() : " (" + h.generated_at + ")")
                      : " and before " + h.outcome_before) +
                 ".";
    out += "<p class=\"split\" id=\"split\"><strong>" + escape(window) + "</strong> " + escape("Who is counted: " + h.split + ".") +
           (h.ranking_as_of.empty() ? std::string() : " " + escape("Ranking refreshed as of " + h.ranking_as_of + ".")) +
           "</p>\n";
    out += "<ul class=\"kpis\">" + kpi(count(h.leads), "leads evaluated", "kpi-leads") +
           kpi(count(h.converted), "converted", "kpi-converted") +
           kpi(percent(d.base_rate), "base conversion rate", "kpi-base-rate") +
           kpi(finite(h.auc) ? num(std::round(h.auc * 1000) / 1000) : std::string("n/a"),
               "AUC (0.5 = random, 1 = perfect)", "kpi-auc") +
           (d.deciles.empty() || !finite(d.deciles.front().rate) || !finite(d.base_rate) || d.base_rate <= 0
                ? std::string()
                : kpi(lift_text(d.deciles.front().rate / d.base_rate), "top 10 % of scores convert vs the base rate",
                      "kpi-top-decile")) +
           "</ul>\n</header>\n<main>\n";
    out += section("score-distribution", "1. Score distribution",
                    "Where converted and not converted leads score: the further right the green bars sit, the better the score separates them.",
                    histogram_svg(d));
    std::string auc = finite(h.auc) ? " (AUC " + num(std::round(h.auc * 1000) / 1000) + ")" : "";
    out += section("gains", "2. Cumulative gains" + auc,
                   "Work the leads from the best score down: the share of all conversions reached after each share of leads. Above the dashed diagonal is better than random.",
                   gains_svg(d));
    out += section("deciles", "3. Conversion per score decile",
                   "Leads split into ten equal groups by score, best first. A good score falls from left to right, well above the base rate on the left.",
                   deciles_svg(d));
    out += section("funnel", "4. Funnel",
                   "Leads per stage now, the share that got to the next stage, and the share that converted (won).",
                   funnel_svg(d));
    out += section("stage-flow", "5. Stage movement per week",
                   "Leads entering each stage per week, as the refreshes recorded it.", flow_svg(d));
    out += section("attribute-lift", "6. Which attributes make the difference",
                   "Values of the fields the fit rules use: the strongest and weakest conversion rates, with 95 % intervals; a line crossing the base rate is not yet a difference.",
                   lift_svg(d));
    out += "</main>\n<footer>" + escape("Generated by lead_scoring.report() at " + h.generated_at +
                                        ". Every number is also available as a view: see doc/report.md.") +
           "</footer>\n</body>\n</html>\n";
    return out;
}

}  // namespace ls::report
