// Private to the fused GROUP BY node of activity_score: what its planning half
// (activity_fused_plan.cpp) hands its execution half (activity_fused_exec.cpp)
// through the plan, and the few helpers both use. The node is described in
// activity_fused_plan.cpp's header.
#pragma once

extern "C" {
#include "postgres.h"

#include "nodes/extensible.h"
#include "nodes/pg_list.h"
#include "nodes/primnodes.h"
#include "miscadmin.h"
}

namespace ls::pg::fused {

constexpr const char* kName = "ActivityScoreAggregate";

// CustomPath.custom_private: what try_add_path found, for plan_path.
enum PathPrivate {
    kPathKey = 0,      // the GROUP BY column (a Var)
    kPathAggrefs = 1,  // the distinct activity_score Aggrefs, in order of appearance
};

// CustomScan.custom_private (integers): a header, then one record per
// aggregate. agg_slot() gives an aggregate's entry.
enum ScanPrivate {
    kScanGroups = 0,   // the planner's estimate of the groups, capped at INT_MAX
    kScanKeyColumn,    // 0-based position of the key in the child's output
    kScanKeyType,      // INT2OID, INT4OID or INT8OID
    kScanHeaderSlots,  // number of header entries
};
enum ScanAggPrivate {
    kAggTypeColumn = 0,  // event type's position in the child's output
    kAggTimeColumn,      // event time's position in the child's output
    kAggModelType,       // TEXTOID or JSONBOID
    kAggFunction,        // the aggregate's pg_proc OID (its EXECUTE right is checked)
    kAggSlots,           // entries per aggregate
};
inline int agg_slot(int agg, ScanAggPrivate slot) { return kScanHeaderSlots + kAggSlots * agg + slot; }
inline int scan_aggregates(const List* priv) { return (list_length(priv) - kScanHeaderSlots) / kAggSlots; }

// CustomScan.custom_exprs: per aggregate, these expressions (evaluated once
// per scan); expr_slot() gives an aggregate's entry.
enum ScanAggExpr {
    kExprModel = 0,
    kExprAsOf,
    kExprSlots,
};
inline int expr_slot(int agg, ScanAggExpr slot) { return kExprSlots * agg + slot; }

// CustomScan.custom_scan_tlist: the key (resno 1), then the aggregates in
// custom_private's order (what setrefs matches the output's Aggrefs against).

// The expression under any RelabelType (varchar or a domain used as text).
inline Expr* strip_relabel(Expr* e) {
    while (e && IsA(e, RelabelType)) e = reinterpret_cast<RelabelType*>(e)->arg;
    return e;
}

inline Size hash_mem_bytes() { return get_hash_memory_limit(); }

// The node's CustomScanMethods (activity_fused_exec.cpp).
extern const CustomScanMethods scan_methods;

}  // namespace ls::pg::fused
