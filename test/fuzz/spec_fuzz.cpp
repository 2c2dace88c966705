// Model spec parser/validator: arbitrary bytes into parse_model() must either
// give a model or throw ls::Error (SpecError); never crash, hang or leak. A
// model that parses is evaluated once with every field missing, to touch the
// compiled rules (regular expressions included).
#include "core/fit.hpp"
#include "core/spec.hpp"

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto m = ls::parse_model(text);
        std::vector<ls::Value> vals(m->fields.size(), ls::Value::missing());
        double s = ls::fit_score(*m, vals.data());
        if (!std::isfinite(s)) ls_fuzz::fail("fit_score of a valid spec is not finite");
        std::vector<int> matched;
        ls::fit_matches(*m, vals.data(), &matched);
        if (m->slot_points.size() != m->slots.size() + 1 || m->slot_cap.size() != m->slots.size() + 1)
            ls_fuzz::fail("slot arrays do not have slots + 1 entries");
        for (const auto& r : m->fit.rules)
            if (r.field_index < 0 || static_cast<size_t>(r.field_index) >= m->fields.size())
                ls_fuzz::fail("rule field_index out of range");
    } catch (const ls::Error&) {
        // rejected with a message: fine
    }
    return 0;
}
