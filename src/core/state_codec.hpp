// Checks of the serialized aggregate states that the glue's deserialize
// functions receive (activity_score/activity_breakdown, event_flags,
// rfm_breaks, logistic_fit; auc's are in core/eval.hpp). Plain C++ over a byte
// range, so the fuzzers can feed them arbitrary bytes (test/fuzz/states_fuzz.cpp).
// Each throws ls::Error(DataCorrupted) with the message the SQL function
// reports, and on success returns what the glue needs to copy the state;
// everything the glue then reads lies inside [p, p + len).
// Layouts are native byte order: states only travel between processes of one
// server.
#pragma once
#include "core/cpp_only.hpp"

#include <cstddef>
#include <cstdint>

namespace ls {

// activity_score / activity_breakdown:
//   u32 magic, u8 breakdown, u8 has_min, u8 has_max, u8 0, i32 nslots,
//   u64 fingerprint, i64 as_of, f64 min, f64 max, f64 caps[n],
//   f64 acc[nacc] (nacc = activity_accumulators(caps, n)),
//   breakdown: f64 raw[n], i64 counts[n] (>= 0), (u32 len, bytes) names[n-1],
//              u32 nwild, (u32 len, bytes, i64 count (>= 0), f64 sum)[nwild]
constexpr uint32_t kActivityStateMagic = 0x4c534132;  // "LSA2"
constexpr int32_t kActivityMaxSlots = 2 * 10000 + 1;  // 2 * kMaxEventTypes + 1
struct ActivityStateInfo {
    bool breakdown;
    int32_t nslots;
    int32_t nacc;
};
ActivityStateInfo activity_state_check(const unsigned char* p, size_t len);

// event_flags: u32 magic, u64 model hash, i64 as_of, u32 n, (u32 len, bytes)[n].
constexpr uint32_t kFlagsStateMagic = 0x4C534546;  // "LSEF"
uint32_t event_flags_state_check(const unsigned char* p, size_t len);

// rfm_breaks: u32 magic, i32 bins (2..100), u64 n[3], then n[0] + n[1] + n[2]
// finite doubles (recency, frequency, monetary values).
constexpr uint32_t kRfmStateMagic = 0x4C53524D;  // "LSRM"
constexpr size_t kRfmStateHeader = 32;
struct RfmStateInfo {
    int32_t bins;
    uint64_t n[3];
    const unsigned char* values;  // unaligned
};
RfmStateInfo rfm_state_check(const unsigned char* p, size_t len);

// logistic_fit: "LSL1", i32 d (0..kLogisticMaxFeatures), f64 l2 (finite, >= 0),
// u64 n (>= 1), then n rows of d finite features and a label 0 or 1.
constexpr unsigned char kLogisticStateMagic[4] = {'L', 'S', 'L', '1'};
constexpr size_t kLogisticStateHeader = 24;
struct LogisticStateInfo {
    int32_t d;
    double l2;
    uint64_t n;
    const unsigned char* rows;  // unaligned
};
LogisticStateInfo logistic_state_check(const unsigned char* p, size_t len);

}  // namespace ls
