// lead_scoring.refresh: change capture. The statement-level triggers that
// append changed lead ids to lead_scoring.change_log (their DDL, as the
// extension owner), consuming change_log, and the snapshot the reads use after
// the consume.
//
// Error boundary: C++ objects are alive (called under ls_refresh's
// LS_FUNCTION); every PostgreSQL call runs inside pg_call.
#include "pg/refresh_internal.hpp"

#include <string>
#include <vector>

extern "C" {
#include "access/heapam.h"
#include "utils/snapmgr.h"
#include "utils/acl.h"
}

namespace ls::pg::refresh {

// ---------------------------------------------------------------- capture triggers

namespace {

// ls_<model>_<ins|upd|del|trunc>: at most 57 bytes, under NAMEDATALEN.
std::string trigger_prefix(const Ctx& c) { return "ls_" + c.model + "_"; }

}  // namespace

// Makes sure the four change-capture triggers exist on every source table, and
// fire for every change, replicated rows included (ENABLE ALWAYS: a logical
// replication subscriber or session_replication_role = replica skips ordinary
// triggers). Returns "" when they were all in place, else the reason this
// refresh must be full: installed now (why), or cannot be installed
// (kCaptureUnavailable and why). Triggers of this model on tables it no longer
// maps are dropped.
//
// The DDL runs as the extension owner, since nobody else may attach the
// capture function (doc/privileges.md), after checking that the model's owner
// has the TRIGGER privilege on the table: the statements are fixed, every name
// is quoted, the table comes from its OID.
std::string ensure_capture(Ctx& c) {
    ls::pg::drop_stale_capture(c.model.c_str());
    std::string reason;
    for (const Source* s : {&c.src.leads, &c.src.events, &c.src.orders, &c.src.conversions}) {
        if (!s->present) continue;
        if (s->relkind != RELKIND_RELATION && s->relkind != RELKIND_PARTITIONED_TABLE) {
            return kCaptureUnavailable + s->qname + " is not a table";
        }
        const std::string pre = trigger_prefix(c);
        Params p;
        p.add(OIDOID, ObjectIdGetDatum(s->relid));
        p.add(TEXTARRAYOID, text_array({pre + "ins", pre + "upd", pre + "del", pre + "trunc"}));
        const uint64 have = exec("SELECT t.tgname::pg_catalog.text, t.tgenabled FROM pg_catalog.pg_trigger t "
                                 "WHERE t.tgrelid OPERATOR(pg_catalog.=) $1 "
                                 "AND t.tgfoid OPERATOR(pg_catalog.=) "
                                 "'lead_scoring._capture_changes()'::pg_catalog.regprocedure AND "
                                 "t.tgname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($2) ORDER BY 1",
                                 &p, true);
        std::vector<std::string> names;
        std::string why;
        for (uint64 r = 0; r < have; ++r) {
            const uint64 row = r;
            char* v = nullptr;
            char mode = 0;
            pg_call([&] {
                bool isnull;
                v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 1);
                mode = DatumGetChar(SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 2, &isnull));
            });
            names.emplace_back(v);
            if (!why.empty()) continue;
            if (mode == TRIGGER_DISABLED)
                why = "change-capture trigger " + quote_ident(v) + " on " + s->qname + " was disabled";
            else if (mode != TRIGGER_FIRES_ALWAYS)
                why = "change-capture trigger " + quote_ident(v) + " on " + s->qname +
                      " did not fire for replicated rows (it was re-enabled without ALWAYS)";
        }
        if (names.size() == 4 && why.empty()) continue;
        if (why.empty()) why = "change-capture triggers installed";
        AclResult ok = ACLCHECK_NO_PRIV;
        const Oid relid = s->relid, owner = c.owner;
        std::string owner_name;
        pg_call([&] {
            ok = pg_class_aclcheck(relid, owner, ACL_TRIGGER);
            owner_name = GetUserNameFromId(owner, false);
        });
        if (ok != ACLCHECK_OK)
            return kCaptureUnavailable + std::string("the model's owner ") + quote_ident(owner_name) +
                   " has no TRIGGER privilege on " + s->qname;
        const std::string col = s->role == "leads" ? s->col("id")->name : s->col("lead_id")->name;
        const std::string args = "(" + quote_literal(c.model) + ", " + quote_literal(col) + ")";
        std::string sql;
        for (const std::string& n : names)  // a partial or altered set: start over
            sql += "DROP TRIGGER " + quote_ident(n) + " ON " + s->qname + "; ";
        const std::string fn = " FOR EACH STATEMENT EXECUTE FUNCTION lead_scoring._capture_changes" + args + "; ";
        sql += "CREATE TRIGGER " + quote_ident(pre + "ins") + " AFTER INSERT ON " + s->qname +
               " REFERENCING NEW TABLE AS new_rows" + fn;
        sql += "CREATE TRIGGER " + quote_ident(pre + "upd") + " AFTER UPDATE ON " + s->qname +
               " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows" + fn;
        sql += "CREATE TRIGGER " + quote_ident(pre + "del") + " AFTER DELETE ON " + s->qname +
               " REFERENCING OLD TABLE AS old_rows" + fn;
        sql += "CREATE TRIGGER " + quote_ident(pre + "trunc") + " AFTER TRUNCATE ON " + s->qname + fn;
        exec_owner(sql);
        // ENABLE ALWAYS, without ALTER TABLE (which refuses a table the calling
        // query is reading, as in SELECT refresh(...) FROM crm.leads).
        const std::string names4[4] = {pre + "ins", pre + "upd", pre + "del", pre + "trunc"};
        pg_call([&] {
            Relation rel = table_open(relid, ShareRowExclusiveLock);
            for (const std::string& n : names4)
                LS_ENABLE_DISABLE_TRIGGER(rel, n.c_str(), TRIGGER_FIRES_ALWAYS, ShareRowExclusiveLock);
            table_close(rel, NoLock);
            CommandCounterIncrement();
        });
        if (reason.empty()) reason = why;
    }
    return reason;
}

// Whether change_log holds rows of the model. A plain SELECT (it writes
// nothing), run as a non-read-only SPI statement so that under READ COMMITTED it
// takes a snapshot of its own, as the consume does: a change committed after the
// calling statement started is seen, and then consumed, by this refresh.
bool changes_pending(const Ctx& c) {
    Params p;
    p.add(TEXTOID, text_datum(c.model));
    return exec_owner("SELECT FROM lead_scoring.change_log l WHERE l.model OPERATOR(pg_catalog.=) $1 LIMIT 1", &p) > 0;
}

// Consumes the change rows committed so far (the DELETE runs with a snapshot of
// its own, see push_read_snapshot). Returns false when a source table
// was truncated (everything changed).
bool consume_changes(Ctx& c, std::vector<std::string>* ids) {
    Params p;
    p.add(TEXTOID, text_datum(c.model));
    uint64 n = exec_owner("DELETE FROM lead_scoring.change_log WHERE model OPERATOR(pg_catalog.=) $1 RETURNING lead_id", &p);
    bool all = false;
    for (uint64 r = 0; r < n; ++r) {
        char* v = nullptr;
        const uint64 row = r;
        pg_call([&] { v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 1); });
        if (!v) all = true;
        else if (ids) ids->emplace_back(v);
    }
    return !all;
}

// Every source read of a refresh must see every change it consumed. The
// consume above is a non-read-only SPI statement: it runs with a snapshot C
// taken when it starts (under READ COMMITTED a new one; under REPEATABLE READ
// and SERIALIZABLE the transaction snapshot). Read-only cursors would use the
// calling statement's snapshot, which under READ COMMITTED can be older than C:
// an event committed between the two would have its change row consumed and its
// row unseen, lost for good. So after the consume we push a snapshot R taken
// now, and every cursor of this refresh (sources, state, previous ranking) reads
// with it:
//  * READ COMMITTED: R is taken after C, so every transaction C saw committed,
//    R sees committed: each consumed change row's source rows are visible.
//    Changes committed after C are seen by R too (recomputed or not, their change
//    rows stay for the next refresh, which recomputes them again: harmless). The
//    caller's own statement snapshot is not used at all.
//  * REPEATABLE READ / SERIALIZABLE: C and R are both the transaction snapshot.
//    When it is older than some change rows, those rows are invisible to the
//    DELETE and stay in change_log; their source rows are invisible to the reads
//    too; the next refresh (a later snapshot) consumes and reads them. When
//    another refresh of the model committed after that snapshot, this one fails
//    with a serialization error (40001) on the rows that refresh rewrote, and
//    rolls back, consume included: retry it.
// The consume is part of the refresh's transaction (or subtransaction): a
// refresh that fails after it rolls the consume back with everything else.
// The refresh's own writes made visible to its later reads (the leaderboard
// from the ranking, next_due from the state), keeping the read snapshot's view
// of other transactions.
void see_own_writes() {
    pg_call([] {
        CommandCounterIncrement();
        UpdateActiveSnapshotCommandId();
    });
}

void push_read_snapshot() {
    pg_call([] {
        CommandCounterIncrement();
        PushCopiedSnapshot(GetTransactionSnapshot());
        UpdateActiveSnapshotCommandId();
    });
}

}  // namespace ls::pg::refresh
