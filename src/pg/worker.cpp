// The background worker (doc/worker.md).
//
// Error boundary: plain C in C++ syntax. No C++ object with a destructor is
// ever alive here and no SQL entry point is defined, so PG_TRY and longjmp are
// safe everywhere (see the note further down).
//
// Shape (modelled on pg_cron's launcher and PostgreSQL's logical replication
// launcher):
//  * _PG_init, when the library is in shared_preload_libraries, registers one
//    static "lead_scoring launcher" (bgw_restart_time = 1 s). It connects to no
//    database, reads lead_scoring.database, and starts one dynamic
//    "lead_scoring worker" per listed database. It restarts a worker that exits
//    (pg_terminate_backend, a failed start) with a backoff of 1 s doubling to
//    60 s while the worker keeps dying young, starts and stops workers when the
//    list changes on SIGHUP, and warns once about a database that does not
//    exist (rechecked every naptime). When the launcher itself exits it stops
//    its workers, and a new launcher first stops any worker left behind, so
//    there is never more than one worker per database.
//  * A worker loops: every naptime one short read-only transaction lists the
//    enabled models with a refresh_interval that have work (change_log rows,
//    a new tick, a source row that came due, a changed spec, no refresh yet,
//    no change capture, a missing target) and that this worker has not
//    attempted within refresh_interval. The last attempts live in the worker's
//    memory: a refresh with nothing to do writes nothing, so no table can say
//    when it ran. So an idle cycle assigns no xid, writes nothing and holds no
//    snapshot while sleeping; naptime 1 s is cheap.
//    Each due model is refreshed in its own transaction as the model's owner,
//    under SECURITY_RESTRICTED_OPERATION (like REFRESH MATERIALIZED VIEW), with
//    search_path = pg_catalog, pg_temp, its GUC changes undone afterwards and
//    statement_timeout enforced. A failing model is rolled back, reported as a
//    WARNING and recorded as an 'error' row of refresh_log in a fresh
//    transaction; the next model goes on. In recovery or without the extension
//    a cycle does nothing.
//  * The due query runs as the worker (a superuser), over text users write
//    (model.spec): it is a fixed statement, every name schema-qualified and
//    every operator OPERATOR(pg_catalog.x), and the one value parsed from the
//    spec, refresh.tick, is read as text and parsed here by interval_in inside
//    a subtransaction, so a bad tick only affects its own model.
//  * SIGTERM uses PostgreSQL's die(): the worker leaves at the next
//    CHECK_FOR_INTERRUPTS, also in the middle of a refresh or a lock wait (exit
//    code 1, so the postmaster restarts a terminated launcher). SIGHUP reloads
//    the configuration; a new naptime applies to the current wait. SIGINT
//    (pg_cancel_backend) cancels the running refresh, which is logged as failed.
//
// This file calls PostgreSQL only: it holds no C++ object with a destructor,
// so PG_TRY/longjmp is safe everywhere in it.
#include "pg/glue.hpp"
#include "pg/guc.hpp"
#include "pg/identity.hpp"
#include "pg/worker.hpp"

#include <climits>
#include <csignal>
#include <cstring>

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"

PGDLLEXPORT void ls_launcher_main(Datum arg);
PGDLLEXPORT void ls_worker_main(Datum arg);
}

namespace {

constexpr const char* kLauncherType = "lead_scoring launcher";
constexpr const char* kWorkerType = "lead_scoring worker";
constexpr int kMaxDatabases = 64;

// The time limit of the refresh running now (ms, 0: none), for its error message.
int g_current_timeout = 0;

// ---------------------------------------------------------------------------
// Launcher

struct DbSlot {
    char name[NAMEDATALEN];
    BackgroundWorkerHandle* handle;  // NULL: not running
    TimestampTz started_at;
    TimestampTz next_start;  // earliest time to (re)start the worker
    int backoff_ms;
    bool warned;  // a "cannot start" warning was logged; don't repeat it
    bool keep;
};

DbSlot g_slots[kMaxDatabases];
int g_nslots = 0;

void launcher_stop_workers(int code, Datum arg) {
    for (int i = 0; i < g_nslots; i++)
        if (g_slots[i].handle) TerminateBackgroundWorker(g_slots[i].handle);
}

// Workers started by an earlier launcher (one that could not run its exit
// callback) would double up with ours: stop them and wait until they are gone.
void launcher_stop_orphans() {
    for (int attempt = 0; attempt < 100; attempt++) {
        int found = 0;
        int n = pgstat_fetch_stat_numbackends();
        for (int i = 1; i <= n; i++) {
            PgBackendStatus* be = LS_PGSTAT_BEENTRY_BY_INDEX(i);
            if (!be || be->st_backendType != B_BG_WORKER) continue;
            const char* type = GetBackgroundWorkerTypeByPid(be->st_procpid);
            if (!type || strcmp(type, kWorkerType) != 0) continue;
            if (attempt == 0)
                ereport(LOG, (errmsg("%s: stopping worker (PID %d) left by a previous launcher",
                                     kLauncherType, (int)be->st_procpid)));
            kill(be->st_procpid, SIGTERM);
            found++;
        }
        pgstat_clear_backend_activity_snapshot();
        if (found == 0) return;
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    }
}

// Brings g_slots in line with lead_scoring.database.
void launcher_reconcile() {
    char* raw = pstrdup(ls::pg::guc::database ? ls::pg::guc::database : "");
    List* names = NIL;
    if (!SplitGUCList(raw, ',', &names)) names = NIL;  // the check hook rejects this

    for (int i = 0; i < g_nslots; i++) g_slots[i].keep = false;
    ListCell* lc;
    foreach (lc, names) {
        const char* name = static_cast<const char*>(lfirst(lc));
        if (name[0] == '\0') continue;
        int found = -1;
        for (int i = 0; i < g_nslots && found < 0; i++)
            if (strncmp(g_slots[i].name, name, NAMEDATALEN - 1) == 0) found = i;
        if (found >= 0) {
            g_slots[found].keep = true;
        } else if (g_nslots < kMaxDatabases) {
            DbSlot* s = &g_slots[g_nslots++];
            memset(s, 0, sizeof *s);
            strlcpy(s->name, name, sizeof s->name);
            s->backoff_ms = 500;
            s->keep = true;
        }
    }

    int kept = 0;
    for (int i = 0; i < g_nslots; i++) {
        DbSlot* s = &g_slots[i];
        if (!s->keep) {
            if (s->handle) {
                ereport(LOG, (errmsg("%s: stopping the worker for database \"%s\", no longer in "
                                     "lead_scoring.database",
                                     kLauncherType, s->name)));
                TerminateBackgroundWorker(s->handle);
                pfree(s->handle);
            }
            continue;
        }
        if (kept != i) g_slots[kept] = *s;
        kept++;
    }
    g_nslots = kept;
    list_free(names);
    pfree(raw);

    StringInfoData buf;
    initStringInfo(&buf);
    appendStringInfo(&buf, "%s: databases:", kLauncherType);
    for (int i = 0; i < g_nslots; i++) appendStringInfo(&buf, "%s %s", i ? "," : "", g_slots[i].name);
    if (g_nslots == 0) appendStringInfoString(&buf, " none (set lead_scoring.database)");
    pgstat_report_activity(STATE_IDLE, buf.data);
    pfree(buf.data);
}

// The OID of a database, by a plain heap scan of pg_database: without a
// database of its own the launcher can read shared catalogs but not build the
// relcache entry of their indexes (get_database_oid would need it).
Oid launcher_database_oid(const char* name) {
    Oid dboid = InvalidOid;
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    Relation rel = table_open(DatabaseRelationId, AccessShareLock);
    TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
    HeapTuple tup;
    while (!OidIsValid(dboid) && (tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
        Form_pg_database db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tup));
        if (strncmp(NameStr(db->datname), name, NAMEDATALEN - 1) == 0) dboid = db->oid;
    }
    table_endscan(scan);
    table_close(rel, AccessShareLock);
    CommitTransactionCommand();
    return dboid;
}

void launcher_start(DbSlot* s, TimestampTz now) {
    Oid dboid = launcher_database_oid(s->name);

    if (!OidIsValid(dboid)) {
        if (!s->warned)
            ereport(WARNING, (errcode(ERRCODE_UNDEFINED_DATABASE),
                              errmsg("%s: database \"%s\" listed in lead_scoring.database does not exist",
                                     kLauncherType, s->name)));
        s->warned = true;
        s->next_start = TimestampTzPlusMilliseconds(now, (int64)ls::pg::guc::naptime * 1000);
        return;
    }

    BackgroundWorker w;
    memset(&w, 0, sizeof w);
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = BGW_NEVER_RESTART;  // the launcher restarts it
    strlcpy(w.bgw_library_name, MyBgworkerEntry->bgw_library_name, BGW_MAXLEN);
    strlcpy(w.bgw_function_name, "ls_worker_main", BGW_MAXLEN);
    snprintf(w.bgw_name, BGW_MAXLEN, "%s for database %s", kWorkerType, s->name);
    strlcpy(w.bgw_type, kWorkerType, BGW_MAXLEN);
    w.bgw_main_arg = ObjectIdGetDatum(dboid);
    w.bgw_notify_pid = MyProcPid;

    if (!RegisterDynamicBackgroundWorker(&w, &s->handle)) {
        s->handle = nullptr;
        if (!s->warned)
            ereport(WARNING, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                              errmsg("%s: could not start a worker for database \"%s\": no free "
                                     "background worker slot",
                                     kLauncherType, s->name),
                              errhint("Raise max_worker_processes.")));
        s->warned = true;
        s->next_start = TimestampTzPlusMilliseconds(now, (int64)ls::pg::guc::naptime * 1000);
        return;
    }
    s->warned = false;
    s->started_at = now;
}

// ---------------------------------------------------------------------------
// Worker

MemoryContext g_cycle_cxt = nullptr;
const char* g_dbname = "";
TimestampTz g_last_cycle = 0;
int g_cycle_due = 0, g_cycle_ok = 0, g_cycle_failed = 0;
char g_cycle_note[128] = "";

// What the worker remembers of a model between cycles (keyed by name; model
// names are at most 48 characters, see model_name_format).
struct ModelMemo {
    char name[NAMEDATALEN];
    TimestampTz last_attempt;  // this worker's last refresh attempt, 0: none
    bool seen;                 // listed by the current cycle
    char* tick_text;           // the refresh.tick parsed last (TopMemoryContext), NULL: none yet
    bool tick_ok;              // tick_text is a usable tick
    Interval tick;
};
HTAB* g_memo = nullptr;
SPIPlanPtr g_candidates_plan = nullptr;

// The candidates: every enabled model with a refresh_interval, whether it has
// work that needs no parsing (the tick test needs the interval parser: done in
// C, see model_has_work), and its newest refresh_log row (seeds the spacing of
// a model this worker has not attempted yet, so a restarted worker does not
// hammer a model that keeps failing). $1 = the cycle's now().
// Run as the worker, over tables users write: no name, operator, cast or
// function a user can shape (search_path = pg_catalog, pg_temp as well), and no
// parsing of user text that could raise an ERROR for every model at once.
const char* const kCandidates =
    "SELECT m.name, m.refresh_interval,"
    "       (s.model IS NULL"                                         // never refreshed
    "        OR m.spec OPERATOR(pg_catalog.<>) s.spec"                 // spec changed
    "        OR NOT s.capture"                                        // no change capture: cannot tell
    "        OR s.tick_start IS NULL"                                 // scored by an older refresh
    "        OR (s.next_due OPERATOR(pg_catalog.<=) $1) IS TRUE"      // a source row came due
    // (a scalar subquery: one index probe per model, where NOT EXISTS inside
    // the OR would be planned as a hashed scan of all of pg_class)
    "        OR (SELECT 1 FROM pg_catalog.pg_class AS c"               // the ranking table was dropped
    "             WHERE c.oid OPERATOR(pg_catalog.=) s.target) IS NULL"
    "        OR EXISTS (SELECT FROM lead_scoring.change_log AS c"     // source rows changed
    "                    WHERE c.model OPERATOR(pg_catalog.=) m.name)) AS work,"
    "       s.tick_start,"
    "       m.spec OPERATOR(pg_catalog.->) 'refresh'::pg_catalog.text"
    "              OPERATOR(pg_catalog.->>) 'tick'::pg_catalog.text AS tick,"
    "       (SELECT pg_catalog.max(l.started_at) FROM lead_scoring.refresh_log AS l"
    "         WHERE l.model OPERATOR(pg_catalog.=) m.name) AS last_logged"
    "  FROM lead_scoring.model AS m"
    "  LEFT JOIN lead_scoring.refresh_state AS s ON s.model OPERATOR(pg_catalog.=) m.name"
    " WHERE m.enabled AND m.refresh_interval IS NOT NULL";

// The same model inside its refresh transaction (it may have been disabled,
// dropped or re-owned meanwhile), with its owner and time limit in ms.
const char* const kModelOwner =
    "SELECT m.owner::pg_catalog.oid,"
    "       pg_catalog.date_part('epoch'::pg_catalog.text, m.refresh_timeout) OPERATOR(pg_catalog.*) 1000::pg_catalog.float8"
    "  FROM lead_scoring.model AS m"
    " WHERE m.name OPERATOR(pg_catalog.=) $1 AND m.enabled AND m.refresh_interval IS NOT NULL";

constexpr const char* kDefaultTick = "1 hour";
// 1970-01-01 00:00 UTC, the origin of ticks, as a TimestampTz.
constexpr TimestampTz kTickOrigin = -INT64CONST(946684800) * USECS_PER_SEC;

// An interval as microseconds, months as 30 days (as PostgreSQL compares
// intervals), saturated instead of overflowing.
int64 interval_usecs(const Interval* iv) {
    __int128 v = static_cast<__int128>(iv->month) * 30 * USECS_PER_DAY +
                 static_cast<__int128>(iv->day) * USECS_PER_DAY + iv->time;
    if (v > PG_INT64_MAX) return PG_INT64_MAX;
    if (v < PG_INT64_MIN) return PG_INT64_MIN;
    return static_cast<int64>(v);
}

// Parses a tick with the interval type's own input function, in a
// subtransaction: whatever the text, a bad one only makes this model's tick
// unusable. Usable: no months (date_bin refuses them), at least 1 second, and
// small enough that date_bin cannot overflow.
bool parse_tick(const char* text, Interval* out) {
    MemoryContext cxt = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    volatile bool ok = false;
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(cxt);
    PG_TRY();
    {
        Interval* iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text),
                                                             ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
        int64 us = interval_usecs(iv);
        if (iv->month == 0 && us >= USECS_PER_SEC && us <= PG_INT64_MAX / 4) {
            *out = *iv;
            ok = true;
        }
        ReleaseCurrentSubTransaction();
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(cxt);
        FlushErrorState();
        RollbackAndReleaseCurrentSubTransaction();
    }
    PG_END_TRY();
    MemoryContextSwitchTo(cxt);
    CurrentResourceOwner = owner;
    return ok;
}

// Has the clock moved the model to a tick after the one its ranking was scored
// at? tick_text NULL: the default tick. A tick the worker cannot use is
// reported once (per text) and counts as work: the refresh itself then says
// what is wrong, in refresh_log.
bool tick_moved(ModelMemo* memo, const char* tick_text, TimestampTz tick_start, TimestampTz now) {
    const char* text = tick_text ? tick_text : kDefaultTick;
    if (!memo->tick_text || strcmp(memo->tick_text, text) != 0) {
        if (memo->tick_text) pfree(memo->tick_text);
        memo->tick_text = MemoryContextStrdup(TopMemoryContext, text);
        memo->tick_ok = parse_tick(text, &memo->tick);
        if (!memo->tick_ok)
            ereport(WARNING, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                              errmsg("%s: model \"%s\" has a refresh.tick that is not an interval of at least 1 "
                                     "second without months: \"%.64s\"",
                                     kWorkerType, memo->name, text),
                              errdetail("The worker refreshes it every refresh_interval until its spec is fixed.")));
    }
    if (!memo->tick_ok) return true;
    TimestampTz bin = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_bin, IntervalPGetDatum(&memo->tick),
                                                              TimestampTzGetDatum(now),
                                                              TimestampTzGetDatum(kTickOrigin)));
    return bin > tick_start;
}

struct DueModel {
    char* name;
    TimestampTz last;  // last attempt, 0: none (the most overdue go first)
};

int due_cmp(const void* a, const void* b) {
    const DueModel* x = static_cast<const DueModel*>(a);
    const DueModel* y = static_cast<const DueModel*>(b);
    if (x->last != y->last) return x->last < y->last ? -1 : 1;
    return strcmp(x->name, y->name);
}

void report_idle() {
    char buf[512];
    // timestamptz_to_str returns a static buffer: copy the first before the second.
    char until[MAXDATELEN + 1];
    TimestampTz next = TimestampTzPlusMilliseconds(g_last_cycle, (int64)ls::pg::guc::naptime * 1000);
    strlcpy(until, timestamptz_to_str(next), sizeof until);
    snprintf(buf, sizeof buf,
             "%s: idle until %s (naptime %d s); last cycle at %s: %d due, %d refreshed, %d failed%s",
             kWorkerType, until, ls::pg::guc::naptime, timestamptz_to_str(g_last_cycle),
             g_cycle_due, g_cycle_ok, g_cycle_failed, g_cycle_note);
    pgstat_report_activity(STATE_IDLE, buf);
}

// The due models, most overdue first, copied into the cycle context. One
// short read-only transaction: no xid, no write, committed before returning.
DueModel* list_due_models(int* count) {
    DueModel* due = nullptr;
    *count = 0;
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    XactReadOnly = true;  // the cycle's transaction only reads: make sure of it
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, "lead_scoring worker: looking for due models");

    if (!OidIsValid(get_extension_oid("lead_scoring", true))) {
        strlcpy(g_cycle_note, "; extension lead_scoring is not installed here", sizeof g_cycle_note);
        SPI_finish();
        PopActiveSnapshot();
        CommitTransactionCommand();  // leaves CurrentMemoryContext = TopMemoryContext
        MemoryContextSwitchTo(g_cycle_cxt);
        return nullptr;
    }

    // Planned once per worker: the plan cache replans it after DDL on the
    // tables it reads.
    Oid types[1] = {TIMESTAMPTZOID};
    if (!g_candidates_plan) {
        SPIPlanPtr plan = SPI_prepare(kCandidates, 1, types);
        if (!plan) elog(ERROR, "%s: preparing the due query failed: %s", kWorkerType, SPI_result_code_string(SPI_result));
        if (SPI_keepplan(plan) != 0) elog(ERROR, "%s: keeping the due query's plan failed", kWorkerType);
        g_candidates_plan = plan;
    }
    const TimestampTz now = GetCurrentTransactionStartTimestamp();
    Datum values[1] = {TimestampTzGetDatum(now)};
    int ret = SPI_execute_plan(g_candidates_plan, values, nullptr, true, 0);
    if (ret != SPI_OK_SELECT)
        elog(ERROR, "%s: listing due models failed: %s", kWorkerType, SPI_result_code_string(ret));

    // Copy the rows out of SPI: parsing a tick opens a subtransaction.
    struct Candidate {
        char* name;
        Interval interval;
        bool work;
        bool has_tick_start;
        TimestampTz tick_start;
        char* tick;  // NULL: not in the spec
        TimestampTz last_logged;  // 0: none
    };
    const uint64 n = SPI_processed;
    Candidate* cand = static_cast<Candidate*>(MemoryContextAllocZero(g_cycle_cxt, sizeof(Candidate) * (n + 1)));
    for (uint64 i = 0; i < n; i++) {
        HeapTuple tup = SPI_tuptable->vals[i];
        TupleDesc td = SPI_tuptable->tupdesc;
        bool isnull;
        Candidate* c = &cand[i];
        char* name = SPI_getvalue(tup, td, 1);
        c->name = MemoryContextStrdup(g_cycle_cxt, name ? name : "");
        c->interval = *DatumGetIntervalP(SPI_getbinval(tup, td, 2, &isnull));
        Datum w = SPI_getbinval(tup, td, 3, &isnull);
        c->work = isnull || DatumGetBool(w);
        Datum ts = SPI_getbinval(tup, td, 4, &isnull);
        c->has_tick_start = !isnull;
        c->tick_start = isnull ? 0 : DatumGetTimestampTz(ts);
        char* tick = SPI_getvalue(tup, td, 5);
        c->tick = tick ? MemoryContextStrdup(g_cycle_cxt, tick) : nullptr;
        Datum ll = SPI_getbinval(tup, td, 6, &isnull);
        c->last_logged = isnull ? 0 : DatumGetTimestampTz(ll);
    }
    SPI_finish();

    // A model attempted at t is due again from t + refresh_interval, give or
    // take half a naptime: a model is refreshed a little after the check that
    // found it due, so without the slack refresh_interval = naptime would mean
    // every other check.
    const TimestampTz horizon = TimestampTzPlusMilliseconds(now, (int64)ls::pg::guc::naptime * 500);
    due = static_cast<DueModel*>(MemoryContextAlloc(g_cycle_cxt, sizeof(DueModel) * (n + 1)));
    for (uint64 i = 0; i < n; i++) {
        Candidate* c = &cand[i];
        bool found;
        ModelMemo* memo = static_cast<ModelMemo*>(hash_search(g_memo, c->name, HASH_ENTER, &found));
        if (!found) {
            memo->last_attempt = 0;
            memo->tick_text = nullptr;
            memo->tick_ok = false;
        }
        memo->seen = true;
        TimestampTz last = Max(memo->last_attempt, c->last_logged);
        if (last != 0) {
            const int64 span = interval_usecs(&c->interval);
            if (span > 0 && (horizon - last) < span) continue;  // attempted too recently
        }
        bool work = c->work || !c->has_tick_start || tick_moved(memo, c->tick, c->tick_start, now);
        if (!work) continue;
        due[*count].name = c->name;
        due[*count].last = last;
        (*count)++;
    }
    qsort(due, *count, sizeof(DueModel), due_cmp);

    // Forget the models that are gone (dropped, disabled, without an interval).
    HASH_SEQ_STATUS seq;
    hash_seq_init(&seq, g_memo);
    ModelMemo* memo;
    while ((memo = static_cast<ModelMemo*>(hash_seq_search(&seq))) != nullptr) {
        if (memo->seen) {
            memo->seen = false;
            continue;
        }
        if (memo->tick_text) pfree(memo->tick_text);
        hash_search(g_memo, memo->name, HASH_REMOVE, nullptr);
    }

    PopActiveSnapshot();
    CommitTransactionCommand();  // leaves CurrentMemoryContext = TopMemoryContext
    MemoryContextSwitchTo(g_cycle_cxt);
    return due;
}

// Remembers that the worker is about to refresh a model.
void note_attempt(const char* name, TimestampTz when) {
    ModelMemo* memo = static_cast<ModelMemo*>(hash_search(g_memo, name, HASH_FIND, nullptr));
    if (memo) memo->last_attempt = when;
}

// Refreshes one model in its own transaction as its owner. Returns the ranking
// rows written, or -1 when the model is no longer enabled or scheduled. Raises an ERROR on failure
// (the caller rolls back).
int64 refresh_model_txn(const char* name) {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());

    Oid argtypes[1] = {TEXTOID};
    Datum args[1] = {CStringGetTextDatum(name)};
    int ret = SPI_execute_with_args(kModelOwner, 1, argtypes, args, nullptr, true, 1);
    if (ret != SPI_OK_SELECT) elog(ERROR, "%s: reading model \"%s\" failed: %s", kWorkerType, name, SPI_result_code_string(ret));
    if (SPI_processed == 0) {
        SPI_finish();
        PopActiveSnapshot();
        CommitTransactionCommand();
        return -1;
    }
    bool isnull = false;
    Oid owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    // regrole keeps no dependency: DROP ROLE leaves the OID dangling.
    if (isnull || !SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(owner)))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                        errmsg("owner of model \"%s\" (role OID %u) no longer exists", name, owner),
                        errhint("Give the model an existing owner: UPDATE lead_scoring.model SET owner = "
                                "'some_role' WHERE name = '%s'.",
                                name)));

    // The model's own refresh_timeout, else lead_scoring.refresh_timeout; a
    // smaller statement_timeout of the server wins. One slow model (a source
    // that sleeps, a lock it waits for) then holds the worker at most this long
    // per cycle: it fails, the other due models are refreshed.
    g_current_timeout = 0;
    int timeout = ls::pg::guc::refresh_timeout;
    Datum tm = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
    if (!isnull) {
        double ms = DatumGetFloat8(tm);
        timeout = ms >= INT_MAX ? INT_MAX : ms < 1 ? 1 : static_cast<int>(ms);
    }
    if (StatementTimeout > 0 && (timeout == 0 || StatementTimeout < timeout)) timeout = StatementTimeout;
    g_current_timeout = timeout;

    char* activity = psprintf("%s: refreshing model \"%s\" as role %s", kWorkerType, name,
                              GetUserNameFromId(owner, false));
    pgstat_report_activity(STATE_RUNNING, activity);

    ls::pg::SavedIdentity saved;
    ls::pg::become_restricted(owner, &saved);

    if (timeout > 0) enable_timeout_after(STATEMENT_TIMEOUT, timeout);
    ret = SPI_execute_with_args("SELECT lead_scoring.refresh($1)", 1, argtypes, args, nullptr, false, 0);
    disable_timeout(STATEMENT_TIMEOUT, false);
    if (ret != SPI_OK_SELECT || SPI_processed != 1)
        elog(ERROR, "%s: lead_scoring.refresh('%s') returned no row", kWorkerType, name);
    Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    int64 rows = isnull ? 0 : DatumGetInt64(d);

    // Undo whatever the owner's code SET, then become ourselves again.
    ls::pg::leave_restricted(saved);

    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
    return rows;
}

// A failed refresh rolled back its own log row: record the failure in a fresh
// transaction, as the worker (owners need not be able to write the log).
void log_failure(const char* name, TimestampTz started_at, const char* message) {
    MemoryContext cxt = g_cycle_cxt;
    ErrorData* volatile edata = nullptr;
    PG_TRY();
    {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        SPI_connect();
        PushActiveSnapshot(GetTransactionSnapshot());
        Oid types[4] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
        Datum values[4] = {CStringGetTextDatum(name), TimestampTzGetDatum(started_at),
                           TimestampTzGetDatum(GetCurrentTimestamp()), CStringGetTextDatum(message)};
        int ret = SPI_execute_with_args(
            // Only while the model exists (and, locked, keeps existing until
            // commit): a row for a deleted model would be read as the history
            // of a later model of that name (src/pg/forget.cpp).
            "INSERT INTO lead_scoring.refresh_log (model, started_at, finished_at, status, error)"
            " SELECT m.name, $2, $3, 'error', $4 FROM lead_scoring.model m WHERE m.name OPERATOR(pg_catalog.=) $1"
            " FOR KEY SHARE OF m",
            4, types, values, nullptr, false, 0);
        if (ret != SPI_OK_INSERT) elog(ERROR, "insert into lead_scoring.refresh_log failed: %s", SPI_result_code_string(ret));
        SPI_finish();
        PopActiveSnapshot();
        CommitTransactionCommand();
    }
    PG_CATCH();
    {
        HOLD_INTERRUPTS();
        MemoryContextSwitchTo(cxt);
        edata = CopyErrorData();
        FlushErrorState();
        AbortOutOfAnyTransaction();
        RESUME_INTERRUPTS();
    }
    PG_END_TRY();
    MemoryContextSwitchTo(cxt);
    if (edata)
        ereport(WARNING, (errmsg("%s: could not record the failure of model \"%s\" in "
                                 "lead_scoring.refresh_log: %s",
                                 kWorkerType, name, edata->message)));
}

void refresh_model(const char* name) {
    MemoryContext cxt = g_cycle_cxt;  // transactions end in TopMemoryContext: don't leak there
    TimestampTz started_at = GetCurrentTimestamp();
    ErrorData* volatile edata = nullptr;
    volatile int64 rows = -1;
    PG_TRY();
    {
        rows = refresh_model_txn(name);
    }
    PG_CATCH();
    {
        HOLD_INTERRUPTS();
        disable_timeout(STATEMENT_TIMEOUT, false);
        MemoryContextSwitchTo(cxt);
        edata = CopyErrorData();
        FlushErrorState();
        AbortOutOfAnyTransaction();  // also restores the user, the GUCs and SPI
        RESUME_INTERRUPTS();
    }
    PG_END_TRY();
    MemoryContextSwitchTo(cxt);
    // (ProcessInterrupts has already reset the timeout's indicator: tell a
    // timeout from a pg_cancel_backend by the time spent.)
    if (edata && edata->sqlerrcode == ERRCODE_QUERY_CANCELED && g_current_timeout > 0 &&
        TimestampDifferenceExceeds(started_at, GetCurrentTimestamp(), g_current_timeout)) {
        edata->message = psprintf("canceling statement due to statement timeout: the refresh took more than its "
                                  "time limit of %d ms (the model's refresh_timeout, else "
                                  "lead_scoring.refresh_timeout or a smaller statement_timeout)",
                                  g_current_timeout);
        edata->hint = pstrdup("Raise lead_scoring.model.refresh_timeout for this model, or make its sources faster.");
    }

    if (edata) {
        g_cycle_failed++;
        ereport(WARNING, (errcode(edata->sqlerrcode),
                          errmsg("%s: refresh of model \"%s\" in database \"%s\" failed: %s", kWorkerType,
                                 name, g_dbname, edata->message),
                          edata->detail ? errdetail("%s", edata->detail) : 0,
                          edata->hint ? errhint("%s", edata->hint) : 0));
        log_failure(name, started_at, edata->message);
    } else if (rows >= 0) {
        g_cycle_ok++;
        elog(DEBUG1, "%s: refreshed model \"%s\" in database \"%s\": %lld ranking rows written", kWorkerType,
             name, g_dbname, (long long)rows);
    }
}

void reload_config_if_pending() {
    if (!ConfigReloadPending) return;
    ConfigReloadPending = false;
    int old_naptime = ls::pg::guc::naptime;
    ProcessConfigFile(PGC_SIGHUP);
    if (ls::pg::guc::naptime != old_naptime)
        ereport(LOG, (errmsg("%s for database \"%s\": naptime is now %d s", kWorkerType, g_dbname, ls::pg::guc::naptime)));
}

void run_cycle() {
    g_cycle_due = g_cycle_ok = g_cycle_failed = 0;
    g_cycle_note[0] = '\0';
    if (RecoveryInProgress()) {
        strlcpy(g_cycle_note, "; server is in recovery", sizeof g_cycle_note);
        return;
    }
    MemoryContext old = MemoryContextSwitchTo(g_cycle_cxt);
    int n = 0;
    DueModel* due = list_due_models(&n);
    g_cycle_due = n;
    for (int i = 0; i < n; i++) {
        CHECK_FOR_INTERRUPTS();
        reload_config_if_pending();
        note_attempt(due[i].name, GetCurrentTimestamp());
        refresh_model(due[i].name);
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(g_cycle_cxt);
    pgstat_report_stat(true);
}

}  // namespace

// ---------------------------------------------------------------------------
// Entry points

extern "C" void ls_launcher_main(Datum arg) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);  // shared catalogs only
    pgstat_report_appname(kLauncherType);

    launcher_stop_orphans();
    before_shmem_exit(launcher_stop_workers, 0);
    launcher_reconcile();
    if (g_nslots == 0)
        ereport(LOG, (errmsg("%s: lead_scoring.database is empty; no database is refreshed", kLauncherType)));

    for (;;) {
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
            launcher_reconcile();
        }

        TimestampTz now = GetCurrentTimestamp();
        long timeout_ms = 60 * 1000L;
        for (int i = 0; i < g_nslots; i++) {
            DbSlot* s = &g_slots[i];
            if (s->handle) {
                pid_t pid;
                BgwHandleStatus st = GetBackgroundWorkerPid(s->handle, &pid);
                if (st == BGWH_POSTMASTER_DIED) proc_exit(1);
                if (st != BGWH_STOPPED) continue;
                pfree(s->handle);
                s->handle = nullptr;
                // A worker that ran a while is restarted after 1 s; one that
                // keeps dying young waits longer each time, up to a minute.
                bool young = TimestampDifferenceExceeds(s->started_at, now, 10 * 1000) == false;
                s->backoff_ms = young ? Min(s->backoff_ms * 2, 60 * 1000) : 1000;
                s->next_start = TimestampTzPlusMilliseconds(now, s->backoff_ms);
                ereport(LOG, (errmsg("%s: the worker for database \"%s\" exited; restarting it in %d ms",
                                     kLauncherType, s->name, s->backoff_ms)));
            }
            if (now >= s->next_start) launcher_start(s, now);
            if (!s->handle) {
                long wait = (long)((s->next_start - now) / 1000);
                timeout_ms = Max(1L, Min(timeout_ms, wait));
            }
        }

        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}

extern "C" void ls_worker_main(Datum arg) {
    Oid dboid = DatumGetObjectId(arg);
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

    SetConfigOption("application_name", kWorkerType, PGC_USERSET, PGC_S_SESSION);
    // Every query the worker runs, and the refreshes it calls, see only
    // pg_catalog (then pg_temp): nothing a user creates can capture a name.
    SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION);

    g_cycle_cxt = AllocSetContextCreate(TopMemoryContext, "lead_scoring worker cycle", ALLOCSET_DEFAULT_SIZES);
    HASHCTL hctl;
    memset(&hctl, 0, sizeof hctl);
    hctl.keysize = NAMEDATALEN;
    hctl.entrysize = sizeof(ModelMemo);
    g_memo = hash_create("lead_scoring worker models", 16, &hctl, HASH_ELEM | HASH_STRINGS);
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    char* dbname = get_database_name(MyDatabaseId);
    g_dbname = MemoryContextStrdup(TopMemoryContext, dbname ? dbname : "?");
    CommitTransactionCommand();
    ereport(LOG, (errmsg("%s started for database \"%s\" (naptime %d s)", kWorkerType, g_dbname, ls::pg::guc::naptime)));

    // Errors outside a model's own handler (listing the due models, a cancel
    // while idle) land here: report, roll back, carry on with the next cycle.
    sigjmp_buf local_sigjmp_buf;
    if (sigsetjmp(local_sigjmp_buf, 1) != 0) {
        HOLD_INTERRUPTS();
        error_context_stack = nullptr;
        disable_all_timeouts(false);
        QueryCancelPending = false;
        EmitErrorReport();
        AbortOutOfAnyTransaction();
        MemoryContextSwitchTo(TopMemoryContext);
        FlushErrorState();
        MemoryContextReset(g_cycle_cxt);
        strlcpy(g_cycle_note, "; the last cycle failed, see the server log", sizeof g_cycle_note);
        RESUME_INTERRUPTS();
    }
    PG_exception_stack = &local_sigjmp_buf;

    for (;;) {
        CHECK_FOR_INTERRUPTS();
        reload_config_if_pending();

        TimestampTz now = GetCurrentTimestamp();
        TimestampTz next = TimestampTzPlusMilliseconds(g_last_cycle, (int64)ls::pg::guc::naptime * 1000);
        if (g_last_cycle == 0 || now >= next) {
            g_last_cycle = now;
            run_cycle();
            continue;
        }

        report_idle();
        long timeout_ms = (long)((next - now + 999) / 1000);
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}

// ---------------------------------------------------------------------------

namespace ls::pg {

// lead_scoring.database's check hook (defined in guc.cpp).
bool check_database_list(char** newval, void** extra, GucSource source) {
    char* raw = pstrdup(*newval ? *newval : "");
    List* names = NIL;
    bool ok = SplitGUCList(raw, ',', &names);
    if (!ok) {
        GUC_check_errdetail("List syntax is invalid.");
    } else if (list_length(names) > kMaxDatabases) {
        GUC_check_errdetail("At most %d databases can be listed.", kMaxDatabases);
        ok = false;
    }
    list_free(names);
    pfree(raw);
    return ok;
}

void worker_init() {
    if (!process_shared_preload_libraries_in_progress) return;

    BackgroundWorker w;
    memset(&w, 0, sizeof w);
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = 1;
    strlcpy(w.bgw_library_name, "lead_scoring", BGW_MAXLEN);
    strlcpy(w.bgw_function_name, "ls_launcher_main", BGW_MAXLEN);
    strlcpy(w.bgw_name, kLauncherType, BGW_MAXLEN);
    strlcpy(w.bgw_type, kLauncherType, BGW_MAXLEN);
    RegisterBackgroundWorker(&w);
}

}  // namespace ls::pg
