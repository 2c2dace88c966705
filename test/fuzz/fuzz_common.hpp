// Shared helpers for the libFuzzer targets in this directory (doc/hardening.md,
// "Adding a fuzz target"). Every target is a file NAME_fuzz.cpp defining
// LLVMFuzzerTestOneInput, with seeds in corpus/NAME/; CMake (LS_FUZZ=ON) and
// `make fuzz` discover them.
#pragma once

#include "core/error.hpp"
#include "core/value.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

namespace ls_fuzz {

// A finding that is not a crash (a broken invariant): print and abort so that
// libFuzzer saves the input as a crash artifact.
[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

// A double from the input, biased towards the awkward ones.
inline double consume_double(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
        case 0: return std::numeric_limits<double>::quiet_NaN();
        case 1: return std::numeric_limits<double>::infinity();
        case 2: return -std::numeric_limits<double>::infinity();
        case 3: return std::numeric_limits<double>::max();
        case 4: return -0.0;
        case 5: return std::numeric_limits<double>::denorm_min();
        case 6: return static_cast<double>(in.ConsumeIntegralInRange<int>(-1000, 1000));
        default: return in.ConsumeFloatingPoint<double>();
    }
}

// One attribute value of any kind. Strings are arbitrary bytes (so also
// invalid UTF-8) and are kept alive in `arena` (Value borrows them).
inline ls::Value consume_value(FuzzedDataProvider& in, std::vector<std::string>* arena) {
    switch (in.ConsumeIntegralInRange<int>(0, 6)) {
        case 0: return ls::Value::missing();
        case 1: return ls::Value::null();
        case 2: return ls::Value::boolean(in.ConsumeBool());
        case 3: return ls::Value::number(consume_double(in));
        case 4: return ls::Value::other();
        default:
            arena->push_back(in.ConsumeRandomLengthString(256));
            return ls::Value::string(arena->back());
    }
}

}  // namespace ls_fuzz
