// The background worker (DESIGN.md §8).
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
//  * A worker loops: every naptime it lists the enabled models whose
//    refresh_interval has passed since their last attempt (newest started_at in
//    refresh_log, any status) and refreshes each in its own transaction as the
//    model's owner, under SECURITY_RESTRICTED_OPERATION (like REFRESH
//    MATERIALIZED VIEW), with search_path = pg_catalog, pg_temp, its GUC
//    changes undone afterwards and statement_timeout enforced. A failing model
//    is rolled back, reported as a WARNING and recorded as an 'error' row of
//    refresh_log in a fresh transaction; the next model goes on. No transaction
//    is open while the worker sleeps. In recovery or without the extension a
//    cycle does nothing.
//  * SIGTERM uses PostgreSQL's die(): the worker leaves at the next
//    CHECK_FOR_INTERRUPTS, also in the middle of a refresh or a lock wait (exit
//    code 1, so the postmaster restarts a terminated launcher). SIGHUP reloads
//    the configuration; a new naptime applies to the current wait. SIGINT
//    (pg_cancel_backend) cancels the running refresh, which is logged as failed.
//
// This file calls PostgreSQL only: it holds no C++ object with a destructor,
// so PG_TRY/longjmp is safe everywhere in it.
#include "pg/glue.hpp"
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

// GUCs.
char* g_database = nullptr;  // lead_scoring.database
int g_naptime = 60;          // lead_scoring.naptime, seconds
int g_refresh_timeout = 5 * 60 * 1000;  // lead_scoring.refresh_timeout, ms; 0: none

// The time limit of the refresh running now (ms, 0: none), for its error message.
int g_current_timeout = 0;

// ---------------------------------------------------------------------------
// GUC definitions

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
    char* raw = pstrdup(g_database ? g_database : "");
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
        s->next_start = TimestampTzPlusMilliseconds(now, (int64)g_naptime * 1000);
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
        s->next_start = TimestampTzPlusMilliseconds(now, (int64)g_naptime * 1000);
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

// Enabled models with a refresh_interval whose last attempt (any status) is at
// least refresh_interval ago, give or take half a naptime: $1 = now() + naptime/2.
// (A model is refreshed a little after the check that found it due, so without
// the slack refresh_interval = naptime would mean every other check.)
// Runs with search_path = pg_catalog, pg_temp.
const char* const kDueModels =
    "SELECT m.name FROM lead_scoring.model AS m"
    " LEFT JOIN LATERAL (SELECT l.started_at FROM lead_scoring.refresh_log AS l"
    "                     WHERE l.model = m.name ORDER BY l.started_at DESC LIMIT 1) AS last ON true"
    " WHERE m.enabled AND m.refresh_interval IS NOT NULL"
    "   AND (last.started_at IS NULL OR last.started_at + m.refresh_interval <= $1)"
    " ORDER BY last.started_at NULLS FIRST, m.name";

// The same test for one model ($1), inside its own transaction (it may have
// been disabled, dropped, re-owned or refreshed by someone else meanwhile).
const char* const kModelOwner =
    "SELECT m.owner::oid, pg_catalog.date_part('epoch', m.refresh_timeout) * 1000"
    " FROM lead_scoring.model AS m"
    " WHERE m.name = $1 AND m.enabled AND m.refresh_interval IS NOT NULL"
    "   AND NOT EXISTS (SELECT FROM lead_scoring.refresh_log AS l"
    "                    WHERE l.model = m.name AND l.started_at + m.refresh_interval > $2)";

// now() + naptime/2, in the current transaction.
Datum due_before() {
    return TimestampTzGetDatum(
        TimestampTzPlusMilliseconds(GetCurrentTransactionStartTimestamp(), (int64)g_naptime * 500));
}

void report_idle() {
    char buf[512];
    // timestamptz_to_str returns a static buffer: copy the first before the second.
    char until[MAXDATELEN + 1];
    TimestampTz next = TimestampTzPlusMilliseconds(g_last_cycle, (int64)g_naptime * 1000);
    strlcpy(until, timestamptz_to_str(next), sizeof until);
    snprintf(buf, sizeof buf,
             "%s: idle until %s (naptime %d s); last cycle at %s: %d due, %d refreshed, %d failed%s",
             kWorkerType, until, g_naptime, timestamptz_to_str(g_last_cycle),
             g_cycle_due, g_cycle_ok, g_cycle_failed, g_cycle_note);
    pgstat_report_activity(STATE_IDLE, buf);
}

// Names of the due models, copied into the cycle context.
char** list_due_models(int* count) {
    char** names = nullptr;
    *count = 0;
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, "lead_scoring worker: looking for due models");

    if (!OidIsValid(get_extension_oid("lead_scoring", true))) {
        strlcpy(g_cycle_note, "; extension lead_scoring is not installed here", sizeof g_cycle_note);
    } else {
        Oid types[1] = {TIMESTAMPTZOID};
        Datum values[1] = {due_before()};
        int ret = SPI_execute_with_args(kDueModels, 1, types, values, nullptr, true, 0);
        if (ret != SPI_OK_SELECT) elog(ERROR, "%s: listing due models failed: %s", kWorkerType, SPI_result_code_string(ret));
        uint64 n = SPI_processed;
        names = static_cast<char**>(MemoryContextAlloc(g_cycle_cxt, sizeof(char*) * (n + 1)));
        for (uint64 i = 0; i < n; i++) {
            char* v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
            if (v) names[(*count)++] = MemoryContextStrdup(g_cycle_cxt, v);
        }
    }

    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();  // leaves CurrentMemoryContext = TopMemoryContext
    MemoryContextSwitchTo(g_cycle_cxt);
    return names;
}

// Refreshes one model in its own transaction as its owner. Returns the leads
// written, or -1 when the model is no longer due. Raises an ERROR on failure
// (the caller rolls back).
int64 refresh_model_txn(const char* name) {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());

    Oid argtypes[2] = {TEXTOID, TIMESTAMPTZOID};
    Datum args[2] = {CStringGetTextDatum(name), due_before()};
    int ret = SPI_execute_with_args(kModelOwner, 2, argtypes, args, nullptr, true, 1);
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
    int timeout = g_refresh_timeout;
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
    int64 leads = isnull ? 0 : DatumGetInt64(d);

    // Undo whatever the owner's code SET, then become ourselves again.
    ls::pg::leave_restricted(saved);

    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
    return leads;
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
    volatile int64 leads = -1;
    PG_TRY();
    {
        leads = refresh_model_txn(name);
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
    } else if (leads >= 0) {
        g_cycle_ok++;
        elog(DEBUG1, "%s: refreshed model \"%s\" in database \"%s\": %lld leads", kWorkerType, name, g_dbname,
             (long long)leads);
    }
}

void reload_config_if_pending() {
    if (!ConfigReloadPending) return;
    ConfigReloadPending = false;
    int old_naptime = g_naptime;
    ProcessConfigFile(PGC_SIGHUP);
    if (g_naptime != old_naptime)
        ereport(LOG, (errmsg("%s for database \"%s\": naptime is now %d s", kWorkerType, g_dbname, g_naptime)));
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
    char** names = list_due_models(&n);
    g_cycle_due = n;
    for (int i = 0; i < n; i++) {
        CHECK_FOR_INTERRUPTS();
        reload_config_if_pending();
        refresh_model(names[i]);
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
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    char* dbname = get_database_name(MyDatabaseId);
    g_dbname = MemoryContextStrdup(TopMemoryContext, dbname ? dbname : "?");
    CommitTransactionCommand();
    ereport(LOG, (errmsg("%s started for database \"%s\" (naptime %d s)", kWorkerType, g_dbname, g_naptime)));

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
        TimestampTz next = TimestampTzPlusMilliseconds(g_last_cycle, (int64)g_naptime * 1000);
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

void worker_init() {
    DefineCustomStringVariable(
        "lead_scoring.database",
        "Databases in which the lead_scoring background worker refreshes due models.",
        "A comma-separated list of database names; empty: none. Needs shared_preload_libraries = "
        "'lead_scoring'.",
        &g_database, "", PGC_SIGHUP, GUC_LIST_INPUT, check_database_list, nullptr, nullptr);
    DefineCustomIntVariable(
        "lead_scoring.naptime",
        "Time between two checks for due models by the lead_scoring background worker.", nullptr,
        &g_naptime, 60, 1, INT_MAX / 1000, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "lead_scoring.refresh_timeout",
        "Time limit of one model's refresh by the lead_scoring background worker.",
        "A model's own lead_scoring.model.refresh_timeout overrides it; 0: no limit. A refresh over its limit "
        "is canceled and logged as failed, and the worker goes on with the other models.",
        &g_refresh_timeout, 5 * 60 * 1000, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);

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
