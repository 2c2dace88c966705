#pragma once
#include "core/cpp_only.hpp"

#include <stdexcept>
#include <string>

namespace ls {

// SQLSTATEs the core can ask for; the glue maps them to PostgreSQL's codes.
enum class ErrorCode {
    InvalidParameter,  // 22023 invalid_parameter_value
    NullValue,         // 22004 null_value_not_allowed
    DataCorrupted,     // XX001 data_corrupted (bad serialized state)
    FeatureNotSupported,  // 0A000
    ProgramLimit,      // 54000 program_limit_exceeded
    Internal,          // XX000
};

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

// A problem in a model spec; what() is the full user-facing message
// "invalid model spec at <path>: <problem>".
class SpecError : public Error {
public:
    SpecError(const std::string& path, const std::string& problem)
        : Error(ErrorCode::InvalidParameter, "invalid model spec at " + path + ": " + problem),
          path_(path) {}
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

}  // namespace ls
