#include "core/eval.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ls {

namespace {

bool by_score(const ScoreCount& x, const ScoreCount& y) { return x.score < y.score; }

constexpr unsigned char kMagic[4] = {'L', 'S', 'A', '1'};
constexpr size_t kHeader = 16;
constexpr size_t kEntry = sizeof(double) + 2 * sizeof(int64_t);

// Sums neighbours with equal scores in a sorted run; returns the new length.
size_t squeeze(ScoreCount* a, size_t n) {
    if (n == 0) return 0;
    size_t w = 0;
    for (size_t r = 1; r < n; ++r) {
        if (a[r].score == a[w].score) {
            a[w].pos += a[r].pos;
            a[w].neg += a[r].neg;
        } else {
            a[++w] = a[r];
        }
    }
    return w + 1;
}

}  // namespace

size_t auc_compact(ScoreCount* a, size_t sorted_n, size_t n, void (*interrupt)()) {
    if (sorted_n >= n) return n;
    // The tail can hold millions of entries: sort it in chunks and merge them
    // bottom-up, calling `interrupt` between the steps, so a cancel is honoured
    // within one chunk sort or one merge instead of after the whole sort.
    constexpr size_t kChunk = size_t{1} << 16;
    ScoreCount* t = a + sorted_n;
    const size_t len = n - sorted_n;
    for (size_t lo = 0; lo < len; lo += kChunk) {
        std::sort(t + lo, t + std::min(len, lo + kChunk), by_score);
        if (interrupt) interrupt();
    }
    for (size_t width = kChunk; width < len; width *= 2) {
        for (size_t lo = 0; lo + width < len; lo += 2 * width) {
            std::inplace_merge(t + lo, t + lo + width, t + std::min(len, lo + 2 * width), by_score);
            if (interrupt) interrupt();
        }
    }
    // Squeeze the tail first so the merge moves fewer entries.
    size_t tail = squeeze(a + sorted_n, n - sorted_n);
    n = sorted_n + tail;
    std::inplace_merge(a, a + sorted_n, a + n, by_score);
    return squeeze(a, n);
}

size_t auc_merge(const ScoreCount* a, size_t na, const ScoreCount* b, size_t nb, ScoreCount* out) {
    size_t i = 0, j = 0, w = 0;
    while (i < na || j < nb) {
        if (j >= nb || (i < na && a[i].score < b[j].score)) {
            out[w++] = a[i++];
        } else if (i >= na || b[j].score < a[i].score) {
            out[w++] = b[j++];
        } else {
            out[w] = a[i++];
            out[w].pos += b[j].pos;
            out[w].neg += b[j++].neg;
            ++w;
        }
    }
    return w;
}

bool auc_value(const ScoreCount* a, size_t n, double* out) {
    // 2U = sum over scores s of pos(s) * (2 * neg(below s) + neg(s)).
    unsigned __int128 twice_u = 0;
    uint64_t neg_below = 0, pos_total = 0;
    for (size_t k = 0; k < n; ++k) {
        uint64_t p = static_cast<uint64_t>(a[k].pos), q = static_cast<uint64_t>(a[k].neg);
        twice_u += static_cast<unsigned __int128>(p) * (2 * static_cast<unsigned __int128>(neg_below) + q);
        neg_below += q;
        pos_total += p;
    }
    if (pos_total == 0 || neg_below == 0) return false;
    unsigned __int128 twice_pairs = 2 * static_cast<unsigned __int128>(pos_total) * neg_below;
    // Both fit a long double's 64-bit mantissa only approximately beyond 2^64;
    // the quotient is still correct to a few ulps of a double.
    *out = static_cast<double>(static_cast<long double>(twice_u) / static_cast<long double>(twice_pairs));
    return true;
}

size_t auc_serialized_size(size_t n) { return kHeader + n * kEntry; }

void auc_serialize(const ScoreCount* a, size_t n, unsigned char* out) {
    std::memcpy(out, kMagic, 4);
    uint32_t zero = 0;
    std::memcpy(out + 4, &zero, 4);
    uint64_t n64 = n;
    std::memcpy(out + 8, &n64, 8);
    unsigned char* p = out + kHeader;
    for (size_t k = 0; k < n; ++k, p += kEntry) {
        std::memcpy(p, &a[k].score, 8);
        std::memcpy(p + 8, &a[k].pos, 8);
        std::memcpy(p + 16, &a[k].neg, 8);
    }
}

size_t auc_check_serialized(const unsigned char* p, size_t len) {
    auto bad = [](const char* what) {
        throw Error(ErrorCode::DataCorrupted, std::string("invalid serialized auc state: ") + what);
    };
    if (len < kHeader) bad("too short");
    if (std::memcmp(p, kMagic, 4) != 0) bad("bad magic");
    uint32_t zero;
    std::memcpy(&zero, p + 4, 4);
    if (zero != 0) bad("bad header");
    uint64_t n;
    std::memcpy(&n, p + 8, 8);
    if (n > (len - kHeader) / kEntry || auc_serialized_size(n) != len) bad("length does not match entry count");
    double prev = 0;
    // No real state counts more than 2^53 rows; the bound keeps every sum of
    // counts in combine (auc_merge, auc_compact) far from int64 overflow.
    constexpr uint64_t kMaxRows = uint64_t{1} << 53;
    uint64_t rows = 0;
    for (uint64_t k = 0; k < n; ++k) {
        const unsigned char* e = p + kHeader + k * kEntry;
        double s;
        int64_t pos, neg;
        std::memcpy(&s, e, 8);
        std::memcpy(&pos, e + 8, 8);
        std::memcpy(&neg, e + 16, 8);
        if (std::isnan(s)) bad("NaN score");
        if (k > 0 && !(prev < s)) bad("scores not strictly increasing");
        if (pos < 0 || neg < 0 || (pos == 0 && neg == 0)) bad("bad counts");
        rows += static_cast<uint64_t>(pos) + static_cast<uint64_t>(neg);  // each below 2^63: no wrap
        if (static_cast<uint64_t>(pos) > kMaxRows || static_cast<uint64_t>(neg) > kMaxRows || rows > kMaxRows)
            bad("more than 2^53 rows");
        prev = s;
    }
    return static_cast<size_t>(n);
}

void auc_deserialize(const unsigned char* p, size_t n, ScoreCount* out) {
    const unsigned char* e = p + kHeader;
    for (size_t k = 0; k < n; ++k, e += kEntry) {
        std::memcpy(&out[k].score, e, 8);
        std::memcpy(&out[k].pos, e + 8, 8);
        std::memcpy(&out[k].neg, e + 16, 8);
    }
}

}  // namespace ls
