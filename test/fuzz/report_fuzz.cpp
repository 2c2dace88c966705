// The report's page from arbitrary labels and numbers: every label is lead
// data, so whatever the bytes, the page must only contain the tags the report
// writes itself, be valid UTF-8, and never crash (ASan/UBSan) on odd numbers
// (NaN, infinities, negative counts, empty series).
#include "core/report.hpp"

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace {

bool valid_utf8(const std::string& s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    for (size_t i = 0, n = s.size(); i < n;) {
        unsigned char c = p[i];
        size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        if (len == 0 || i + len > n) return false;
        for (size_t k = 1; k < len; ++k)
            if ((p[i + k] & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

const char* const kTags[] = {"!DOCTYPE", "html", "head", "meta", "title", "style", "body", "header", "h1", "h2",
                             "p", "strong", "ul", "li", "span", "main", "section", "svg", "g", "text", "line",
                             "rect", "circle", "polyline", "footer"};

// Every '<' opens one of the report's own tags (or closes one).
bool only_own_tags(const std::string& s) {
    for (size_t p = s.find('<'); p != std::string::npos; p = s.find('<', p + 1)) {
        size_t q = p + 1 + (s.compare(p + 1, 1, "/") == 0 ? 1 : 0);
        bool ok = false;
        for (const char* t : kTags) {
            size_t n = std::strlen(t);
            if (s.compare(q, n, t) == 0 && q + n < s.size() && std::strchr(" >/\n", s[q + n])) ok = true;
        }
        if (!ok) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    using namespace ls::report;
    Data d;
    auto label = [&] { return in.ConsumeRandomLengthString(64); };
    auto n = [&] { return in.ConsumeIntegralInRange<int64_t>(-5, 1000000); };
    d.header.model = label();
    d.header.as_of = label();
    d.header.split = label();
    d.header.leads = n();
    d.header.converted = n();
    d.header.auc = ls_fuzz::consume_double(in);
    d.base_rate = ls_fuzz::consume_double(in);
    for (int i = in.ConsumeIntegralInRange(0, 25); i > 0; --i)
        d.histogram.push_back({ls_fuzz::consume_double(in), ls_fuzz::consume_double(in), n(), n()});
    for (int i = in.ConsumeIntegralInRange(0, 12); i > 0; --i)
        d.gains.push_back({ls_fuzz::consume_double(in), ls_fuzz::consume_double(in), n(), n()});
    for (int i = in.ConsumeIntegralInRange(0, 12); i > 0; --i)
        d.deciles.push_back({in.ConsumeIntegral<int>(), n(), n(), ls_fuzz::consume_double(in)});
    for (int i = in.ConsumeIntegralInRange(0, 8); i > 0; --i)
        d.funnel.push_back({label(), in.ConsumeIntegralInRange(-1, 5), n(), n(), ls_fuzz::consume_double(in),
                            ls_fuzz::consume_double(in)});
    for (int i = in.ConsumeIntegralInRange(0, 40); i > 0; --i) d.flow.push_back({label(), label(), n()});
    for (int i = in.ConsumeIntegralInRange(0, 20); i > 0; --i) {
        Lift l;
        l.field = label();
        l.value = label();
        l.missing = in.ConsumeBool();
        l.leads = n();
        l.converted = n();
        l.rate = ls_fuzz::consume_double(in);
        l.lift = ls_fuzz::consume_double(in);
        l.ci_low = ls_fuzz::consume_double(in);
        l.ci_high = ls_fuzz::consume_double(in);
        d.lifts.push_back(l);
    }
    std::string page = render(d);
    if (!valid_utf8(page)) ls_fuzz::fail("the page is not valid UTF-8");
    if (!only_own_tags(page)) ls_fuzz::fail("a label opened a tag");
    return 0;
}
