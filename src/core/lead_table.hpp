// The in-memory lead table of a refresh (doc/rank.md): lead ids as bytes
// mapped to dense indexes, and per lead the fit, disqualification, activity
// state, order summary and the earliest source row still in the future.
// Pure C++: the glue turns PostgreSQL ids into key bytes (int4/int8 in host
// order, uuid's 16 bytes, text's bytes) and back.
#pragma once
#include "core/cpp_only.hpp"

#include "core/ranking.hpp"
#include "core/spec.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ls {

// A time that never comes: no future row, no order.
constexpr int64_t kNever = INT64_MAX;
constexpr int64_t kNoEvent = INT64_MIN;

// Lead id -> index. Integer ids (the common case: 10M lookups in a full
// refresh) use a direct array when the ids are dense (serial keys), else an
// open-addressing table on the integer; text and uuid ids a std::unordered_map
// on their bytes.
class IdIndex {
public:
    explicit IdIndex(size_t int_width = 0) : width_(int_width) {}
    int find(const std::string& k) const {
        if (!width_) {
            auto it = strings_.find(k);
            return it == strings_.end() ? -1 : static_cast<int>(it->second);
        }
        const int64_t v = as_int(k);
        if (!dense_.empty()) {
            const uint64_t off = static_cast<uint64_t>(v) - static_cast<uint64_t>(base_);
            if (off >= dense_.size()) return -1;
            return dense_[off] == kEmpty ? -1 : static_cast<int>(dense_[off]);
        }
        if (!mask_) return -1;
        for (size_t i = mix(v) & mask_;; i = (i + 1) & mask_) {
            if (table_[i].val == kEmpty) return -1;
            if (table_[i].key == v) return static_cast<int>(table_[i].val);
        }
    }
    void insert(const std::string& k, uint32_t val) {
        if (!width_) {
            strings_.emplace(k, val);
            return;
        }
        if ((used_ + 1) * 2 > mask_ + 1) grow();
        const int64_t v = as_int(k);
        put(v, val);
        if (!dense_.empty()) {
            const uint64_t off = static_cast<uint64_t>(v) - static_cast<uint64_t>(base_);
            if (off < dense_.size()) dense_[off] = val;
            else dense_.clear();  // outside the dense range: the hash table serves
        }
    }
    // After a bulk load: switch to a direct array when the ids are dense.
    void densify() {
        dense_.clear();
        if (!width_ || used_ == 0) return;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (const Slot& e : table_)
            if (e.val != kEmpty) {
                lo = std::min(lo, e.key);
                hi = std::max(hi, e.key);
            }
        const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
        if (range > 4 * used_ + 1024) return;
        base_ = lo;
        dense_.assign(range, kEmpty);
        for (const Slot& e : table_)
            if (e.val != kEmpty) dense_[static_cast<uint64_t>(e.key) - static_cast<uint64_t>(lo)] = e.val;
    }
    void clear(size_t expected) {
        strings_.clear();
        table_.clear();
        dense_.clear();
        mask_ = 0;
        used_ = 0;
        if (!width_) strings_.reserve(expected);
    }

private:
    static constexpr uint32_t kEmpty = UINT32_MAX;
    struct Slot {
        int64_t key;
        uint32_t val;
    };
    static uint64_t mix(int64_t x) {  // murmur3 finalizer: sequential ids spread out
        uint64_t h = static_cast<uint64_t>(x);
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 33;
        return h;
    }
    int64_t as_int(const std::string& k) const {
        if (width_ == 4) {
            int32_t v;
            memcpy(&v, k.data(), sizeof v);
            return v;
        }
        int64_t v;
        memcpy(&v, k.data(), sizeof v);
        return v;
    }
    void put(int64_t k, uint32_t val) {
        for (size_t i = mix(k) & mask_;; i = (i + 1) & mask_) {
            if (table_[i].val == kEmpty) {
                table_[i] = Slot{k, val};
                ++used_;
                return;
            }
            if (table_[i].key == k) {
                table_[i].val = val;
                return;
            }
        }
    }
    void grow() {
        std::vector<Slot> old;
        old.swap(table_);
        const size_t cap = std::max<size_t>(1024, (mask_ + 1) * 2);
        table_.assign(cap, Slot{0, kEmpty});
        mask_ = cap - 1;
        used_ = 0;
        for (const Slot& e : old)
            if (e.val != kEmpty) put(e.key, e.val);
    }
    size_t width_;
    std::unordered_map<std::string, uint32_t> strings_;
    std::vector<Slot> table_;
    std::vector<uint32_t> dense_;
    int64_t base_ = 0;
    size_t mask_ = 0, used_ = 0;
};

struct Leads {
    explicit Leads(size_t id_width) : index(id_width) {}
    const Model* m = nullptr;
    size_t ns = 0;  // slots incl. wildcard
    std::vector<std::string> key;
    IdIndex index;
    std::vector<double> fit;
    std::vector<unsigned char> rule_dq, alive, converted;
    size_t stride = 0;          // ls::state_stride(ns)
    std::vector<double> state;  // per-lead sums and flags, state_sums/state_flags
    std::vector<int64_t> next_at;     // earliest event/order/conversion time after as_of
    std::vector<int64_t> last_order;  // kNever: none
    // The latest counted event: a lead with one after a tick start was scored
    // with that event moved to the tick start, so the next tick recomputes it.
    std::vector<int64_t> last_event;  // kNoEvent: none
    std::vector<double> n_orders, amount;
    std::vector<unsigned char> in_state;  // had a row in the state table

    size_t size() const { return key.size(); }
    double* sums(size_t i) { return state_sums(state.data(), stride, i); }
    unsigned char* flags(size_t i) { return state_flags(state.data(), stride, ns, i); }
    uint32_t add(const std::string& k) {
        int found = index.find(k);
        if (found >= 0) return static_cast<uint32_t>(found);
        uint32_t i = static_cast<uint32_t>(key.size());
        index.insert(k, i);
        key.push_back(k);
        fit.push_back(0);
        rule_dq.push_back(0);
        alive.push_back(1);
        converted.push_back(0);
        state.resize(state.size() + stride, 0.0);
        next_at.push_back(kNever);
        last_order.push_back(kNever);
        last_event.push_back(kNoEvent);
        n_orders.push_back(0);
        amount.push_back(0);
        in_state.push_back(0);
        return i;
    }
    void reset_activity(uint32_t i) {
        std::fill(&state[i * stride], &state[i * stride] + stride, 0.0);
        next_at[i] = kNever;
        last_order[i] = kNever;
        last_event[i] = kNoEvent;
        n_orders[i] = 0;
        amount[i] = 0;
        converted[i] = 0;
        fit[i] = 0;
        rule_dq[i] = 0;
    }
    int find(const std::string& k) const {
        return index.find(k);
    }
    // Drops leads that are no longer alive, keeping the order of the others.
    void compact() {
        size_t w = 0;
        for (size_t r = 0; r < size(); ++r) {
            if (!alive[r]) continue;
            if (w != r) {
                key[w] = std::move(key[r]);
                fit[w] = fit[r];
                rule_dq[w] = rule_dq[r];
                converted[w] = converted[r];
                std::copy(&state[r * stride], &state[r * stride] + stride, &state[w * stride]);
                next_at[w] = next_at[r];
                last_order[w] = last_order[r];
                last_event[w] = last_event[r];
                n_orders[w] = n_orders[r];
                amount[w] = amount[r];
                in_state[w] = in_state[r];
            }
            alive[w] = 1;
            ++w;
        }
        key.resize(w);
        fit.resize(w);
        rule_dq.resize(w);
        alive.resize(w);
        converted.resize(w);
        state.resize(w * stride);
        next_at.resize(w);
        last_order.resize(w);
        last_event.resize(w);
        n_orders.resize(w);
        amount.resize(w);
        in_state.resize(w);
        index.clear(w);
        for (size_t i = 0; i < w; ++i) index.insert(key[i], static_cast<uint32_t>(i));
        index.densify();
    }
};

// Recently seen event types -> slot, compared as bytes (types are few).
struct SlotCache {
    const Model* m;
    std::vector<std::pair<std::string, int>> seen;
    int slot(const char* s, size_t n) {
        for (const auto& p : seen)
            if (p.first.size() == n && memcmp(p.first.data(), s, n) == 0) return p.second;
        std::string t(s, n);
        int sl = m->slot_for(t);
        if (seen.size() < 256) seen.emplace_back(std::move(t), sl);
        return sl;
    }
};


}  // namespace ls
