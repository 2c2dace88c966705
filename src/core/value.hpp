#pragma once
#include "core/cpp_only.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace ls {

// One attribute value of a lead, as the glue found it (a jsonb scalar or a table
// column). Strings are borrowed: they point into the caller's datum and must
// outlive the evaluation.
struct Value {
    enum Kind : unsigned char { Missing, Null, Bool, Number, String, Other };
    Kind kind = Missing;
    bool b = false;
    double num = 0.0;
    std::string_view str;

    static Value missing() { return Value{}; }
    static Value null() { Value v; v.kind = Null; return v; }
    static Value boolean(bool x) { Value v; v.kind = Bool; v.b = x; return v; }
    static Value number(double x) { Value v; v.kind = Number; v.num = x; return v; }
    static Value string(std::string_view s) { Value v; v.kind = String; v.str = s; return v; }
    // Arrays and objects: present (exists: true) but never equal to a scalar.
    static Value other() { Value v; v.kind = Other; return v; }

    bool present() const { return kind != Missing && kind != Null; }
};

// Parses the whole of s (surrounding white space allowed) as a number, the way a
// numeric predicate accepts strings. Returns false for anything else.
bool parse_number(std::string_view s, double* out);

// Case folding used by every case-insensitive comparison: ASCII plus the Latin-1,
// Latin Extended-A, Latin Extended Additional (Vietnamese), Greek (with tonos;
// final sigma folds to sigma) and Cyrillic capitals (simple one-to-one folding).
std::string fold_case(std::string_view s);
bool equals_folded(std::string_view s, std::string_view folded);
bool contains_folded(std::string_view haystack, std::string_view folded_needle);

// Seconds in a PostgreSQL interval literal, as extract(epoch from interval) gives
// them. Supports the units, "@", "ago", hh:mm[:ss] and fractional quantities of
// PostgreSQL's postgres interval style. Throws ls::Error(InvalidParameter).
double interval_seconds(std::string_view text);
// The same; *has_months: the text names a month-or-longer unit (such an
// interval has no fixed length in seconds: date_bin refuses it).
double interval_seconds(std::string_view text, bool* has_months);

}  // namespace ls

namespace ls {
// JSON text helpers for results built in C++ (breakdowns): a quoted, escaped
// string, and a number (non-finite values become null: JSON has no NaN).
void append_json_string(std::string* out, std::string_view s);
void append_json_number(std::string* out, double v);
}  // namespace ls
