// lead_scoring.refresh(model, as_of, full): keeps a model's ranking table up to
// date (doc/rank.md is the user-facing account).
//
//  * Ticks: every lead is scored at tick_start = date_bin(tick, as_of, 1970);
//    rows in (tick_start, as_of] count as if at tick_start, rows after as_of do
//    not count yet (core/refresh_plan.hpp). Within a tick only leads whose rows
//    changed can change.
//  * Idle first: whether there is anything to do is decided from the catalog,
//    refresh_state and a probe of change_log, before anything is written (not
//    even the model row's FOR SHARE lock, which writes its xmax).
//  * Reads: within a tick only the changed leads (change_log ids and leads
//    whose future rows became due, by the index on next_at); at a new tick the
//    per-lead state of everyone (exponential or no decay, refresh_state.cpp) or
//    every source row (refresh_read.cpp).
//    The arithmetic is the core's (core/ranking.hpp), so the ranking equals
//    what fit_score/activity_score/score/grade/stage compute.
//  * Writes: the current rows of the recomputed leads are compared with the new
//    ones and exactly the changed rows are inserted, updated or deleted, in the
//    refresh's transaction: every reader, at any isolation level, sees the old
//    or the new ranking, and the table keeps its OID. Rank is not stored (the
//    _ranked view computes it over the index on score; refresh_write.cpp,
//    refresh_target.cpp).
//  * Concurrency: a transaction-level lock keyed by the model name that no SQL
//    function can take (try_refresh_lock); a second refresh of the same model
//    is skipped with a NOTICE. Sources are only read (ACCESS SHARE).
//  * Change capture: statement-level AFTER triggers with transition tables
//    append changed lead ids to lead_scoring.change_log. A refresh consumes the
//    change rows its snapshot sees (DELETE ... RETURNING), then reads with a
//    snapshot taken later (push_read_snapshot), so no consumed change is unseen
//    (refresh_capture.cpp).
//  * Privileges: the caller must have the privileges of the model's owner; the
//    refresh then runs as the owner inside a security-restricted operation (as
//    REFRESH MATERIALIZED VIEW). lead_scoring's bookkeeping tables and the
//    capture triggers' DDL run as the extension owner
//    (SECURITY_LOCAL_USERID_CHANGE, as PostgreSQL's RI triggers do), only by
//    statements built here (doc/privileges.md lists them; as_ext_owner in
//    refresh_internal.hpp). The identity to return to is kept on each call's
//    stack.
//
// The work is spread over refresh_*.cpp by responsibility (the list is in
// refresh_internal.hpp); this file is the order of it: do_refresh and the SQL
// entry point.
//
// Error boundary: ls_refresh is an LS_FUNCTION (every C++ exception becomes an
// ERROR with its SQLSTATE); below it C++ objects are alive and every
// PostgreSQL call runs inside pg_call. The identity to give back is restored
// on the way out, on error too.
#include "core/refresh_plan.hpp"

#include "pg/guc.hpp"
#include "pg/refresh_internal.hpp"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

extern "C" {
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "utils/snapmgr.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
}

namespace ls::pg::refresh {

namespace {

// Phase timings at DEBUG1 (SET client_min_messages = debug1 to see them).
struct PhaseTimer {
    TimestampTz last = GetCurrentTimestamp();
    void mark(const char* phase) {
        TimestampTz now = GetCurrentTimestamp();
        const double secs = static_cast<double>(now - last) / 1e6;
        last = now;
        pg_call([&] { elog(DEBUG1, "lead_scoring.refresh: %s %.3f s", phase, secs); });
    }
};

// The per-model refresh lock: an advisory lock tag whose fourth field no SQL
// function can produce (pg_advisory_lock and friends always use 1 or 2), so no
// session can hold it but a refresh; keyed by the model name's 64-bit hash.
constexpr uint16 kRefreshLockTag = 0x4c53;  // 'LS'

bool try_refresh_lock(const std::string& model) {
    bool locked = false;
    pg_call([&] {
        const uint64 h = hash_bytes_extended(reinterpret_cast<const unsigned char*>(model.data()),
                                             static_cast<int>(model.size()), 0);
        LOCKTAG tag;
        SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(h >> 32), static_cast<uint32>(h), kRefreshLockTag);
        locked = LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
    });
    return locked;
}

}  // namespace

// `saved` holds the identity refresh was called with; once the caller is known
// to have the privileges of the model's owner, the refresh becomes the owner
// inside a security-restricted operation (pg/identity.hpp), which ls_refresh
// undoes, on error too.
int64 do_refresh(FunctionCallInfo fcinfo, ls::pg::SavedIdentity* saved) {
    const Oid caller = saved->user;
    text* volatile name_t = nullptr;
    pg_call([&] { name_t = PG_GETARG_TEXT_PP(0); });
    Ctx c;
    c.fcinfo = fcinfo;
    c.model.assign(VARDATA_ANY(name_t), VARSIZE_ANY_EXHDR(name_t));
    c.as_of = PG_GETARG_TIMESTAMPTZ(1);
    const bool want_full = PG_GETARG_BOOL(2);
    if (TIMESTAMP_NOT_FINITE(c.as_of))
        throw ls::Error(ls::ErrorCode::InvalidParameter, "as_of must be a finite timestamp");

    // This library writes the 0.2.0 schema: a database still at 0.1.0 (the
    // package updated, ALTER EXTENSION not run yet) is told what to do rather
    // than failing on a missing column halfway.
    bool schema_ok = false;
    pg_call([&] {
        const Oid nsp = get_namespace_oid("lead_scoring", true);
        const Oid rs = OidIsValid(nsp) ? get_relname_relid("refresh_state", nsp) : InvalidOid;
        schema_ok = OidIsValid(rs) && get_attnum(rs, "qualified") != InvalidAttrNumber;
    });
    if (!schema_ok)
        pg_call([] {
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("lead_scoring.refresh needs version 0.2.0 of the extension's objects"),
                            errhint("Run ALTER EXTENSION lead_scoring UPDATE;")));
        });

    pg_call([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    });

    // The model row, read without a row lock: locking it writes the row (its
    // xmax), and an idle refresh must write nothing. It is locked below, once
    // there is work, and must then be unchanged.
    Params mp;
    mp.add(TEXTOID, text_datum(c.model));
    uint64 found = exec_owner("SELECT m.spec, m.owner FROM lead_scoring.model m WHERE m.name OPERATOR(pg_catalog.=) $1",
                              &mp, true);
    if (found != 1)
        throw ls::Error(ls::ErrorCode::InvalidParameter, "lead scoring model \"" + c.model + "\" does not exist");
    Datum spec = 0;
    Oid owner = InvalidOid;
    pg_call([&] {
        bool isnull;
        MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
        spec = PointerGetDatum(DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)));
        MemoryContextSwitchTo(old);
        owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
    });
    bool member = false;
    pg_call([&] { member = has_privs_of_role(caller, owner); });
    if (!member) {
        std::string on;
        pg_call([&] { on = GetUserNameFromId(owner, false); });
        pg_error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                 "permission denied to refresh model \"" + c.model + "\": only its owner (" + on + ") or a member may");
    }
    c.m = ls::pg::model_datum(ls::pg::call_site(fcinfo), JSONBOID, spec, false);
    c.owner = owner;

    // One refresh per model at a time. A skipped refresh says so and writes
    // nothing (the running one does the work).
    if (!try_refresh_lock(c.model)) {
        const char* mn = c.model.c_str();
        pg_call([&] {
            ereport(NOTICE, (errmsg("lead_scoring.refresh: model \"%s\" is being refreshed by another session; skipped", mn)));
        });
        pg_call([] { SPI_finish(); });
        return -1;
    }

    // Everything from here runs as the model's owner, whoever called, inside a
    // security-restricted operation (as REFRESH MATERIALIZED VIEW does since
    // CVE-2022-1552): the owner's views, functions and triggers on the sources
    // and the target never run with the caller's rights, and cannot change the
    // session (SET ROLE, temporary objects, ...). Bookkeeping statements switch
    // on to the extension owner, keeping the restriction.
    pg_call([&] { ls::pg::become_restricted(owner, saved); });

    c.src = resolve_sources(*c.m);
    Target target = resolve_target(c);
    const std::string state_rel = c.model;
    const std::string state_q = std::string(kStateSchema) + "." + quote_ident(state_rel);

    PrevState prev = read_prev(c, spec);
    const std::string cap = ensure_capture(c);
    const bool capture_ok = cap.rfind(kCaptureUnavailable, 0) != 0;
    c.tick = ls::tick_start_us(c.as_of, c.m->refresh_tick_us);
    c.ref = ls::landmark_us(*c.m, c.tick);

    Oid state_relid = InvalidOid;
    pg_call([&] { state_relid = get_relname_relid(state_rel.c_str(), get_namespace_oid(kStateSchema, false)); });

    ls::RefreshFacts facts;
    facts.want_full = want_full;
    facts.has_prev = prev.exists;
    facts.prev_v2 = prev.v2;
    facts.same_spec = prev.same_spec;
    facts.same_sources = prev.sources == c.src.fingerprint;
    facts.same_target = prev.target == target.relid && target.existed;
    facts.target_created = target.changed;
    facts.prev_capture = prev.capture;
    facts.capture = cap;
    // (a state table without last_event predates it: rebuilt)
    bool state_cols = false;
    if (OidIsValid(state_relid)) pg_call([&] { state_cols = get_attnum(state_relid, "last_event") != InvalidAttrNumber; });
    facts.state_ok = OidIsValid(state_relid) && state_relid == prev.state_table && state_cols;
    facts.prev_as_of = prev.as_of;
    facts.as_of = c.as_of;
    facts.prev_tick = prev.tick;
    facts.tick = c.tick;
    facts.prev_ref = prev.ref;
    facts.ref = c.ref;
    facts.due = prev.has_next_due && prev.next_due <= c.as_of;
    facts.changes_pending = changes_pending(c);
    ls::RefreshPlan plan = ls::plan_refresh(*c.m, facts);
    if (plan.mode == ls::RefreshMode::Idle) {
        pg_call([] { SPI_finish(); });
        return 0;
    }

    // There is work: lock the model row against edits for the rest of the
    // transaction; it must still be the spec this refresh was planned with.
    {
        Params lp;
        lp.add(TEXTOID, text_datum(c.model));
        lp.add(JSONBOID, spec);
        const uint64 n = exec_owner("SELECT m.spec OPERATOR(pg_catalog.=) $2 FROM lead_scoring.model m WHERE m.name "
                                    "OPERATOR(pg_catalog.=) $1 FOR SHARE",
                                    &lp);
        bool same = false;
        if (n == 1)
            pg_call([&] {
                bool isnull;
                same = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
            });
        if (!same)
            pg_error(ERRCODE_T_R_SERIALIZATION_FAILURE,
                     "lead scoring model \"" + c.model + "\" was changed or deleted while being refreshed; retry");
    }

    // Consume the committed changes, then read everything with a snapshot taken
    // after that (push_read_snapshot says why).
    std::vector<std::string> changed_text;
    const bool partial_changes = consume_changes(c, &changed_text);
    push_read_snapshot();
    if (!partial_changes) {
        facts.truncated = true;
        plan = ls::plan_refresh(*c.m, facts);
    }
    std::string reason = plan.reason;
    if (!capture_ok && reason != cap) reason += "; " + cap;
    const bool full = plan.mode == ls::RefreshMode::Full;
    const bool all = full || plan.all_leads;

    Leads L(id_width(c.src.id_type));
    L.m = c.m;
    L.ns = c.m->slots.size() + 1;
    L.stride = ls::state_stride(L.ns);
    Leads Old(id_width(c.src.id_type));  // recomputed leads as they were (incremental)
    Old.m = c.m;
    Old.ns = L.ns;
    Old.stride = L.stride;
    int64 changed = 0;
    std::vector<uint32_t> recomputed;
    std::string no_index;  // sources an incremental refresh had to scan
    PhaseTimer pt;
    if (full) {
        read_leads(c, L, 0, false);
        pt.mark("read leads");
        L.index.densify();
        read_events(c, L, 0, false);
        pt.mark("read events");
        read_orders(c, L, 0, false);
        read_conversions(c, L, 0, false);
        state_relid = ensure_state_table(c, state_q, state_rel, true);
        changed = static_cast<int64>(L.size());
    } else {
        // Changed leads: from change_log, and those whose rows were in the
        // future at the last refresh and are not any more (next_at <= as_of).
        Oid infn = InvalidOid, ioparam = InvalidOid;
        const Oid idt = c.src.id_type;
        pg_call([&] { getTypeInputInfo(idt, &infn, &ioparam); });
        std::string k;
        size_t seen = 0;
        std::vector<std::string> keys;
        for (const std::string& t : changed_text) {
            if ((++seen & 0xffff) == 0) ls::pg::check_interrupts();
            Datum d = 0;
            const char* ts = t.c_str();
            try {
                pg_call([&] {
                    d = OidInputFunctionCall(infn, const_cast<char*>(ts), ioparam, -1);
                    if (idt == TEXTOID) d = PointerGetDatum(PG_DETOAST_DATUM_PACKED(d));
                });
            } catch (PgError& e) {
                pg_call([&] { FreeErrorData(e.edata); });
                continue;  // cannot be a lead id of this type
            }
            key_of(idt, d, &k);
            keys.push_back(k);
        }
        std::unordered_set<uint32_t> set;
        if (all) {
            read_state(c, L, state_q);
            L.index.densify();
            for (const std::string& kk : keys) set.insert(L.add(kk));
            // A new tick: also the leads scored with an event moved to the last
            // tick start (an event after it); at this tick it weighs by its own time.
            for (size_t i = 0; i < L.size(); ++i)
                if (L.next_at[i] <= c.as_of || L.last_event[i] > prev.tick) set.insert(static_cast<uint32_t>(i));
        } else {
            // Only the changed leads' state rows (by key) and the due ones (by
            // the index on next_at).
            for (const std::string& kk : keys) L.add(kk);
            std::vector<uint32_t> idx(L.size());
            for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<uint32_t>(i);
            read_state(c, L, state_q, ids_array(c, L, idx), true);
            for (size_t i = 0; i < L.size(); ++i) set.insert(static_cast<uint32_t>(i));
        }
        pt.mark("read state");
        recomputed.assign(set.begin(), set.end());
        std::sort(recomputed.begin(), recomputed.end());
        changed = static_cast<int64>(recomputed.size());
        if (!recomputed.empty()) {
            if (!all) no_index = missing_lead_indexes(c);
            for (uint32_t i : recomputed) {
                copy_lead(L, i, Old);
                L.reset_activity(i);
                L.alive[i] = 0;
            }
            Datum ids = ids_array(c, L, recomputed);
            read_leads(c, L, ids, true);  // revives the leads that still exist
            read_events(c, L, ids, true);
            read_orders(c, L, ids, true);
            read_conversions(c, L, ids, true);
        }
        pt.mark("read changed leads");
    }

    // State rows to rewrite (by key, before compaction renumbers).
    std::vector<std::string> rewrite_keys;
    for (uint32_t i : recomputed) rewrite_keys.push_back(L.key[i]);
    if (all) L.compact();

    ls::RankingInput in;
    in.m = c.m;
    in.n = L.size();
    // Moved, not copied (the big arrays), and moved back after.
    in.fit.swap(L.fit);
    in.rule_dq.swap(L.rule_dq);
    in.state.swap(L.state);
    in.scale = ls::rescale_factor(*c.m, c.ref, c.tick);
    in.has_orders.resize(in.n);
    in.recency_days.resize(in.n);
    in.frequency = L.n_orders;
    in.monetary = L.amount;
    for (size_t i = 0; i < in.n; ++i) {
        in.has_orders[i] = L.alive[i] && L.last_order[i] != kNever;
        if (in.has_orders[i]) in.recency_days[i] = recency_days(c.tick, L.last_order[i]);
    }
    ls::pg::check_interrupts();
    std::vector<ls::RankingRow> rows(in.n);
    for (size_t i = 0; i < in.n; ++i) {
        if ((i & 0x3fff) == 0x3fff) ls::pg::check_interrupts();
        if (L.alive[i]) rows[i] = ls::score_row(in, i);
    }

    // RFM cut points are global. A full or new-tick refresh computes them over
    // every lead; within a tick they are kept from the last refresh unless a
    // changed lead's orders changed, and then recomputed from the stored
    // per-lead order summaries: the leads whose code changes are rewritten.
    ls::RfmBreaks br;
    bool has_br = false;
    ls::RfmBreaks old_br;
    const bool had_br = ls::decode_breaks(prev.breaks, &old_br);
    Leads R(id_width(c.src.id_type));  // leads whose only change is their RFM code
    std::vector<std::string> r_codes;
    std::vector<const std::string*> r_segs;
    if (all) {
        has_br = ls::rfm_breaks_of(in, &br);
    } else {
        bool orders_changed = false;
        for (uint32_t i : recomputed) {
            const int j = Old.find(L.key[i]);
            const bool had = j >= 0 && Old.in_state[j] && Old.last_order[j] != kNever;
            const bool has = L.alive[i] && L.last_order[i] != kNever;
            if (had != has || (had && !same_orders(L.last_order[i], L.n_orders[i], L.amount[i], Old.last_order[j],
                                                   Old.n_orders[j], Old.amount[j])))
                orders_changed = true;
        }
        if (!orders_changed) {
            has_br = had_br;
            br = old_br;
        } else {
            // Every other lead's order summary, from the state table.
            ls::RankingInput o;
            o.m = c.m;
            std::vector<std::string> okeys;
            Params p;
            p.add(INT8OID, Int64GetDatum(kNever));
            Cursor cur;
            cur.open("SELECT s.lead_id, s.last_order, s.n_orders, s.amount FROM " + state_q +
                         " s WHERE s.last_order OPERATOR(pg_catalog.<>) $1",
                     &p, true);
            std::string k;
            while (cur.next()) {
                for (uint64 r = 0; r < cur.n; ++r) {
                    key_of(c.src.id_type, cur.at(r, 0), &k);
                    if (L.find(k) >= 0) continue;
                    okeys.push_back(k);
                    o.has_orders.push_back(1);
                    o.recency_days.push_back(recency_days(c.tick, DatumGetInt64(cur.at(r, 1))));
                    o.frequency.push_back(DatumGetFloat8(cur.at(r, 2)));
                    o.monetary.push_back(DatumGetFloat8(cur.at(r, 3)));
                }
            }
            cur.close();
            const size_t others = okeys.size();
            for (size_t i = 0; i < in.n; ++i) {
                if (!in.has_orders[i]) continue;
                o.has_orders.push_back(1);
                o.recency_days.push_back(in.recency_days[i]);
                o.frequency.push_back(in.frequency[i]);
                o.monetary.push_back(in.monetary[i]);
            }
            o.n = o.has_orders.size();
            has_br = ls::rfm_breaks_of(o, &br);
            const bool moved = has_br != had_br || ls::encode_breaks(has_br ? &br : nullptr) != prev.breaks;
            if (moved) {
                for (size_t x = 0; x < others; ++x) {
                    ls::RankingRow before, after;
                    if (had_br) ls::apply_rfm(*c.m, old_br, o.recency_days[x], o.frequency[x], o.monetary[x], &before);
                    if (has_br) ls::apply_rfm(*c.m, br, o.recency_days[x], o.frequency[x], o.monetary[x], &after);
                    if (before.rfm_code == after.rfm_code && before.rfm_segment == after.rfm_segment) continue;
                    R.add(okeys[x]);
                    r_codes.push_back(after.rfm_code);
                    r_segs.push_back(after.rfm_segment);
                }
            }
        }
    }
    if (has_br)
        for (size_t i = 0; i < in.n; ++i)
            if (in.has_orders[i]) ls::apply_rfm(*c.m, br, in.recency_days[i], in.frequency[i], in.monetary[i], &rows[i]);
    in.fit.swap(L.fit);
    in.rule_dq.swap(L.rule_dq);
    in.state.swap(L.state);
    pt.mark("compute");

    // Write only what changed.
    Datum key_ids = 0;
    if (!all) {
        std::vector<uint32_t> idx(L.size());
        for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<uint32_t>(i);
        key_ids = ids_array(c, L, idx);
    }
    Diff d = diff_target(c, L, rows, target, all, key_ids);
    int64 rows_written = write_target(c, L, rows, target, d);
    rows_written += write_rfm_only(c, target, R, r_codes, r_segs);
    // After a large rewrite the planner's statistics of the ranking (its
    // correlation above all) decide whether <target>_ranked WHERE rank <= N walks
    // the index on score or sorts the whole table: refresh them now rather than
    // wait for autovacuum.
    const int64 table_rows = all ? static_cast<int64>(L.size()) : prev.qualified;
    if (rows_written >= 1000 && rows_written * 10 >= table_rows) exec("ANALYZE " + target.qname);
    see_own_writes();
    pt.mark("write ranking");

    // Per-lead state: a full refresh rebuilt the table; otherwise the
    // recomputed leads whose state changed.
    int64 state_written = 0;
    if (full) {
        write_state_bulk(c, L, state_relid);
        exec_owner("ALTER TABLE " + state_q + " ADD PRIMARY KEY (lead_id); CREATE INDEX ON " + state_q + " (next_at)");
        state_written = static_cast<int64>(L.size());
    } else if (!rewrite_keys.empty()) {
        std::vector<uint32_t> state_rows;
        Leads gone(id_width(c.src.id_type));
        for (const std::string& k : rewrite_keys) {
            const int i = L.find(k);
            const int j = Old.find(k);
            const bool alive = i >= 0 && L.alive[i];
            if (alive && j >= 0 && same_state(L, static_cast<uint32_t>(i), Old, static_cast<uint32_t>(j))) continue;
            if (alive) state_rows.push_back(static_cast<uint32_t>(i));
            if (j >= 0 && Old.in_state[j]) gone.add(k);  // its old row goes
        }
        if (gone.size() > 0) {
            std::vector<uint32_t> idx(gone.size());
            for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<uint32_t>(i);
            Params p;
            p.add(c.src.id_array_type, ids_array(c, gone, idx));
            exec_owner("DELETE FROM " + state_q + " WHERE lead_id OPERATOR(pg_catalog.=) ANY ($1)", &p);
        }
        write_state(c, L, state_q, state_rows);
        state_written = static_cast<int64>(gone.size() + state_rows.size());
        see_own_writes();
    }
    pt.mark("write state");

    // next_due: the earliest source row after as_of of any lead.
    bool has_next_due = prev.has_next_due;
    TimestampTz next_due = prev.next_due;
    if (all) {
        int64 m = kNever;
        for (size_t i = 0; i < L.size(); ++i) m = std::min(m, L.next_at[i]);
        has_next_due = m != kNever;
        next_due = m;
    } else if (state_written > 0) {
        Params p;
        p.add(INT8OID, Int64GetDatum(kNever));
        // A range condition (< never), not <>: the index scan then ends at once
        // when no lead has a future row, instead of walking every entry.
        exec_owner("SELECT pg_catalog.min(s.next_at) FROM " + state_q + " s WHERE s.next_at OPERATOR(pg_catalog.<) $1", &p,
                   true);
        pg_call([&] {
            bool isnull;
            Datum v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
            has_next_due = !isnull;
            if (!isnull) next_due = DatumGetInt64(v);
        });
    }

    int64 qualified = prev.qualified + d.qualified_delta;
    if (all) {
        qualified = 0;
        for (size_t i = 0; i < L.size(); ++i)
            if (L.alive[i] && !rows[i].disqualified) ++qualified;
    }
    const std::vector<double> new_breaks = ls::encode_breaks(has_br ? &br : nullptr);

    const bool wrote = full || all || rows_written > 0 || state_written > 0 || has_next_due != prev.has_next_due ||
                       (has_next_due && next_due != prev.next_due) || new_breaks != prev.breaks;
    if (!wrote) {
        pg_call([] {
            PopActiveSnapshot();
            SPI_finish();
        });
        return 0;
    }

    write_stage_history(c, L, rows, d, !prev.exists);
    pt.mark("write stage history");
    const FunnelCounts old_funnel = read_funnel(c);
    FunnelCounts funnel;
    if (all) {
        for (size_t i = 0; i < L.size(); ++i) {
            if (!L.alive[i]) continue;
            auto& f = funnel[*rows[i].stage];
            f.first++;
            f.second += L.converted[i] ? 1 : 0;
        }
    } else {
        funnel = old_funnel;
        for (size_t i = 0; i < L.size(); ++i) {
            const int j = Old.find(L.key[i]);
            const bool old_conv = j >= 0 && Old.in_state[j] && Old.converted[j];
            if (d.old[i].present) {
                auto& f = funnel[d.old[i].stage];
                f.first--;
                f.second -= old_conv ? 1 : 0;
            }
            if (L.alive[i]) {
                auto& f = funnel[*rows[i].stage];
                f.first++;
                f.second += L.converted[i] ? 1 : 0;
            }
        }
    }
    write_funnel(c, funnel, old_funnel, full);
    pt.mark("write funnel");
    if (full || all || (rows_written > 0 && leaderboard_touched(c, L, rows, d))) write_leaderboard(c, target);
    pt.mark("write leaderboard");

    {
        Params p;
        p.add(TEXTOID, text_datum(c.model));
        p.add(JSONBOID, spec);
        p.add(TEXTOID, text_datum(c.src.fingerprint));
        p.add(OIDOID, ObjectIdGetDatum(target.relid));
        p.add(OIDOID, ObjectIdGetDatum(state_relid));
        p.add(TIMESTAMPTZOID, TimestampTzGetDatum(c.ref));
        p.add(TIMESTAMPTZOID, TimestampTzGetDatum(c.as_of));
        // Triggers installed by this refresh under REPEATABLE READ or SERIALIZABLE:
        // a writer that committed after the transaction snapshot but before the
        // triggers existed left no change row and its rows were invisible to
        // this refresh, so the next refresh must be full. (Under READ COMMITTED
        // the read snapshot is taken after CREATE TRIGGER waited for every such
        // writer, so this refresh saw them.)
        bool installed_late = false;
        if (cap == "change-capture triggers installed") pg_call([&] { installed_late = IsolationUsesXactSnapshot(); });
        p.add(BOOLOID, BoolGetDatum(capture_ok && !installed_late));
        p.add(OIDOID, ObjectIdGetDatum(c.owner));
        p.add(TIMESTAMPTZOID, TimestampTzGetDatum(c.tick));
        p.add(TIMESTAMPTZOID, has_next_due ? TimestampTzGetDatum(next_due) : 0, !has_next_due);
        p.add(INT8OID, Int64GetDatum(qualified));
        p.add(FLOAT8ARRAYOID, has_br ? float8_array(new_breaks) : 0, !has_br);
        exec_owner("INSERT INTO lead_scoring.refresh_state (model, spec, sources, target, state_table, ref_time, as_of, "
                   "capture, refreshed_at, owner, tick_start, next_due, qualified, rfm_breaks) VALUES ($1, $2, $3, $4, $5, "
                   "$6, $7, $8, pg_catalog.now(), $9, $10, $11, $12, $13) "
                   "ON CONFLICT (model) DO UPDATE SET spec = EXCLUDED.spec, sources = EXCLUDED.sources, "
                   "target = EXCLUDED.target, state_table = EXCLUDED.state_table, ref_time = EXCLUDED.ref_time, "
                   "as_of = EXCLUDED.as_of, capture = EXCLUDED.capture, refreshed_at = EXCLUDED.refreshed_at, "
                   "owner = EXCLUDED.owner, tick_start = EXCLUDED.tick_start, next_due = EXCLUDED.next_due, "
                   "qualified = EXCLUDED.qualified, rfm_breaks = EXCLUDED.rfm_breaks",
                   &p);
    }
    {
        Params p;
        p.add(TEXTOID, text_datum(c.model));
        p.add(TEXTOID, text_datum(full ? "full" : "incremental"));
        p.add(INT8OID, Int64GetDatum(all ? static_cast<int64>(L.size()) : static_cast<int64>(-1)), !all);
        p.add(INT8OID, Int64GetDatum(static_cast<int64>(c.events_read)));
        p.add(TIMESTAMPTZOID, TimestampTzGetDatum(c.as_of));
        const std::string why = full ? reason : plan.all_leads ? "new tick" : no_index;
        p.add(TEXTOID, why.empty() ? 0 : text_datum(why), why.empty());
        p.add(INT8OID, Int64GetDatum(changed));
        p.add(INT4OID, Int32GetDatum(guc::log_retention));
        p.add(INT8OID, Int64GetDatum(rows_written));
        exec_owner("INSERT INTO lead_scoring.refresh_log (model, started_at, finished_at, mode, leads, events_read, "
                   "status, as_of, reason, changed_leads, rows_written) VALUES ($1, pg_catalog.now(), "
                   "pg_catalog.clock_timestamp(), $2, $3, $4, 'ok', $5, $6, $7, $9)",
                   &p);
        exec_owner("DELETE FROM lead_scoring.refresh_log WHERE model OPERATOR(pg_catalog.=) $1 AND started_at "
                   "OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $8))",
                   &p);
    }
    pg_call([] {
        PopActiveSnapshot();
        SPI_finish();
    });
    return rows_written;
}

}  // namespace ls::pg::refresh

LS_FUNCTION(ls_refresh) {
    // The identity to give back lives on this frame (not in a global, which a
    // nested refresh would overwrite), and is given back on error too.
    ls::pg::SavedIdentity saved;
    GetUserIdAndSecContext(&saved.user, &saved.sec);
    int64 n = 0;
    try {
        n = ls::pg::refresh::do_refresh(fcinfo, &saved);
        ls::pg::pg_call([&] { ls::pg::leave_restricted(saved); });
    } catch (...) {
        ls::pg::leave_restricted_on_error(saved);
        throw;
    }
    if (n < 0) PG_RETURN_NULL();
    PG_RETURN_INT64(n);
}
