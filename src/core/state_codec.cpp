#include "core/state_codec.hpp"

#include "core/activity_state.hpp"
#include "core/error.hpp"
#include "core/logistic.hpp"
#include "core/rfm.hpp"
#include "core/spec.hpp"

#include <cmath>
#include <cstring>
#include <string>

namespace ls {

static_assert(kActivityMaxSlots == 2 * kMaxEventTypes + 1, "slot limit of the activity state");

namespace {

// Bounds-checked reads; `prefix` starts every error message.
struct Reader {
    const unsigned char* p;
    const unsigned char* end;
    const char* prefix;

    [[noreturn]] void corrupt(const char* what) const {
        throw Error(ErrorCode::DataCorrupted, std::string(prefix) + what);
    }
    void need(size_t n) const {
        if (static_cast<size_t>(end - p) < n) corrupt("truncated");
    }
    template <typename T>
    T get() {
        T v;
        need(sizeof v);
        std::memcpy(&v, p, sizeof v);
        p += sizeof v;
        return v;
    }
    const unsigned char* skip(size_t n) {
        need(n);
        const unsigned char* r = p;
        p += n;
        return r;
    }
};

}  // namespace

// The same checks, in the same order and with the same messages, as the
// glue's reader in src/pg/activity.cpp, which copies the state afterwards.
ActivityStateInfo activity_state_check(const unsigned char* p, size_t len) {
    Reader r{p, p + len, "invalid serialized activity aggregate state: "};
    if (r.get<uint32_t>() != kActivityStateMagic) r.corrupt("bad magic number");
    const uint8_t breakdown = r.get<uint8_t>(), has_min = r.get<uint8_t>(), has_max = r.get<uint8_t>(),
                  pad = r.get<uint8_t>();
    if (breakdown > 1 || has_min > 1 || has_max > 1 || pad != 0) r.corrupt("bad flags");
    const int32_t n = r.get<int32_t>();
    if (n < 1 || n > kActivityMaxSlots) r.corrupt("bad slot count");
    r.skip(8 + 8 + 8 + 8);  // fingerprint, as_of, min, max
    const int32_t nacc = activity_accumulators(r.skip(sizeof(double) * static_cast<size_t>(n)), n);
    r.skip(sizeof(double) * static_cast<size_t>(nacc));  // accumulators
    if (breakdown) {
        r.skip(sizeof(double) * static_cast<size_t>(n));  // raw per-slot sums
        const unsigned char* counts = r.skip(sizeof(int64_t) * static_cast<size_t>(n));
        for (int32_t i = 0; i < n; ++i) {
            int64_t c;
            std::memcpy(&c, counts + sizeof c * static_cast<size_t>(i), sizeof c);
            if (c < 0) r.corrupt("negative count");
        }
        for (int32_t i = 0; i + 1 < n; ++i) r.skip(r.get<uint32_t>());
        const uint32_t nwild = r.get<uint32_t>();
        for (uint32_t k = 0; k < nwild; ++k) {
            r.skip(r.get<uint32_t>());
            const int64_t count = r.get<int64_t>();
            r.get<double>();
            if (count < 0) r.corrupt("negative count");
        }
    }
    if (r.p != r.end) r.corrupt("trailing bytes");
    return {breakdown != 0, n, nacc};
}

uint32_t event_flags_state_check(const unsigned char* p, size_t len) {
    Reader r{p, p + len, ""};
    auto bad = [] { throw Error(ErrorCode::DataCorrupted, "event_flags: corrupt serialized state"); };
    if (len < 24) bad();
    const uint32_t magic = r.get<uint32_t>();
    r.skip(16);  // model hash, as_of
    const uint32_t n = r.get<uint32_t>();
    if (magic != kFlagsStateMagic || n > static_cast<size_t>(r.end - r.p) / 4) bad();
    for (uint32_t i = 0; i < n; ++i) {
        if (r.end - r.p < 4) bad();
        const uint32_t l = r.get<uint32_t>();
        if (l > static_cast<size_t>(r.end - r.p) || l > 0x7fffffffu) bad();
        r.p += l;
    }
    if (r.p != r.end) bad();
    return n;
}

RfmStateInfo rfm_state_check(const unsigned char* p, size_t len) {
    auto bad = [] { throw Error(ErrorCode::DataCorrupted, "rfm_breaks: corrupt serialized state"); };
    if (len < kRfmStateHeader) bad();
    RfmStateInfo info{};
    uint32_t magic;
    std::memcpy(&magic, p, 4);
    std::memcpy(&info.bins, p + 4, 4);
    std::memcpy(info.n, p + 8, 24);
    if (magic != kRfmStateMagic || info.bins < kRfmMinBins || info.bins > kRfmMaxBins) bad();
    const size_t room = (len - kRfmStateHeader) / sizeof(double);
    const uint64_t* n = info.n;
    if ((len - kRfmStateHeader) % sizeof(double) != 0 || n[0] > room || n[1] > room - n[0] ||
        n[2] != room - n[0] - n[1])
        bad();
    info.values = p + kRfmStateHeader;
    for (size_t i = 0; i < room; ++i) {
        double v;
        std::memcpy(&v, info.values + i * sizeof v, sizeof v);
        if (!std::isfinite(v)) bad();
    }
    return info;
}

LogisticStateInfo logistic_state_check(const unsigned char* p, size_t len) {
    auto corrupt = [](const char* what) {
        throw Error(ErrorCode::DataCorrupted, std::string("invalid serialized logistic_fit state: ") + what);
    };
    if (len < kLogisticStateHeader || std::memcmp(p, kLogisticStateMagic, 4) != 0) corrupt("bad header");
    LogisticStateInfo info{};
    std::memcpy(&info.d, p + 4, 4);
    std::memcpy(&info.l2, p + 8, 8);
    std::memcpy(&info.n, p + 16, 8);
    if (info.d < 0 || static_cast<size_t>(info.d) > kLogisticMaxFeatures) corrupt("bad feature count");
    if (!(info.l2 >= 0) || std::isinf(info.l2)) corrupt("bad l2");
    const size_t width = static_cast<size_t>(info.d) + 1, stride = width * sizeof(double);
    if (info.n == 0 || info.n > (len - kLogisticStateHeader) / stride || kLogisticStateHeader + info.n * stride != len)
        corrupt("length does not match row count");
    info.rows = p + kLogisticStateHeader;
    for (uint64_t i = 0; i < info.n; ++i) {
        for (size_t j = 0; j < width; ++j) {
            double v;
            std::memcpy(&v, info.rows + (i * width + j) * sizeof v, sizeof v);
            if (!std::isfinite(v) || (j + 1 == width && v != 0.0 && v != 1.0)) corrupt("bad value");
        }
    }
    return info;
}

}  // namespace ls
