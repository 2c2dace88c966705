// Pieces of the activity aggregates (doc/activity.md) that need no PostgreSQL:
//  * activity_fingerprint: identifies what activity scoring reads from a model
//    (slot names, points, caps, decay, window, clamps), the same in every
//    process, so a parallel worker's partial state can be checked against the
//    leader's without shipping the spec;
//  * SlotTable: event type -> slot without allocating, hashing or copying more
//    than the type's bytes once per row. Its cells live in memory the caller
//    provides (the glue puts them in PostgreSQL memory, which needs no
//    destructor).
#pragma once
#include "core/cpp_only.hpp"

#include "core/spec.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ls {

uint64_t activity_fingerprint(const Model& m);

// The words a name is hashed from: the first and last 8 (or 4) bytes, the
// middle of longer names folded into a. Up to 16 bytes, (a, b, n) is the name
// itself, so comparing them is comparing the names.
inline void name_words(const char* p, size_t n, uint64_t* a_out, uint64_t* b_out) {
    constexpr uint64_t k1 = 0x9E3779B97F4A7C15ull;
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        std::memcpy(&a, p, 8);
        std::memcpy(&b, p + n - 8, 8);
        for (size_t i = 8; i + 8 < n; i += 8) {  // the middle of longer names
            uint64_t w;
            std::memcpy(&w, p + i, 8);
            a = (a ^ w) * k1;
        }
    } else if (n >= 4) {
        uint32_t x, y;
        std::memcpy(&x, p, 4);
        std::memcpy(&y, p + n - 4, 4);
        a = x;
        b = y;
    } else if (n > 0) {
        a = static_cast<unsigned char>(p[0]) | (static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8) |
            (static_cast<uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16);
    }
    *a_out = a;
    *b_out = b;
}

// A fast hash of a short byte string (event type names): a few word loads and
// multiplies instead of a multiply per byte. Only for hash tables whose hits
// are verified by comparing the bytes.
inline uint64_t hash_bytes(const char* p, size_t n) {
    constexpr uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xC2B2AE3D27D4EB4Full;
    uint64_t a, b;
    name_words(p, n, &a, &b);
    uint64_t h = (a ^ k2) * k1 ^ (b + n) * k2;
    return h ^ (h >> 29);
}

// A cell of SlotTable: a slot name's words (see name_words) and index.
struct SlotCell {
    uint64_t a, b;
    uint32_t len;  // UINT32_MAX: empty
    int32_t slot;  // -1: empty
};

// Event type -> slot. For a model of up to 64 slot names, build() picks a hash
// seed under which no two names share a cell, so a lookup is one hash, one cell
// and a compare of two words and a length (names up to 16 bytes): no probing,
// and no access to the model's strings. Larger models, or names no seed keeps
// apart, use linear probing.
struct SlotTable {
    const Model* model = nullptr;
    SlotCell* cells = nullptr;
    uint64_t seed_a = 0, seed_b = 0;  // odd
    size_t mask = 0;  // cells - 1
    int shift = 64;   // 64 - log2(cells)
    bool collision_free = false;
    int wildcard = 0;

    static constexpr size_t kMaxCollisionFree = 64;

    // Cells needed for m: a power of two, 8 per name up to kMaxCollisionFree
    // names (a free seed is then found in a few tries), else 2 per name.
    static size_t cells_for(const Model& m);
    // Fills `cells` (cells_for(m) entries).
    void build(const Model& m, SlotCell* cells_mem);

    // The cell of a name's words: two independent multiplies by the seed's
    // halves, not hash_bytes' chain of three, since the lookup waits on it;
    // the length goes into b's top byte, where names under 8 bytes have none.
    size_t cell_of(uint64_t a, uint64_t b, size_t n) const {
        return static_cast<size_t>(((a * seed_a) ^ ((b ^ (static_cast<uint64_t>(n) << 56)) * seed_b)) >> shift);
    }

    // The slot of an event type: its own slot, or the wildcard slot
    // (m.slots.size()) for a type the spec does not name. Same as m.slot_for().
    __attribute__((always_inline)) int find(const char* p, size_t n) const {
        uint64_t a, b;
        name_words(p, n, &a, &b);
        for (size_t i = cell_of(a, b, n);; i = (i + 1) & mask) {
            const SlotCell& c = cells[i];
            if (c.len == n && c.a == a && c.b == b &&
                (n <= 16 || std::memcmp(model->slots[static_cast<size_t>(c.slot)].data(), p, n) == 0))
                return c.slot;
            if (collision_free || c.slot < 0) return wildcard;
        }
    }
};

// activity_score's accumulators. A cap applies to one type's sum, so each
// capped slot keeps its own; uncapped slots (the wildcard among them) only
// ever add to the total, so they share one, the last. A state then holds
// ncapped + 1 sums instead of one per slot: for typical models it fits a
// 64-byte chunk, which matters when events arrive in time order and every row
// touches a random group's state.
// A slot is capped when its cap is not +inf (the model's "no cap"); the same
// rule on a deserialized state's caps, whatever their bytes.
inline bool slot_capped(double cap) { return !(cap == __builtin_inf()); }

// For n caps read from possibly unaligned bytes (a model's slot_cap, or a
// serialized state's): the number of accumulators and, where the arrays are
// given, acc_of[s] (n entries), the accumulator of slot s, and acc_caps[k]
// (up to n + 1 entries), the cap of accumulator k (+inf for the shared one).
inline int32_t activity_accumulators(const void* caps, int32_t n, int32_t* acc_of = nullptr,
                                     double* acc_caps = nullptr) {
    const unsigned char* p = static_cast<const unsigned char*>(caps);
    int32_t k = 0;
    for (int32_t s = 0; s < n; ++s) {
        double c;
        std::memcpy(&c, p + sizeof c * static_cast<size_t>(s), sizeof c);
        const bool capped = slot_capped(c);
        if (acc_of) acc_of[s] = capped ? k : -1;
        if (capped && acc_caps) acc_caps[k] = c;
        k += capped;
    }
    if (acc_of)
        for (int32_t s = 0; s < n; ++s)
            if (acc_of[s] < 0) acc_of[s] = k;
    if (acc_caps) acc_caps[k] = __builtin_inf();
    return k + 1;
}

// The age in seconds of an event at `occurred_us` seen at `as_of_us` (both in
// PostgreSQL's microseconds), as extract(epoch from as_of - occurred_at) gives
// it. NaN when either is infinite (INT64_MIN/INT64_MAX): such events have no
// age and are never counted (ls::event_counts rejects NaN).
inline double event_age(int64_t as_of_us, int64_t occurred_us) {
    constexpr int64_t kNoBegin = INT64_MIN, kNoEnd = INT64_MAX;
    if (as_of_us == kNoBegin || as_of_us == kNoEnd || occurred_us == kNoBegin || occurred_us == kNoEnd)
        return __builtin_nan("");
    int64_t d;
    if (__builtin_sub_overflow(as_of_us, occurred_us, &d))
        return (static_cast<double>(as_of_us) - static_cast<double>(occurred_us)) / 1e6;
    return static_cast<double>(d) / 1e6;
}

}  // namespace ls
