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
    size_t n = 8;
    while (n < 2 * m.slots.size()) n <<= 1;
    return n;
}

void SlotTable::build(const Model& m, int32_t* cells_mem) {
    model = &m;
    cells = cells_mem;
    const size_t n = cells_for(m);
    mask = n - 1;
    for (size_t i = 0; i < n; ++i) cells[i] = -1;
    for (size_t s = 0; s < m.slots.size(); ++s) {
        const std::string& name = m.slots[s];
        size_t i = hash_bytes(name.data(), name.size()) & mask;
        while (cells[i] >= 0) i = (i + 1) & mask;
        cells[i] = static_cast<int32_t>(s);
    }
}

}  // namespace ls
