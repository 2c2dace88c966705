// interval_seconds: arbitrary text must give a finite number of seconds or
// throw ls::Error; never crash, overflow (UBSan) or hang.
#include "core/value.hpp"

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        double s = ls::interval_seconds(text);
        if (!std::isfinite(s)) ls_fuzz::fail("interval_seconds returned a non-finite number");
    } catch (const ls::Error&) {
    }
    return 0;
}
