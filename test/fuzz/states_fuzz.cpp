// Serialized aggregate states (doc/hardening.md): arbitrary bytes given to the
// core's checks of what the deserialize functions receive. The first byte picks
// the state kind, the rest is the serialized state:
//   0 auc (core/eval.hpp), 1 rfm_breaks, 2 logistic_fit, 3 activity_score /
//   activity_breakdown, 4 event_flags (core/state_codec.hpp).
// Every check must accept or throw ls::Error(DataCorrupted), never read out of
// bounds. For accepted states: serialize(deserialize(x)) == x (the formats have
// no slack), and the combine steps the glue runs on them (auc merge and
// compaction, logistic_fit on the rows) stay in range.
#include "core/eval.hpp"
#include "core/logistic.hpp"
#include "core/state_codec.hpp"

#include "fuzz_common.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

void expect_corrupt(const ls::Error& e) {
    if (e.code() != ls::ErrorCode::DataCorrupted) ls_fuzz::fail("a state check threw something other than DataCorrupted");
}

void fuzz_auc(const unsigned char* p, size_t len) {
    size_t n;
    try {
        n = ls::auc_check_serialized(p, len);
    } catch (const ls::Error& e) {
        expect_corrupt(e);
        return;
    }
    std::vector<ls::ScoreCount> a(n);
    ls::auc_deserialize(p, n, a.data());
    std::vector<unsigned char> again(ls::auc_serialized_size(n));
    ls::auc_serialize(a.data(), n, again.data());
    if (again.size() != len || std::memcmp(again.data(), p, len) != 0) ls_fuzz::fail("auc: round trip changed the bytes");
    // combine with itself, both ways the glue does it: merge of two sorted
    // states, and compaction of one appended to the other.
    std::vector<ls::ScoreCount> merged(2 * n);
    size_t m = ls::auc_merge(a.data(), n, a.data(), n, merged.data());
    if (m != n) ls_fuzz::fail("auc: merging a state with itself changed the number of scores");
    std::vector<ls::ScoreCount> both(a);
    both.insert(both.end(), a.rbegin(), a.rend());
    size_t c = ls::auc_compact(both.data(), n, both.size());
    if (c != n) ls_fuzz::fail("auc: compaction changed the number of scores");
    for (size_t k = 0; k < n; ++k) {
        if (merged[k].score != a[k].score && !(merged[k].score == 0 && a[k].score == 0))
            ls_fuzz::fail("auc: merge reordered scores");
        if (merged[k].pos != 2 * a[k].pos || merged[k].neg != 2 * a[k].neg || both[k].pos != merged[k].pos ||
            both[k].neg != merged[k].neg)
            ls_fuzz::fail("auc: combined counts are not twice the state's");
    }
    double v1, v2;
    bool h1 = ls::auc_value(a.data(), n, &v1), h2 = ls::auc_value(merged.data(), m, &v2);
    if (h1 != h2) ls_fuzz::fail("auc: doubling the counts changed whether there is an AUC");
    if (h1 && !(v1 >= 0 && v1 <= 1 && std::fabs(v1 - v2) <= 1e-12)) ls_fuzz::fail("auc: value out of [0, 1] or unstable");
}

void fuzz_rfm(const unsigned char* p, size_t len) {
    ls::RfmStateInfo info;
    try {
        info = ls::rfm_state_check(p, len);
    } catch (const ls::Error& e) {
        expect_corrupt(e);
        return;
    }
    // What the glue's serializer writes for this state.
    std::vector<unsigned char> again(ls::kRfmStateHeader);
    const uint32_t magic = ls::kRfmStateMagic;
    std::memcpy(again.data(), &magic, 4);
    std::memcpy(again.data() + 4, &info.bins, 4);
    std::memcpy(again.data() + 8, info.n, 24);
    const size_t values = static_cast<size_t>(info.n[0] + info.n[1] + info.n[2]) * sizeof(double);
    if (info.values != p + ls::kRfmStateHeader || ls::kRfmStateHeader + values != len)
        ls_fuzz::fail("rfm: accepted state's values do not fill the input");
    again.insert(again.end(), info.values, info.values + values);
    if (std::memcmp(again.data(), p, len) != 0) ls_fuzz::fail("rfm: round trip changed the bytes");
}

void fuzz_logistic(const unsigned char* p, size_t len) {
    ls::LogisticStateInfo info;
    try {
        info = ls::logistic_state_check(p, len);
    } catch (const ls::Error& e) {
        expect_corrupt(e);
        return;
    }
    const size_t width = static_cast<size_t>(info.d) + 1;
    if (ls::kLogisticStateHeader + info.n * width * sizeof(double) != len)
        ls_fuzz::fail("logistic: accepted state's rows do not fill the input");
    if (info.n * width > 4096) return;  // fitting big ones is slow, the check above is what matters
    std::vector<double> rows(info.n * width);
    std::memcpy(rows.data(), info.rows, rows.size() * sizeof(double));
    ls::LogisticOptions opt;
    opt.l2 = info.l2;
    opt.max_iterations = 20;
    try {
        ls::LogisticResult r = ls::logistic_fit(rows.data(), info.n, static_cast<size_t>(info.d), opt);
        if (!std::isfinite(r.intercept)) ls_fuzz::fail("logistic: non-finite intercept");
        for (double c : r.coef)
            if (!std::isfinite(c)) ls_fuzz::fail("logistic: non-finite coefficient");
    } catch (const ls::Error&) {
    }
}

void fuzz_activity(const unsigned char* p, size_t len) {
    try {
        ls::ActivityStateInfo info = ls::activity_state_check(p, len);
        if (info.nslots < 1 || info.nslots > ls::kActivityMaxSlots) ls_fuzz::fail("activity: slot count out of range");
        if (info.nacc < 1 || info.nacc > info.nslots + 1) ls_fuzz::fail("activity: accumulator count out of range");
        if (len < 32 + 8 * static_cast<size_t>(info.nslots + info.nacc))
            ls_fuzz::fail("activity: accepted a truncated state");
    } catch (const ls::Error& e) {
        expect_corrupt(e);
    }
}

void fuzz_flags(const unsigned char* p, size_t len) {
    try {
        uint32_t n = ls::event_flags_state_check(p, len);
        if (24 + 4 * static_cast<size_t>(n) > len) ls_fuzz::fail("event_flags: accepted more names than bytes");
    } catch (const ls::Error& e) {
        expect_corrupt(e);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    // A copy of exactly the state's bytes, so that AddressSanitizer catches a
    // read one past its end.
    std::vector<unsigned char> state(data + 1, data + size);
    const unsigned char* p = state.empty() ? nullptr : state.data();
    static const unsigned char empty = 0;
    if (!p) p = &empty;
    switch (data[0] % 5) {
        case 0: fuzz_auc(p, state.size()); break;
        case 1: fuzz_rfm(p, state.size()); break;
        case 2: fuzz_logistic(p, state.size()); break;
        case 3: fuzz_activity(p, state.size()); break;
        default: fuzz_flags(p, state.size()); break;
    }
    return 0;
}
