// What a model leaves behind when it goes (doc/privileges.md, "Reusing a model
// name"). Refresh keys its bookkeeping by model name: the per-lead state table,
// refresh_state, change_log, leaderboard_entries, funnel_counts, refresh_log,
// stage_history and the change-capture triggers. A later model of the same name
// must never read or inherit any of it, so the rows go in the very statement
// that deletes or renames the model (row-level AFTER triggers on
// lead_scoring.model, which fire before that statement returns and roll back
// with it), from fixed SQL with the name as a bound parameter, run as the
// extension owner inside a security-restricted operation. The ranking table is
// the user's data and stays (refresh adopts an existing target only when the
// model's owner owns it, src/pg/refresh_target.cpp resolve_target).
//
// Snapshots: the rows to remove are found with the latest snapshot, not the
// statement's. A refresh of the model holds a lock on the model row until it
// commits, so the DELETE or UPDATE of that row waits for it; at REPEATABLE
// READ the transaction snapshot would not see what that refresh wrote, and its
// rows would outlive the model. The latest snapshot sees them.
//
// Error boundary: LS_FUNCTION, with the work in C-style functions (no C++
// objects) called through pg_call; the switch to the extension owner is
// pg/identity.hpp's run_restricted.

#include "pg/glue.hpp"
#include "pg/capture.hpp"
#include "pg/identity.hpp"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace {

using ls::pg::pg_call;
using ls::pg::run_restricted;

// C-style, inside SPI. Runs `sql` with the model name as $1, with the latest
// snapshot (advanced before each command, so each sees what the previous did).
void run_latest(const char* sql, Datum name, bool select) {
    Oid argtype = TEXTOID;
    SPIPlanPtr plan = SPI_prepare(sql, 1, &argtype);
    if (!plan) elog(ERROR, "SPI_prepare failed (%s) for: %s", SPI_result_code_string(SPI_result), sql);
    int rc = SPI_execute_snapshot(plan, &name, nullptr, GetLatestSnapshot(), InvalidSnapshot, false, false, 0);
    if (rc < 0 || (select && rc != SPI_OK_SELECT))
        elog(ERROR, "lead_scoring: SPI failed (%s) for: %s", SPI_result_code_string(rc), sql);
}

// C-style. Whether `relid` is a per-lead state table refresh made for `model`:
// a plain table named <model> in lead_scoring_state, owned by the extension
// owner, in a schema the extension owner owns (never a table a user could have
// made).
bool is_state_table(Oid relid, const char* model, Oid ext_owner) {
    HeapTuple tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(tp)) return false;
    Form_pg_class c = reinterpret_cast<Form_pg_class>(GETSTRUCT(tp));
    bool ok = c->relkind == RELKIND_RELATION && c->relowner == ext_owner &&
              strcmp(NameStr(c->relname), model) == 0 && c->relnamespace == get_namespace_oid("lead_scoring_state", false);
    Oid nsp = c->relnamespace;
    ReleaseSysCache(tp);
    if (!ok) return false;
    HeapTuple np = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
    if (!HeapTupleIsValid(np)) return false;
    ok = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(np))->nspowner == ext_owner;
    ReleaseSysCache(np);
    return ok;
}

// C-style, inside SPI, as the extension owner. Removes everything refresh keyed
// to `model`; `history` also removes refresh_log and stage_history rows,
// `triggers` the change-capture triggers (on lead_scoring.model, the sibling
// trigger _model_capture_cleanup drops those, after this one).
void forget_in_spi(const char* model, bool history, bool triggers, Oid ext_owner) {
    Datum name = CStringGetTextDatum(model);

    // Change-capture triggers (refresh names them ls_<model>_<event>; only the
    // extension owner can make a trigger with this function).
    List* ddl = NIL;
    if (triggers) run_latest(
        "SELECT pg_catalog.format('DROP TRIGGER %I ON %s', t.tgname, t.tgrelid::pg_catalog.regclass) "
        "FROM pg_catalog.pg_trigger t "
        "WHERE t.tgfoid OPERATOR(pg_catalog.=) 'lead_scoring._capture_changes()'::pg_catalog.regprocedure "
        "AND t.tgname::pg_catalog.text OPERATOR(pg_catalog.=) ANY (SELECT 'ls_' OPERATOR(pg_catalog.||) $1 "
        "OPERATOR(pg_catalog.||) x FROM pg_catalog.unnest(ARRAY['_ins', '_upd', '_del', '_trunc']) x)",
        name, true);
    for (uint64 i = 0; triggers && i < SPI_processed; ++i)
        ddl = lappend(ddl, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));

    // The per-lead state table: the one refresh_state records, and the one of
    // that name in lead_scoring_state.
    run_latest("SELECT s.state_table FROM lead_scoring.refresh_state s WHERE s.model OPERATOR(pg_catalog.=) $1", name,
               true);
    List* tables = NIL;
    for (uint64 i = 0; i < SPI_processed; ++i) {
        bool isnull;
        Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
        if (!isnull) tables = list_append_unique_oid(tables, DatumGetObjectId(d));
    }
    Oid nsp = get_namespace_oid("lead_scoring_state", false);
    Oid byname = get_relname_relid(model, nsp);
    if (OidIsValid(byname)) tables = list_append_unique_oid(tables, byname);
    ListCell* lc;
    foreach (lc, tables) {
        Oid relid = lfirst_oid(lc);
        if (!is_state_table(relid, model, ext_owner)) continue;
        // CASCADE: any role can make a view that names the table (privileges are
        // checked when a view is read, not when it is made); such a view must
        // not stop its model from being deleted.
        ddl = lappend(ddl, psprintf("DROP TABLE %s CASCADE",
                                    quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
                                                               get_rel_name(relid))));
    }
    foreach (lc, ddl) {
        const char* q = static_cast<const char*>(lfirst(lc));
        int rc = SPI_execute(q, false, 0);
        if (rc < 0) elog(ERROR, "lead_scoring: SPI failed (%s) for: %s", SPI_result_code_string(rc), q);
    }

    static const char* const kRows[] = {
        "DELETE FROM lead_scoring.refresh_state x WHERE x.model OPERATOR(pg_catalog.=) $1",
        "DELETE FROM lead_scoring.change_log x WHERE x.model OPERATOR(pg_catalog.=) $1",
        "DELETE FROM lead_scoring.leaderboard_entries x WHERE x.model OPERATOR(pg_catalog.=) $1",
        "DELETE FROM lead_scoring.funnel_counts x WHERE x.model OPERATOR(pg_catalog.=) $1",
    };
    static const char* const kHistory[] = {
        "DELETE FROM lead_scoring.refresh_log x WHERE x.model OPERATOR(pg_catalog.=) $1",
        "DELETE FROM lead_scoring.stage_history x WHERE x.model OPERATOR(pg_catalog.=) $1",
    };
    for (const char* q : kRows) run_latest(q, name, false);
    if (history)
        for (const char* q : kHistory) run_latest(q, name, false);
}

// Names with rows left in any bookkeeping table but no model (after TRUNCATE of
// lead_scoring.model, and leftovers from before names were cleaned up).
const char* const kOrphans =
    "SELECT x.model FROM (SELECT model FROM lead_scoring.refresh_state UNION SELECT model FROM lead_scoring.change_log "
    "UNION SELECT model FROM lead_scoring.leaderboard_entries UNION SELECT model FROM lead_scoring.funnel_counts "
    "UNION SELECT model FROM lead_scoring.refresh_log UNION SELECT model FROM lead_scoring.stage_history) x "
    "WHERE NOT EXISTS (SELECT FROM lead_scoring.model m WHERE m.name OPERATOR(pg_catalog.=) x.model)";

// C-style. As the extension owner `owner`, in a security-restricted operation:
// forgets `model`, or (orphans) every name no model has.
void forget(Oid owner, const char* model, bool history, bool triggers, bool orphans) {
    run_restricted(owner, [&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
        if (orphans) {
            run_latest(kOrphans, CStringGetTextDatum(""), true);
            List* names = NIL;
            for (uint64 i = 0; i < SPI_processed; ++i)
                names = lappend(names, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
            ListCell* lc;
            foreach (lc, names) forget_in_spi(static_cast<const char*>(lfirst(lc)), true, triggers, owner);
        } else {
            forget_in_spi(model, history, triggers, owner);
        }
        SPI_finish();
    });
}

char* name_of(HeapTuple tup, TupleDesc desc) {
    int att = SPI_fnumber(desc, "name");
    if (att <= 0) elog(ERROR, "lead_scoring.model has no column name");
    return SPI_getvalue(tup, desc, att);
}

}  // namespace

// AFTER DELETE (per row), AFTER UPDATE (per row, when the name changes) and
// AFTER TRUNCATE (per statement) on lead_scoring.model. A renamed model is, to
// refresh, a deleted one: its rows are removed, not moved (moving is ambiguous
// when one statement swaps two names), and its next refresh is a full one.
LS_FUNCTION(ls_model_forget) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw ls::Error(ls::ErrorCode::InvalidParameter, "lead_scoring._model_forget() must be called as a trigger");
    TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    const Oid ext = ls::pg::extension_owner();
    pg_call([&] {
        Oid model_rel = get_relname_relid("model", get_namespace_oid("lead_scoring", false));
        if (RelationGetRelid(td->tg_relation) != model_rel || !TRIGGER_FIRED_AFTER(td->tg_event))
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                            errmsg("lead_scoring._model_forget() runs only as an AFTER trigger on lead_scoring.model")));
        if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event)) {
            forget(ext, nullptr, true, false, true);
        } else if (TRIGGER_FIRED_FOR_ROW(td->tg_event)) {
            TupleDesc desc = RelationGetDescr(td->tg_relation);
            char* old_name = name_of(td->tg_trigtuple, desc);
            bool gone = TRIGGER_FIRED_BY_DELETE(td->tg_event);
            if (TRIGGER_FIRED_BY_UPDATE(td->tg_event)) {
                char* new_name = name_of(td->tg_newtuple, desc);
                gone = old_name && (!new_name || strcmp(old_name, new_name) != 0);
            }
            if (gone && old_name) forget(ext, old_name, true, false, false);
        }
    });
    return PointerGetDatum(nullptr);
}

// lead_scoring.drop_refresh_state(model text): for a model's owner (or a
// member), or, once the model is gone, for the owner its last refresh recorded
// or a superuser. A live model keeps its history (refresh_log, stage_history);
// a deleted model's leftovers go entirely.
LS_FUNCTION(ls_drop_refresh_state) {
    text* arg = nullptr;
    pg_call([&] { arg = PG_GETARG_TEXT_PP(0); });
    const Oid ext = ls::pg::extension_owner();
    pg_call([&] {
        char* model = text_to_cstring(arg);
        const Oid caller = GetUserId();
        Oid owner = InvalidOid;
        bool exists = false;
        run_restricted(ext, [&] {
            if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
            // Waits for a refresh of the model in progress (it holds FOR SHARE),
            // and keeps the next one out until this transaction ends.
            Oid argtype = TEXTOID;
            Datum name = CStringGetTextDatum(model);
            int rc = SPI_execute_with_args(
                "SELECT m.owner::pg_catalog.oid FROM lead_scoring.model m WHERE m.name OPERATOR(pg_catalog.=) $1 "
                "FOR NO KEY UPDATE",
                1, &argtype, &name, nullptr, false, 1);
            if (rc != SPI_OK_SELECT) elog(ERROR, "reading lead_scoring.model failed: %s", SPI_result_code_string(rc));
            if (SPI_processed == 1) {
                bool isnull;
                exists = true;
                owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
            } else {
                run_latest("SELECT s.owner FROM lead_scoring.refresh_state s WHERE s.model OPERATOR(pg_catalog.=) $1",
                           name, true);
                if (SPI_processed == 1) {
                    bool isnull;
                    Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
                    if (!isnull) owner = DatumGetObjectId(d);
                }
            }
            SPI_finish();
        });
        const bool allowed = exists ? has_privs_of_role(caller, owner)
                                    : superuser_arg(caller) || (OidIsValid(owner) && has_privs_of_role(caller, owner));
        if (!allowed) {
            const char* on = OidIsValid(owner) ? GetUserNameFromId(owner, true) : nullptr;
            if (exists)
                ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                                errmsg("permission denied to drop the refresh state of model \"%s\": only its owner (%s) "
                                       "or a member may",
                                       model, on ? on : "?")));
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                            errmsg("permission denied to drop the refresh state left by deleted model \"%s\"", model),
                            errdetail("Only a superuser or a member of the role its last refresh ran as may.")));
        }
        forget(ext, model, !exists, true, false);
    });
    PG_RETURN_VOID();
}
