#include "core/value.hpp"

#include "core/error.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace ls {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// Decodes one UTF-8 sequence; invalid bytes come back as themselves (len 1).
uint32_t decode(std::string_view s, size_t i, size_t* len) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
    if (c < 0x80) { *len = 1; return c; }
    // Overlong forms (0xC0/0xC1 leads, 3-byte sequences below U+0800) are
    // invalid UTF-8: folding them would turn them into ASCII letters.
    if ((c & 0xE0) == 0xC0 && c >= 0xC2 && cont(1)) {
        *len = 2;
        return ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
    }
    if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
        uint32_t cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                      (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
        if (cp >= 0x800) {
            *len = 3;
            return cp;
        }
    }
    *len = 1;
    return 0xFFFFFFFFu;  // pass the byte through untouched
}

uint32_t fold_cp(uint32_t cp) {
    if (cp < 0x100) {
        if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;
        return cp;
    }
    if (cp == 0x130) return 'i';  // İ: simple lowercase is plain i
    if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) return cp | 1u;
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) return (cp & 1u) ? cp + 1 : cp;
    if (cp == 0x178) return 0xFF;
    if (cp == 0x1A0 || cp == 0x1AF) return cp + 1;  // Ơ Ư (Vietnamese)
    // Greek: capitals with and without tonos/dialytika; final sigma folds to sigma
    if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;
    if (cp == 0x386) return 0x3AC;
    if (cp >= 0x388 && cp <= 0x38A) return cp + 37;
    if (cp == 0x38C) return 0x3CC;
    if (cp == 0x38E || cp == 0x38F) return cp + 63;
    if (cp == 0x3C2) return 0x3C3;
    // Cyrillic, including the extended letters of Ukrainian, Kazakh, Tatar, ...
    if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
    if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
    if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) || (cp >= 0x4D0 && cp <= 0x52F))
        return cp | 1u;
    if (cp == 0x4C0) return 0x4CF;
    if (cp >= 0x4C1 && cp <= 0x4CE) return (cp & 1u) ? cp + 1 : cp;
    if (cp == 0x1E9E) return 0xDF;  // capital sharp s
    // Latin Extended Additional (Vietnamese and others), in upper/lower pairs
    if (cp >= 0x1E00 && cp <= 0x1EFF && !(cp >= 0x1E96 && cp <= 0x1E9F)) return cp | 1u;
    return cp;
}

void encode(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
        out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

bool is_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

bool parse_number(std::string_view s, double* out) {
    s = trim(s);
    if (s.empty()) return false;
    if (s.front() == '+') {
        s.remove_prefix(1);
        if (s.empty() || s.front() == '-' || s.front() == '+') return false;
    }
    double v = 0;
    auto res = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
    if (res.ec == std::errc::result_out_of_range) {
        // Like float8in, a literal beyond double's range is not a usable number.
        return false;
    }
    if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return false;
    // "NaN", "inf" and "Infinity" are not amounts a numeric predicate can compare.
    if (!std::isfinite(v)) return false;
    *out = v;
    return true;
}

std::string fold_case(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        size_t len = 1;
        uint32_t cp = decode(s, i, &len);
        if (cp == 0xFFFFFFFFu || (len == 3 && cp < 0x800)) {
            out.append(s.data() + i, len);
        } else if (cp < 0x80) {
            out.push_back(lower_ascii(static_cast<char>(cp)));
        } else {
            encode(fold_cp(cp), &out);
        }
        i += len;
    }
    return out;
}

bool equals_folded(std::string_view s, std::string_view folded) {
    if (is_ascii(s)) {
        if (s.size() != folded.size()) return false;
        for (size_t i = 0; i < s.size(); ++i)
            if (lower_ascii(s[i]) != folded[i]) return false;
        return true;
    }
    return fold_case(s) == folded;
}

bool contains_folded(std::string_view haystack, std::string_view needle) {
    if (needle.empty()) return true;
    if (is_ascii(haystack)) {
        if (needle.size() > haystack.size()) return false;
        const size_t last = haystack.size() - needle.size();
        for (size_t i = 0; i <= last; ++i) {
            size_t k = 0;
            while (k < needle.size() && lower_ascii(haystack[i + k]) == needle[k]) ++k;
            if (k == needle.size()) return true;
        }
        return false;
    }
    return fold_case(haystack).find(needle) != std::string::npos;
}

namespace {

enum class Unit { Micro, Milli, Second, Minute, Hour, Day, Week, Month, Year, Decade, Century, Millennium, None };

Unit unit_of(std::string_view u) {
    std::string s(u);
    for (char& c : s) c = lower_ascii(c);
    static const struct { const char* name; Unit unit; } table[] = {
        {"microsecond", Unit::Micro}, {"microseconds", Unit::Micro}, {"us", Unit::Micro}, {"usec", Unit::Micro},
        {"usecs", Unit::Micro}, {"usecond", Unit::Micro}, {"useconds", Unit::Micro},
        {"millisecond", Unit::Milli}, {"milliseconds", Unit::Milli}, {"ms", Unit::Milli}, {"msec", Unit::Milli},
        {"msecs", Unit::Milli}, {"msecond", Unit::Milli}, {"mseconds", Unit::Milli},
        {"s", Unit::Second}, {"sec", Unit::Second}, {"secs", Unit::Second}, {"second", Unit::Second},
        {"seconds", Unit::Second},
        {"m", Unit::Minute}, {"min", Unit::Minute}, {"mins", Unit::Minute}, {"minute", Unit::Minute},
        {"minutes", Unit::Minute},
        {"h", Unit::Hour}, {"hr", Unit::Hour}, {"hrs", Unit::Hour}, {"hour", Unit::Hour}, {"hours", Unit::Hour},
        {"d", Unit::Day}, {"day", Unit::Day}, {"days", Unit::Day},
        {"w", Unit::Week}, {"week", Unit::Week}, {"weeks", Unit::Week},
        {"mon", Unit::Month}, {"mons", Unit::Month}, {"month", Unit::Month}, {"months", Unit::Month},
        {"y", Unit::Year}, {"yr", Unit::Year}, {"yrs", Unit::Year}, {"year", Unit::Year}, {"years", Unit::Year},
        {"dec", Unit::Decade}, {"decs", Unit::Decade}, {"decade", Unit::Decade}, {"decades", Unit::Decade},
        {"c", Unit::Century}, {"cent", Unit::Century}, {"century", Unit::Century}, {"centuries", Unit::Century},
        {"mil", Unit::Millennium}, {"mils", Unit::Millennium}, {"millennium", Unit::Millennium},
        {"millennia", Unit::Millennium},
    };
    for (const auto& e : table)
        if (s == e.name) return e.unit;
    return Unit::None;
}

[[noreturn]] void bad_interval(std::string_view text, const std::string& why) {
    throw Error(ErrorCode::InvalidParameter,
                "invalid interval \"" + std::string(text) + "\": " + why);
}

}  // namespace

double interval_seconds(std::string_view text) { return interval_seconds(text, nullptr); }

double interval_seconds(std::string_view text, bool* has_months) {
    // PostgreSQL keeps an interval as (months, days, microseconds) and
    // extract(epoch) turns months into 365.25-day years plus 30-day months; the
    // same bookkeeping here gives the same seconds for fractional units too.
    int64_t months = 0;
    double days = 0, secs = 0;
    bool any = false, ago = false;
    unsigned seen = 0;  // units already given: PostgreSQL rejects "1 day 2 days"
    auto once = [&](unsigned bits, std::string_view what) {
        if (seen & bits) bad_interval(text, "\"" + std::string(what) + "\" repeats a field given earlier");
        seen |= bits;
    };
    auto bit = [](Unit u) { return 1u << static_cast<int>(u); };
    // Like PostgreSQL, fractional seconds claim the millisecond and microsecond
    // fields too, and a clock time claims every field from hours down.
    const unsigned kAllSecs = bit(Unit::Second) | bit(Unit::Milli) | bit(Unit::Micro);
    const unsigned kClockBits = bit(Unit::Hour) | bit(Unit::Minute) | kAllSecs;

    std::vector<std::string> tok;
    {
        std::string_view s = trim(text);
        size_t i = 0;
        while (i < s.size()) {
            while (i < s.size() && is_space(s[i])) ++i;
            size_t j = i;
            while (j < s.size() && !is_space(s[j])) ++j;
            std::string w(s.substr(i, j - i));
            i = j;
            if (!w.empty() && w[0] == '@') w.erase(0, 1);  // "@" may stand anywhere, "@1 day" too
            if (w.empty()) continue;
            // a sign standing alone belongs to the number after it ("- 1 day")
            if (!tok.empty() && (tok.back() == "-" || tok.back() == "+")) {
                tok.back() += w;
                continue;
            }
            tok.push_back(std::move(w));
        }
    }
    if (tok.empty()) bad_interval(text, "it is empty");
    if (!tok.empty()) {
        std::string last(tok.back());
        for (char& c : last) c = lower_ascii(c);
        if (last == "ago") { ago = true; tok.pop_back(); }
    }
    if (!tok.empty() && (tok.front()[0] == 'P' || tok.front()[0] == 'p') && tok.front().size() > 1 &&
        std::isdigit(static_cast<unsigned char>(tok.front()[1])) == 0 && tok.front()[1] != '-')
        bad_interval(text, "ISO 8601 intervals are not supported; write e.g. '30 days'");

    for (size_t t = 0; t < tok.size(); ++t) {
        std::string_view w = tok[t];
        if (w.find(':') != std::string_view::npos) {
            // [-]hh:mm[:ss[.frac]], or [-]mm:ss.frac when the second part has a fraction
            bool neg = false;
            if (w[0] == '-' || w[0] == '+') { neg = w[0] == '-'; w.remove_prefix(1); }
            double parts[3] = {0, 0, 0};
            int n = 0;
            size_t start = 0;
            for (size_t k = 0; k <= w.size(); ++k) {
                if (k == w.size() || w[k] == ':') {
                    if (n == 3) bad_interval(text, "too many ':' in a time");
                    double v;
                    std::string_view part = w.substr(start, k - start);
                    if (part.empty() || part[0] == '-' || part[0] == '+' || !parse_number(part, &v) || !std::isfinite(v))
                        bad_interval(text, "bad time \"" + std::string(tok[t]) + "\"");
                    parts[n++] = v;
                    start = k + 1;
                }
            }
            if (n == 2 && w.substr(w.find(':')).find('.') != std::string_view::npos) {
                parts[2] = parts[1];  // "1:30.5" is 1 minute 30.5 seconds
                parts[1] = parts[0];
                parts[0] = 0;
            }
            if (parts[1] >= 60 || parts[2] > 60) bad_interval(text, "field out of range in \"" + tok[t] + "\"");
            once(kClockBits, tok[t]);
            double s = parts[0] * 3600 + parts[1] * 60 + parts[2];
            secs += neg ? -s : s;
            any = true;
            continue;
        }
        // A number, with its unit attached ("10s", "1.5h") or in the next token.
        size_t k = 0;
        if (k < w.size() && (w[k] == '-' || w[k] == '+')) ++k;
        while (k < w.size() && (std::isdigit(static_cast<unsigned char>(w[k])) || w[k] == '.')) ++k;
        // allow an exponent only when followed by digits ("1e3"), not "1 s"
        std::string_view numtxt = w.substr(0, k);
        std::string_view unittxt = w.substr(k);
        double val;
        if (numtxt.empty() && unit_of(w) == Unit::None && std::isalpha(static_cast<unsigned char>(w[0])))
            bad_interval(text, "unknown unit \"" + std::string(w) + "\"");
        if (numtxt.empty() || !parse_number(numtxt, &val) || !std::isfinite(val))
            bad_interval(text, "expected a number, got \"" + std::string(w) + "\"");
        Unit u = Unit::None;
        if (!unittxt.empty()) {
            u = unit_of(unittxt);
        } else if (t + 1 == tok.size()) {
            u = Unit::Second;  // a bare number at the end: seconds
        } else if (tok[t + 1].find(':') != std::string::npos) {
            u = Unit::Day;  // "10 01:02" is 10 days 1 hour 2 minutes
        } else if (unit_of(tok[t + 1]) != Unit::None) {
            unittxt = tok[++t];
            u = unit_of(unittxt);
        } else if (std::isalpha(static_cast<unsigned char>(tok[t + 1][0]))) {
            bad_interval(text, "unknown unit \"" + tok[t + 1] + "\"");
        } else {
            bad_interval(text, "expected a unit after \"" + std::string(w) + "\"");
        }
        if (u == Unit::None) bad_interval(text, "unknown unit \"" + std::string(unittxt) + "\"");
        double ip = std::trunc(val), fp = val - ip;
        once(u == Unit::Second && fp != 0 ? kAllSecs : bit(u), unittxt.empty() ? w : unittxt);
        if (std::fabs(val) > 1e15) bad_interval(text, "out of range");
        // Whole months of a month-or-longer unit, computed in double so that a
        // huge quantity is reported as out of range instead of overflowing.
        auto add_months = [&](double per_unit) {
            double mo = ip * per_unit + (per_unit == 1 ? 0.0 : std::rint(fp * per_unit));
            if (std::fabs(static_cast<double>(months) + mo) > 2147483647.0) bad_interval(text, "out of range");
            months += static_cast<int64_t>(mo);
        };
        switch (u) {
            case Unit::Micro: secs += val * 1e-6; break;
            case Unit::Milli: secs += val * 1e-3; break;
            case Unit::Second: secs += val; break;
            case Unit::Minute: secs += val * 60; break;
            case Unit::Hour: secs += val * 3600; break;
            case Unit::Day: days += val; break;
            case Unit::Week: days += val * 7; break;
            case Unit::Month: add_months(1); days += fp * 30; break;
            case Unit::Year: add_months(12); break;
            case Unit::Decade: add_months(120); break;
            case Unit::Century: add_months(1200); break;
            case Unit::Millennium: add_months(12000); break;
            case Unit::None: break;
        }
        any = true;
    }
    if (!any) bad_interval(text, "no quantity");
    if (has_months) *has_months = months != 0 || seen & (bit(Unit::Month) | bit(Unit::Year) | bit(Unit::Decade) |
                                                         bit(Unit::Century) | bit(Unit::Millennium));
    // PostgreSQL's interval holds days in an int32 and time in int64 microseconds.
    if (std::fabs(days) > 2147483647.0 || std::fabs(secs) > 9223372036854.0) bad_interval(text, "out of range");
    double epoch = 365.25 * 86400.0 * static_cast<double>(months / 12) +
                   30.0 * 86400.0 * static_cast<double>(months % 12) + days * 86400.0 + secs;
    return ago ? -epoch : epoch;
}

}  // namespace ls

namespace ls {

void append_json_string(std::string* out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out->push_back('"');
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out->append("\\\""); break;
            case '\\': out->append("\\\\"); break;
            case '\n': out->append("\\n"); break;
            case '\r': out->append("\\r"); break;
            case '\t': out->append("\\t"); break;
            default:
                if (c < 0x20) {
                    out->append("\\u00");
                    out->push_back(hex[c >> 4]);
                    out->push_back(hex[c & 15]);
                } else {
                    out->push_back(ch);
                }
        }
    }
    out->push_back('"');
}

void append_json_number(std::string* out, double v) {
    if (!std::isfinite(v)) { out->append("null"); return; }
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, static_cast<size_t>(res.ptr - buf));
}

}  // namespace ls
