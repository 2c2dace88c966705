// ROC AUC over per-score class counts (doc/eval.md). Plain C++: the glue keeps
// the counts in PostgreSQL memory (palloc'd arrays) and calls these functions
// on raw pointers, so no C++ container outlives a call.
#pragma once
#include "core/cpp_only.hpp"

#include <cstddef>
#include <cstdint>

namespace ls {

// How many converted (pos) and non-converted (neg) rows share one score.
struct ScoreCount {
    double score;
    int64_t pos;
    int64_t neg;
};

// a[0, sorted_n) is sorted by score with distinct scores; a[sorted_n, n) is
// unsorted and may repeat. Sorts the tail, merges it into the prefix and sums
// the counts of equal scores. Returns the new length (a[0, result) sorted and
// distinct). Scores must not be NaN. `interrupt`, when given, is called every
// 65,536 entries sorted and after every merge step (the glue passes
// PostgreSQL's interrupt check; it may throw).
size_t auc_compact(ScoreCount* a, size_t sorted_n, size_t n, void (*interrupt)() = nullptr);

// Merges two sorted, distinct runs into out (capacity na + nb), summing equal
// scores. Returns the length written.
size_t auc_merge(const ScoreCount* a, size_t na, const ScoreCount* b, size_t nb, ScoreCount* out);

// Exact ROC AUC of sorted distinct counts: P(score_pos > score_neg) + 0.5 P(tie),
// computed as the Mann-Whitney U with 128-bit integers and divided once.
// Returns false (no AUC) when either class is empty.
bool auc_value(const ScoreCount* a, size_t n, double* out);

// Serialized state: "LSA1" magic, uint32 0, uint64 n, then n entries of
// (double score, int64 pos, int64 neg), all in native byte order (states only
// travel between processes of one server).
size_t auc_serialized_size(size_t n);
void auc_serialize(const ScoreCount* a, size_t n, unsigned char* out);
// Checks bytes produced by auc_serialize; throws ls::Error(DataCorrupted) on
// anything else (including counts adding up to more than 2^53 rows, which
// would let combine overflow). Returns the entry count; entries are copied by auc_deserialize.
size_t auc_check_serialized(const unsigned char* p, size_t len);
void auc_deserialize(const unsigned char* p, size_t n, ScoreCount* out);

}  // namespace ls
