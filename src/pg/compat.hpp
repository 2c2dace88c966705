// Differences between the PostgreSQL majors lead_scoring builds against (the
// ones CI tests: 15, 17, 18; see doc/packaging.md). Each shim names the major
// that changed the API, so it can go when that major is the oldest supported.
// Included by pg/glue.hpp right after postgres.h.
#pragma once

#if PG_VERSION_NUM < 150000
#error "lead_scoring needs PostgreSQL 15 or later"
#endif

#if PG_VERSION_NUM >= 160000
// 16 moved the varlena macros (VARATT_IS_EXTENDED, VARATT_IS_SHORT, ...) out
// of postgres.h.
extern "C" {
#include "varatt.h"
}
#endif

#if PG_VERSION_NUM >= 180000
// 18 moved ExplainPropertyText / ExplainPropertyInteger (the fused node's
// EXPLAIN output) out of commands/explain.h.
extern "C" {
#include "commands/explain_format.h"
}
#endif

// 16 gave the name and type parsers a soft-error context; NULL keeps the old
// behaviour (raise).
#if PG_VERSION_NUM >= 160000
#define LS_STRING_TO_QUALIFIED_NAME_LIST(s) stringToQualifiedNameList((s), NULL)
#define LS_TYPE_STRING_TO_TYPE_NAME(s) typeStringToTypeName((s), NULL)
#else
#define LS_STRING_TO_QUALIFIED_NAME_LIST(s) stringToQualifiedNameList(s)
#define LS_TYPE_STRING_TO_TYPE_NAME(s) typeStringToTypeName(s)
#endif

// The i-th (1-based) entry of the backend status snapshot: 17 renamed the
// by-index lookup (pgstat_fetch_stat_beentry now takes a ProcNumber).
#if PG_VERSION_NUM >= 170000
template <typename Local>
inline auto ls_backend_status_of(Local* l) -> decltype(&l->backendStatus) {
    return l ? &l->backendStatus : nullptr;
}
#define LS_PGSTAT_BEENTRY_BY_INDEX(i) ls_backend_status_of(pgstat_get_local_beentry_by_index(i))
#else
#define LS_PGSTAT_BEENTRY_BY_INDEX(i) pgstat_fetch_stat_beentry(i)
#endif

// 16 gave EnableDisableTrigger a parent-trigger OID and a recurse flag (for
// partitions); InvalidOid / false keep 15's behaviour.
#if PG_VERSION_NUM >= 160000
#define LS_ENABLE_DISABLE_TRIGGER(rel, name, fires_when, lockmode) \
    EnableDisableTrigger((rel), (name), InvalidOid, (fires_when), false, false, (lockmode))
#else
#define LS_ENABLE_DISABLE_TRIGGER(rel, name, fires_when, lockmode) \
    EnableDisableTrigger((rel), (name), (fires_when), false, (lockmode))
#endif

// 16 added onlySummarizing to ExecInsertIndexTuples (HOT updates of summarizing
// indexes); false keeps 15's behaviour for an insert.
#if PG_VERSION_NUM >= 160000
#define LS_EXEC_INSERT_INDEX_TUPLES(rri, slot, estate) \
    ExecInsertIndexTuples((rri), (slot), (estate), false, false, nullptr, NIL, false)
#else
#define LS_EXEC_INSERT_INDEX_TUPLES(rri, slot, estate) \
    ExecInsertIndexTuples((rri), (slot), (estate), false, false, nullptr, NIL)
#endif
