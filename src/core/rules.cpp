#include "core/fit.hpp"

#include <re2/re2.h>

#include <charconv>
#include <cmath>
#include <string>

namespace ls {

namespace {

// Numeric view of a value for gt/gte/lt/lte/between and numeric equality.
bool numeric(const Value& v, double* out) {
    if (v.kind == Value::Number) { *out = v.num; return true; }
    if (v.kind == Value::String) return parse_number(v.str, out);
    return false;
}

bool bool_text(std::string_view s, bool* out) {
    if (equals_folded(s, "true")) { *out = true; return true; }
    if (equals_folded(s, "false")) { *out = false; return true; }
    return false;
}

bool equal(const Value& v, const Operand& o) {
    switch (o.kind) {
        case Operand::String:
            if (v.kind == Value::String) return equals_folded(v.str, o.str);
            if (v.kind == Value::Number) return o.str_is_number && v.num == o.str_num;
            if (v.kind == Value::Bool) return o.str == (v.b ? "true" : "false");
            return false;
        case Operand::Number: {
            if (v.kind == Value::Bool) return false;
            double x;
            return numeric(v, &x) && x == o.num;
        }
        case Operand::Bool: {
            if (v.kind == Value::Bool) return v.b == o.b;
            bool b;
            return v.kind == Value::String && bool_text(v.str, &b) && b == o.b;
        }
    }
    return false;
}

// Text of a scalar for contains/matches: strings as they are, numbers and
// booleans as JSON writes them.
bool text_of(const Value& v, std::string_view* out, std::string* buf) {
    if (v.kind == Value::String) { *out = v.str; return true; }
    if (v.kind == Value::Bool) { *out = v.b ? "true" : "false"; return true; }
    if (v.kind == Value::Number) {
        // Plain decimal, the shortest that reads back as the same double (how
        // jsonb writes 2.3 or 1e20), never a %.17g artefact like 2.2999999999999998.
        char tmp[400];
        if (!std::isfinite(v.num)) {
            buf->assign(std::isnan(v.num) ? "NaN" : v.num > 0 ? "Infinity" : "-Infinity");
        } else {
            auto res = std::to_chars(tmp, tmp + sizeof tmp, v.num, std::chars_format::fixed);
            buf->assign(tmp, static_cast<size_t>(res.ptr - tmp));
        }
        *out = *buf;
        return true;
    }
    return false;
}

}  // namespace

bool Rule::matches(const Value& v) const {
    if (op == Op::Exists) return v.present() == exists;
    if (!v.present()) return false;
    switch (op) {
        case Op::Eq: return equal(v, operands[0]);
        case Op::Neq: return v.kind != Value::Other && !equal(v, operands[0]);
        case Op::In:
            for (const auto& o : operands)
                if (equal(v, o)) return true;
            return false;
        case Op::NotIn:
            if (v.kind == Value::Other) return false;
            for (const auto& o : operands)
                if (equal(v, o)) return false;
            return true;
        case Op::Gt: case Op::Gte: case Op::Lt: case Op::Lte: case Op::Between: {
            double x;
            if (v.kind == Value::Bool || !numeric(v, &x)) return false;
            switch (op) {
                case Op::Gt: return x > lo;
                case Op::Gte: return x >= lo;
                case Op::Lt: return x < lo;
                case Op::Lte: return x <= lo;
                default: return x >= lo && x <= hi;
            }
        }
        case Op::Contains: {
            std::string_view s;
            std::string buf;
            return text_of(v, &s, &buf) && contains_folded(s, operands[0].str);
        }
        case Op::Matches: {
            std::string_view s;
            std::string buf;
            return text_of(v, &s, &buf) && RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *re);
        }
        case Op::Exists: break;
    }
    return false;
}

double fit_raw(const Model& m, const Value* values) {
    double sum = 0;
    for (const Rule& r : m.fit.rules)
        if (r.matches(values[r.field_index])) sum += r.points;
    return sum;
}

double fit_score(const Model& m, const Value* values) { return m.fit.bounds.apply(fit_raw(m, values)); }

void fit_matches(const Model& m, const Value* values, std::vector<int>* matched) {
    matched->clear();
    for (size_t i = 0; i < m.fit.rules.size(); ++i)
        if (m.fit.rules[i].matches(values[m.fit.rules[i].field_index])) matched->push_back(static_cast<int>(i));
}

}  // namespace ls
