// Helpers shared by the qualification and RFM unit tests.
#pragma once

#include "core/error.hpp"
#include "core/spec.hpp"

#include <string>

namespace qualify_test {

// The message of the SpecError a spec raises, or "no error".
inline std::string spec_error(const std::string& spec) {
    try {
        ls::parse_model(spec);
    } catch (const ls::SpecError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace qualify_test
