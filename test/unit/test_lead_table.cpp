// The refresh's in-memory lead table (core/lead_table.hpp): id lookups for
// integer (dense and sparse) and byte-string ids, adding, resetting and
// compacting leads, and the event-type slot cache.
#include "core/lead_table.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace {

std::string key64(int64_t v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }
std::string key32(int32_t v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }

TEST(LeadTable, IdIndexDenseSparseAndStrings) {
    ls::IdIndex dense(8);
    for (int64_t i = 1; i <= 5000; ++i) dense.insert(key64(i), static_cast<uint32_t>(i - 1));
    dense.densify();
    EXPECT_EQ(dense.find(key64(1)), 0);
    EXPECT_EQ(dense.find(key64(5000)), 4999);
    EXPECT_EQ(dense.find(key64(0)), -1);
    EXPECT_EQ(dense.find(key64(5001)), -1);
    // a key outside the dense range after densify: the hash table serves it
    dense.insert(key64(1LL << 40), 5000);
    EXPECT_EQ(dense.find(key64(1LL << 40)), 5000);
    EXPECT_EQ(dense.find(key64(17)), 16);

    ls::IdIndex sparse(8);
    const int64_t vals[] = {INT64_MIN, -7, 0, 1LL << 50, INT64_MAX - 1};
    for (uint32_t i = 0; i < 5; ++i) sparse.insert(key64(vals[i]), i);
    sparse.densify();  // too sparse: stays a hash table
    for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(sparse.find(key64(vals[i])), static_cast<int>(i));
    EXPECT_EQ(sparse.find(key64(1)), -1);

    ls::IdIndex i4(4);
    i4.insert(key32(-3), 0);
    i4.insert(key32(42), 1);
    EXPECT_EQ(i4.find(key32(42)), 1);
    EXPECT_EQ(i4.find(key32(43)), -1);

    ls::IdIndex text(0);
    text.insert("a-1", 0);
    text.insert(std::string("b\0c", 3), 1);
    EXPECT_EQ(text.find(std::string("b\0c", 3)), 1);
    EXPECT_EQ(text.find("b"), -1);
    ls::IdIndex empty(8);
    EXPECT_EQ(empty.find(key64(1)), -1);
}

TEST(LeadTable, AddResetCompact) {
    auto m = ls::parse_model(R"({"activity": {"events": {"v": {"points": 1}}}})");
    ls::Leads L(8);
    L.m = m.get();
    L.ns = m->slots.size() + 1;
    L.stride = ls::state_stride(L.ns);
    for (int64_t i = 1; i <= 4; ++i) {
        const uint32_t x = L.add(key64(i * 10));
        L.fit[x] = static_cast<double>(i);
        L.sums(x)[0] = static_cast<double>(i) * 2;
        L.flags(x)[0] = 1;
        L.next_at[x] = i;
    }
    EXPECT_EQ(L.size(), 4u);
    EXPECT_EQ(L.add(key64(20)), 1u);  // already there
    EXPECT_EQ(L.next_at[0], 1);
    L.reset_activity(2);
    EXPECT_EQ(L.sums(2)[0], 0);
    EXPECT_EQ(L.flags(2)[0], 0);
    EXPECT_EQ(L.next_at[2], ls::kNever);
    EXPECT_EQ(L.fit[2], 0);
    L.alive[1] = 0;
    L.compact();
    ASSERT_EQ(L.size(), 3u);
    EXPECT_EQ(L.find(key64(20)), -1);
    const int j = L.find(key64(40));
    ASSERT_EQ(j, 2);
    EXPECT_EQ(L.fit[j], 4);
    EXPECT_EQ(L.sums(j)[0], 8);
    EXPECT_EQ(L.flags(j)[0], 1);
    EXPECT_EQ(L.next_at[j], 4);
    EXPECT_EQ(L.find(key64(10)), 0);
}

TEST(LeadTable, SlotCache) {
    auto m = ls::parse_model(R"({"activity": {"events": {"view": {"points": 1}, "demo": {"points": 2}}}})");
    ls::SlotCache c{m.get(), {}};
    EXPECT_EQ(c.slot("demo", 4), m->slot_for("demo"));
    EXPECT_EQ(c.slot("view", 4), m->slot_for("view"));
    EXPECT_EQ(c.slot("demo", 4), m->slot_for("demo"));  // cached
    EXPECT_EQ(c.slot("other", 5), m->wildcard_slot());
    EXPECT_EQ(c.slot("dem", 3), m->wildcard_slot());  // compared as bytes, length included
}

}  // namespace
