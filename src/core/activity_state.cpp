#include "core/activity_state.hpp"

#include <cstring>

namespace ls {

namespace {
struct Hasher {
    uint64_t h = 1469598103934665603ull;
    void bytes(const void* p, size_t n) {
        const unsigned char* c = static_cast<const unsigned char*>(p);
        for (size_t i = 0; i < n; ++i) {
            h ^= c[i];
            h *= 1099511628211ull;
        }
    }
    void u64(uint64_t v) { bytes(&v, sizeof v); }
    void dbl(double v) {
        if (v == 0) v = 0;  // -0 and +0 score alike
        uint64_t b;
        std::memcpy(&b, &v, sizeof b);
        u64(b);
    }
    void opt(const std::optional<double>& v) {
        u64(v.has_value());
        if (v) dbl(*v);
    }
};

uint64_t splitmix(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

uint64_t activity_fingerprint(const Model& m) {
    Hasher h;
    h.u64(m.slots.size());
    for (const auto& s : m.slots) {
        h.u64(s.size());
        h.bytes(s.data(), s.size());
    }
    for (double p : m.slot_points) h.dbl(p);
    for (double c : m.slot_cap) h.dbl(c);
    h.u64(static_cast<uint64_t>(m.activity.decay.kind));
    h.dbl(m.activity.decay.seconds);
    h.opt(m.activity.window_seconds);
    h.opt(m.activity.bounds.min);
    h.opt(m.activity.bounds.max);
    return h.h;
}

size_t SlotTable::cells_for(const Model& m) {
    const size_t per_name = m.slots.size() <= kMaxCollisionFree ? 8 : 2;
    size_t n = 16;
    while (n < per_name * m.slots.size()) n <<= 1;
    return n;
}

void SlotTable::build(const Model& m, SlotCell* cells_mem) {
    model = &m;
    cells = cells_mem;
    wildcard = m.wildcard_slot();
    const size_t n = cells_for(m);
    mask = n - 1;
    shift = 64 - __builtin_ctzll(n);
    const size_t names = m.slots.size();
    // With 8 cells per name a seed keeps all names apart with probability
    // about e^(-names/16): one try for the typical dozen, ~50 for 64.
    int tries = names <= kMaxCollisionFree ? 4096 : 0;
    uint64_t next = 0x243F6A8885A308D3ull;
    for (;;) {
        for (size_t i = 0; i < n; ++i) cells[i] = SlotCell{0, 0, UINT32_MAX, -1};
        collision_free = tries > 0;
        seed_a = splitmix(&next) | 1;
        seed_b = splitmix(&next) | 1;
        bool clash = false;
        for (size_t s = 0; s < names && !clash; ++s) {
            const std::string& name = m.slots[s];
            SlotCell c{0, 0, static_cast<uint32_t>(name.size()), static_cast<int32_t>(s)};
            name_words(name.data(), name.size(), &c.a, &c.b);
            size_t i = cell_of(c.a, c.b, name.size());
            if (collision_free && cells[i].slot >= 0) clash = true;
            while (cells[i].slot >= 0) i = (i + 1) & mask;
            cells[i] = c;
        }
        if (!clash) return;
        --tries;
    }
}

}  // namespace ls
