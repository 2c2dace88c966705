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
//    per-lead state of everyone (exponential or no decay) or every source row.
//    The arithmetic is the core's (core/ranking.hpp), so the ranking equals
//    what fit_score/activity_score/score/grade/stage compute.
//  * Writes: the current rows of the recomputed leads are compared with the new
//    ones and exactly the changed rows are inserted, updated or deleted, in the
//    refresh's transaction: every reader, at any isolation level, sees the old
//    or the new ranking, and the table keeps its OID. Rank is not stored (the
//    _ranked view computes it over the index on score).
//  * Concurrency: a transaction-level lock keyed by the model name that no SQL
//    function can take (try_refresh_lock); a second refresh of the same model
//    is skipped with a NOTICE. Sources are only read (ACCESS SHARE).
//  * Change capture: statement-level AFTER triggers with transition tables
//    append changed lead ids to lead_scoring.change_log. A refresh consumes the
//    change rows its snapshot sees (DELETE ... RETURNING), then reads with a
//    snapshot taken later (push_read_snapshot), so no consumed change is unseen.
//  * Privileges: the caller must have the privileges of the model's owner; the
//    refresh then runs as the owner inside a security-restricted operation (as
//    REFRESH MATERIALIZED VIEW). lead_scoring's bookkeeping tables and the
//    capture triggers' DDL run as the extension owner
//    (SECURITY_LOCAL_USERID_CHANGE, as PostgreSQL's RI triggers do), only by
//    statements built here (doc/privileges.md lists them). The identity to
//    return to is kept on each call's stack.
#include "core/activity.hpp"
#include "core/fit.hpp"
#include "core/lead_table.hpp"
#include "core/qualify.hpp"
#include "core/ranking.hpp"
#include "core/refresh_plan.hpp"
#include "core/spec.hpp"
#include "core/value.hpp"

#include "pg/glue.hpp"
#include "pg/attributes.hpp"
#include "pg/capture.hpp"
#include "pg/identity.hpp"
#include "pg/model_cache.hpp"
#include "pg/refresh.hpp"
#include "pg/resolve.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "parser/parse_type.h"
#include "commands/trigger.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "storage/lock.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

namespace {

using ls::pg::pg_call;
using ls::pg::PgError;

int g_log_retention = 30 * 86400;  // seconds
int g_leaderboard_size = 100;

// Per-model state tables live in a schema of their own on which no other role
// has USAGE: nobody can name them, so nobody can reference (and so pin against
// DROP) or read them; only the refresh, as the extension owner, uses them.
constexpr const char* kStateSchema = "lead_scoring_state";
constexpr long kBatch = 10000;
constexpr size_t kWriteChunk = 50000;

[[noreturn]] void pg_error(int sqlstate, const std::string& msg) {
    const char* m = msg.c_str();
    pg_call([&] { ereport(ERROR, (errcode(sqlstate), errmsg("%s", m))); });
    throw ls::Error(ls::ErrorCode::InvalidParameter, msg);  // not reached
}

std::string quote_ident(const std::string& s) {
    const char* q = nullptr;
    const char* in = s.c_str();
    pg_call([&] { q = quote_identifier(in); });
    return q;
}

std::string quote_literal(const std::string& s) {
    char* q = nullptr;
    const char* in = s.c_str();
    pg_call([&] { q = quote_literal_cstr(in); });
    return q;
}

// ---------------------------------------------------------------- SPI helpers

struct Params {
    int n = 0;
    static constexpr int kMax = 16;  // the most any statement here binds is 13
    Oid types[kMax];
    Datum vals[kMax];
    char nulls[kMax + 1];
    void add(Oid t, Datum d, bool isnull = false) {
        types[n] = t;
        vals[n] = d;
        nulls[n] = isnull ? 'n' : ' ';
        ++n;
        nulls[n] = '\0';
    }
};

uint64 exec(const std::string& sql, const Params* p = nullptr, bool read_only = false) {
    const char* q = sql.c_str();
    uint64 processed = 0;
    pg_call([&] {
        int rc = p ? SPI_execute_with_args(q, p->n, const_cast<Oid*>(p->types), const_cast<Datum*>(p->vals),
                                           p->nulls, read_only, 0)
                   : SPI_execute(q, read_only, 0);
        if (rc < 0) elog(ERROR, "lead_scoring.refresh: SPI failed (%s) for: %s", SPI_result_code_string(rc), q);
        processed = SPI_processed;
    });
    return processed;
}

// Runs f as the extension owner (bookkeeping tables only), keeping the security
// context (so inside a refresh it stays a security-restricted operation). The
// identity to return to is saved on this frame, never in a global: a refresh
// nested in a trigger or function of another refresh must give back exactly
// what it was given, also when it fails.
template <typename F>
void as_ext_owner(F&& f) {
    const Oid owner = ls::pg::extension_owner();
    Oid uid = InvalidOid;
    int sec = 0;
    GetUserIdAndSecContext(&uid, &sec);
    SetUserIdAndSecContext(owner, sec | SECURITY_LOCAL_USERID_CHANGE);  // cannot fail
    try {
        f();
    } catch (...) {
        SetUserIdAndSecContext(uid, sec);
        throw;
    }
    SetUserIdAndSecContext(uid, sec);
}

uint64 exec_owner(const std::string& sql, const Params* p = nullptr, bool read_only = false) {
    uint64 n = 0;
    as_ext_owner([&] { n = exec(sql, p, read_only); });
    return n;
}

// A cursor read in batches; every row is deformed into plain Datum arrays in a
// per-batch memory context, varlena columns detoasted, so the C++ code that
// consumes a batch never calls PostgreSQL.
struct Cursor {
    Portal portal = nullptr;
    int natts = 0;
    MemoryContext cxt = nullptr;
    SPITupleTable* tt = nullptr;
    uint64 n = 0;
    Datum* vals = nullptr;
    bool* nulls = nullptr;

    void open(const std::string& sql, const Params* p, bool as_owner = false) {
        const char* q = sql.c_str();
        auto start = [&] {
            pg_call([&] {
                portal = SPI_cursor_open_with_args(nullptr, q, p ? p->n : 0, p ? const_cast<Oid*>(p->types) : nullptr,
                                                   p ? const_cast<Datum*>(p->vals) : nullptr, p ? p->nulls : nullptr,
                                                   true, CURSOR_OPT_NO_SCROLL);
                cxt = AllocSetContextCreate(CurrentMemoryContext, "lead_scoring refresh batch", ALLOCSET_DEFAULT_SIZES);
            });
        };
        // Permissions are checked when the portal starts: only the open runs
        // as the extension owner.
        if (as_owner) as_ext_owner(start);
        else start();
    }
    // Fetches the next batch; false at the end.
    bool next() {
        pg_call([&] {
            if (tt) SPI_freetuptable(tt);
            tt = nullptr;
            MemoryContextReset(cxt);
            SPI_cursor_fetch(portal, true, kBatch);
            tt = SPI_tuptable;
            n = SPI_processed;
            TupleDesc td = tt->tupdesc;
            natts = td->natts;
            MemoryContext old = MemoryContextSwitchTo(cxt);
            vals = static_cast<Datum*>(palloc(sizeof(Datum) * (n * natts + 1)));
            nulls = static_cast<bool*>(palloc(sizeof(bool) * (n * natts + 1)));
            for (uint64 i = 0; i < n; ++i) {
                heap_deform_tuple(tt->vals[i], td, &vals[i * natts], &nulls[i * natts]);
                for (int a = 0; a < natts; ++a) {
                    Form_pg_attribute att = TupleDescAttr(td, a);
                    if (att->attlen == -1 && !nulls[i * natts + a])
                        vals[i * natts + a] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(vals[i * natts + a]));
                }
            }
            MemoryContextSwitchTo(old);
            if (INTERRUPTS_PENDING_CONDITION()) CHECK_FOR_INTERRUPTS();
        });
        return n > 0;
    }
    void close() {
        pg_call([&] {
            if (tt) SPI_freetuptable(tt);
            tt = nullptr;
            SPI_cursor_close(portal);
            MemoryContextDelete(cxt);
        });
    }
    Datum at(uint64 row, int col) const { return vals[row * natts + col]; }
    bool null(uint64 row, int col) const { return nulls[row * natts + col]; }
};

std::string text_of(Datum d) {
    text* t = reinterpret_cast<text*>(DatumGetPointer(d));
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

Datum text_datum(const std::string& s) {
    Datum volatile d = 0;
    pg_call([&] { d = PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size()))); });
    return d;
}

// ---------------------------------------------------------------- sources
// Resolved by pg/resolve.cpp, shared with the evaluation functions.
using ls::pg::check_type;
using ls::pg::Column;
using ls::pg::parse_relname;
using ls::pg::resolve_sources;
using ls::pg::Source;
using ls::pg::Sources;
using ls::pg::type_name;

// ---------------------------------------------------------------- lead ids

// A lead id as bytes: int4/int8 host order, uuid 16 bytes, text its bytes.
void key_of(Oid type, Datum d, std::string* out) {
    switch (type) {
        case INT4OID: {
            int32 v = DatumGetInt32(d);
            out->assign(reinterpret_cast<const char*>(&v), sizeof v);
            break;
        }
        case INT8OID: {
            int64 v = DatumGetInt64(d);
            out->assign(reinterpret_cast<const char*>(&v), sizeof v);
            break;
        }
        case UUIDOID: out->assign(reinterpret_cast<const char*>(DatumGetUUIDP(d)->data), UUID_LEN); break;
        default: *out = text_of(d); break;
    }
}

// palloc'd Datum for a key (call inside pg_call).
Datum key_datum(Oid type, const char* k, size_t len) {
    switch (type) {
        case INT4OID: {
            int32 v;
            memcpy(&v, k, sizeof v);
            return Int32GetDatum(v);
        }
        case INT8OID: {
            int64 v;
            memcpy(&v, k, sizeof v);
            return Int64GetDatum(v);
        }
        case UUIDOID: {
            pg_uuid_t* u = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
            memcpy(u->data, k, UUID_LEN);
            return UUIDPGetDatum(u);
        }
        default: return PointerGetDatum(cstring_to_text_with_len(k, static_cast<int>(len)));
    }
}

// ---------------------------------------------------------------- per-lead data

using ls::IdIndex;
using ls::kNever;
using ls::Leads;
using ls::SlotCache;

size_t id_width(Oid type) { return type == INT4OID ? 4 : type == INT8OID ? 8 : 0; }

struct Ctx {
    FunctionCallInfo fcinfo;
    const ls::Model* m;
    std::string model;
    Sources src;
    TimestampTz as_of;
    TimestampTz tick = 0;  // tick_start: the instant every lead is scored at
    TimestampTz ref;  // sums are weighted at this time
    Oid owner = InvalidOid;  // the model's owner role
    uint64 events_read = 0;
};

double seconds(int64 us) { return static_cast<double>(us) / 1e6; }

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

// " WHERE col = ANY($1)" when filtering to some leads.
std::string any_filter(const std::string& col, bool filtered, const char* more) {
    std::string w;
    if (filtered) w = " WHERE " + col + " OPERATOR(pg_catalog.=) ANY ($1)";
    if (more && *more) w += (filtered ? " AND " : " WHERE ") + std::string(more);
    return w;
}

// Datum of a typed array of the given leads' ids (call in C++; uses pg_call).
Datum ids_array(const Ctx& c, const Leads& L, const std::vector<uint32_t>& which) {
    Datum volatile out = 0;
    const Oid t = c.src.id_type;
    pg_call([&] {
        int16 typlen;
        bool byval;
        char align;
        get_typlenbyvalalign(t, &typlen, &byval, &align);
        Datum* d = static_cast<Datum*>(palloc(sizeof(Datum) * (which.size() + 1)));
        for (size_t i = 0; i < which.size(); ++i)
            d[i] = key_datum(t, L.key[which[i]].data(), L.key[which[i]].size());
        out = PointerGetDatum(construct_array(d, static_cast<int>(which.size()), t, typlen, byval, align));
    });
    return out;
}

// A call site of our own for attributes_from_row, one per query: its cached
// row mapping (a tuple descriptor copy) then never outlives the statement whose
// row type it describes, even when DDL in this refresh invalidated the type cache.
ls::pg::CallSite* fresh_call_site() {
    ls::pg::CallSite* volatile cs = nullptr;
    pg_call([&] { cs = static_cast<ls::pg::CallSite*>(palloc0(sizeof(ls::pg::CallSite))); });
    return cs;
}

// Reads the leads' rows (all, or those whose ids are in `ids`) and their
// attributes, exactly as fit_score(model, row) reads them; calls
// fn(lead index, values) for each. `add`: leads not yet in L are added (else
// skipped).
template <typename Fn>
void for_each_lead_attributes(Ctx& c, Leads& L, Datum ids, bool filtered, bool add, Fn fn) {
    const Column* id = c.src.leads.col("id");
    std::string sql = "SELECT l." + id->q + ", l FROM " + c.src.leads.qname + " l" +
                      any_filter("l." + id->q, filtered, ("l." + id->q + " IS NOT NULL").c_str());
    Params p;
    if (filtered) p.add(c.src.id_array_type, ids);
    Cursor cur;
    cur.open(sql, filtered ? &p : nullptr);
    ls::pg::CallSite* cs = fresh_call_site();
    ls::Value* vals = nullptr;
    pg_call([&] { vals = ls::pg::values_buffer(cs, c.m->fields.size()); });
    std::string k;
    while (cur.next()) {
        for (uint64 r = 0; r < cur.n; ++r) {
            key_of(c.src.id_type, cur.at(r, 0), &k);
            const int found = add ? static_cast<int>(L.add(k)) : L.find(k);
            if (found < 0) continue;
            if (!cur.null(r, 1)) {
                Datum row = cur.at(r, 1);
                pg_call([&] {
                    MemoryContext old = MemoryContextSwitchTo(cur.cxt);
                    ls::pg::attributes_from_row(cs, *c.m, DatumGetHeapTupleHeader(row), vals);
                    MemoryContextSwitchTo(old);
                });
            } else {
                for (size_t f = 0; f < c.m->fields.size(); ++f) vals[f] = ls::Value::missing();
            }
            fn(static_cast<uint32_t>(found), vals);
        }
    }
    cur.close();
}

// Reads leads into L: fit and rule disqualification.
void read_leads(Ctx& c, Leads& L, Datum ids, bool filtered) {
    for_each_lead_attributes(c, L, ids, filtered, true, [&](uint32_t i, const ls::Value* vals) {
        L.alive[i] = 1;
        L.fit[i] = ls::fit_score(*c.m, vals);
        L.rule_dq[i] = ls::is_disqualified(*c.m, vals, nullptr) ? 1 : 0;
    });
}

void note_future(Leads& L, uint32_t i, int64 t) {
    if (t < L.next_at[i]) L.next_at[i] = t;
}

// Runs a query whose first column is a lead id (filtered to `ids` when
// `filtered`: $1) and calls row(cursor, row number, lead index) for each row of
// a live lead. Returns the number of rows read.
template <typename RowFn>
uint64 for_each_lead_row(Ctx& c, Leads& L, const std::string& sql, Datum ids, bool filtered, RowFn row) {
    Params p;
    if (filtered) p.add(c.src.id_array_type, ids);
    Cursor cur;
    cur.open(sql, filtered ? &p : nullptr);
    std::string k;
    uint64 n = 0;
    while (cur.next()) {
        n += cur.n;
        for (uint64 r = 0; r < cur.n; ++r) {
            key_of(c.src.id_type, cur.at(r, 0), &k);
            const int i = L.find(k);
            if (i < 0 || !L.alive[i]) continue;  // not a lead (any more)
            row(cur, r, static_cast<uint32_t>(i));
        }
    }
    cur.close();
    return n;
}

void read_events(Ctx& c, Leads& L, Datum ids, bool filtered) {
    const Source& s = c.src.events;
    if (!s.present) return;
    const Column* lid = s.col("lead_id");
    const Column* ty = s.col("type");
    const Column* tm = s.col("time");
    std::string more = "e." + lid->q + " IS NOT NULL AND e." + ty->q + " IS NOT NULL AND e." + tm->q + " IS NOT NULL";
    std::string sql = "SELECT e." + lid->q + ", e." + ty->q + "::pg_catalog.text, e." + tm->q + " FROM " + s.qname +
                      " e" + any_filter("e." + lid->q, filtered, more.c_str());
    SlotCache slots{c.m, {}};
    const int64 as_of = c.as_of, tick = c.tick, ref = c.ref;
    c.events_read += for_each_lead_row(c, L, sql, ids, filtered, [&](const Cursor& cur, uint64 r, uint32_t i) {
        int64 when = DatumGetTimestampTz(cur.at(r, 2));
        if (when > as_of) {  // does not count yet; the lead is due then
            note_future(L, i, when);
            return;
        }
        text* t = reinterpret_cast<text*>(DatumGetPointer(cur.at(r, 1)));
        int slot = slots.slot(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
        // Rows in (tick_start, as_of] count as if at tick_start (doc/rank.md, "Ticks").
        const int64 eff = ls::effective_time_us(when, tick);
        if (when > L.last_event[i]) L.last_event[i] = when;
        ls::LeadAccumulator acc{c.m, L.sums(i), L.flags(i)};
        acc.add(slot, seconds(tick - eff), seconds(ref - eff));
    });
}

void read_orders(Ctx& c, Leads& L, Datum ids, bool filtered) {
    const Source& s = c.src.orders;
    if (!s.present) return;
    const Column* lid = s.col("lead_id");
    const Column* tm = s.col("time");
    const Column* am = s.col("amount");
    std::string more = "o." + lid->q + " IS NOT NULL AND o." + tm->q + " IS NOT NULL";
    std::string sql = "SELECT o." + lid->q + ", o." + tm->q + ", o." + am->q + "::pg_catalog.float8 FROM " + s.qname +
                      " o" + any_filter("o." + lid->q, filtered, more.c_str());
    for_each_lead_row(c, L, sql, ids, filtered, [&](const Cursor& cur, uint64 r, uint32_t i) {
        int64 when = DatumGetTimestampTz(cur.at(r, 1));
        if (when > c.as_of) {  // not yet placed at as_of
            note_future(L, i, when);
            return;
        }
        if (L.last_order[i] == kNever || when > L.last_order[i]) L.last_order[i] = when;
        L.n_orders[i] += 1;
        if (!cur.null(r, 2)) L.amount[i] += DatumGetFloat8(cur.at(r, 2));
    });
}

void read_conversions(Ctx& c, Leads& L, Datum ids, bool filtered) {
    const Source& s = c.src.conversions;
    if (!s.present) return;
    const Column* lid = s.col("lead_id");
    const Column* tm = s.col("time");
    std::string more = "v." + lid->q + " IS NOT NULL";
    std::string sql = "SELECT v." + lid->q + (tm ? ", v." + tm->q : std::string(", NULL::pg_catalog.timestamptz")) +
                      " FROM " + s.qname + " v" + any_filter("v." + lid->q, filtered, more.c_str());
    for_each_lead_row(c, L, sql, ids, filtered, [&](const Cursor& cur, uint64 r, uint32_t i) {
        if (!cur.null(r, 1)) {
            int64 when = DatumGetTimestampTz(cur.at(r, 1));
            if (when > c.as_of) {
                note_future(L, i, when);
                return;
            }
        }
        L.converted[i] = 1;
    });
}

// A context for one chunk of rows being written (reset after each chunk).
MemoryContext new_chunk_context() {
    MemoryContext volatile cxt = nullptr;
    pg_call([&] { cxt = AllocSetContextCreate(CurrentMemoryContext, "lead_scoring refresh chunk", ALLOCSET_DEFAULT_SIZES); });
    return cxt;
}

// ---------------------------------------------------------------- state table

// Per-lead state: what an incremental refresh needs to rebuild a lead's row
// without reading its events (sums and flags as raw bytes, times in µs).
// All rows, or (filtered) those of the leads in `ids` and those due at as_of
// (next_at <= as_of, found through the index on next_at).
void read_state(Ctx& c, Leads& L, const std::string& state, Datum ids = 0, bool filtered = false) {
    Cursor cur;
    Params p;
    if (filtered) {
        p.add(c.src.id_array_type, ids);
        p.add(INT8OID, Int64GetDatum(c.as_of));
    }
    cur.open("SELECT s.lead_id, s.fit, s.rule_dq, s.sums, s.flags, s.next_at, s.last_order, s.n_orders, s.amount, "
             "s.converted, s.last_event FROM " + state + " s" +
                 (filtered ? " WHERE s.lead_id OPERATOR(pg_catalog.=) ANY ($1) OR s.next_at OPERATOR(pg_catalog.<=) $2"
                           : ""),
             filtered ? &p : nullptr, true);
    std::string k;
    const size_t sb = L.ns * sizeof(double);
    while (cur.next()) {
        for (uint64 r = 0; r < cur.n; ++r) {
            key_of(c.src.id_type, cur.at(r, 0), &k);
            uint32_t i = L.add(k);
            L.fit[i] = DatumGetFloat8(cur.at(r, 1));
            L.rule_dq[i] = DatumGetBool(cur.at(r, 2));
            bytea* sums = reinterpret_cast<bytea*>(DatumGetPointer(cur.at(r, 3)));
            bytea* flags = reinterpret_cast<bytea*>(DatumGetPointer(cur.at(r, 4)));
            if (VARSIZE_ANY_EXHDR(sums) != sb || VARSIZE_ANY_EXHDR(flags) != L.ns)
                throw ls::Error(ls::ErrorCode::DataCorrupted, "lead_scoring: corrupt refresh state row in " + state);
            memcpy(L.sums(i), VARDATA_ANY(sums), sb);
            memcpy(L.flags(i), VARDATA_ANY(flags), L.ns);
            L.next_at[i] = DatumGetInt64(cur.at(r, 5));
            L.last_order[i] = DatumGetInt64(cur.at(r, 6));
            L.n_orders[i] = DatumGetFloat8(cur.at(r, 7));
            L.amount[i] = DatumGetFloat8(cur.at(r, 8));
            L.converted[i] = DatumGetBool(cur.at(r, 9));
            L.last_event[i] = DatumGetInt64(cur.at(r, 10));
            L.in_state[i] = 1;
        }
    }
    cur.close();
}

constexpr int kStateCols = 11;
const Oid kStateTypes[kStateCols] = {InvalidOid /* the id type */, FLOAT8OID, BOOLOID, BYTEAOID, BYTEAOID, INT8OID,
                                     INT8OID,    FLOAT8OID, FLOAT8OID, BOOLOID, INT8OID};

// One state row's column values, palloc'd in the current context (call inside pg_call).
void state_values(const Ctx& c, Leads& L, uint32_t i, Datum* v) {
    const size_t sb = L.ns * sizeof(double);
    v[0] = key_datum(c.src.id_type, L.key[i].data(), L.key[i].size());
    v[1] = Float8GetDatum(L.fit[i]);
    v[2] = BoolGetDatum(L.rule_dq[i]);
    bytea* s = static_cast<bytea*>(palloc(VARHDRSZ + sb));
    SET_VARSIZE(s, VARHDRSZ + sb);
    memcpy(VARDATA(s), L.sums(i), sb);
    v[3] = PointerGetDatum(s);
    bytea* f = static_cast<bytea*>(palloc(VARHDRSZ + L.ns));
    SET_VARSIZE(f, VARHDRSZ + L.ns);
    memcpy(VARDATA(f), L.flags(i), L.ns);
    v[4] = PointerGetDatum(f);
    v[5] = Int64GetDatum(L.next_at[i]);
    v[6] = Int64GetDatum(L.last_order[i]);
    v[7] = Float8GetDatum(L.n_orders[i]);
    v[8] = Float8GetDatum(L.amount[i]);
    v[9] = BoolGetDatum(L.converted[i]);
    v[10] = Int64GetDatum(L.last_event[i]);
}

// A full refresh's state table was created by this transaction and has no
// index yet: its rows go straight into the heap through a bulk-insert buffer
// ring, as CREATE TABLE AS does (3x faster at 1M leads than INSERT ... SELECT
// over arrays, whose ROWS FROM materializes every column first). Only
// lead_scoring's own table is written this way.
void write_state_bulk(Ctx& c, Leads& L, Oid relid) {
    Relation volatile rel = nullptr;
    BulkInsertState volatile bis = nullptr;
    CommandId cid = 0;
    pg_call([&] {
        rel = table_open(relid, RowExclusiveLock);
        bis = GetBulkInsertState();
        cid = GetCurrentCommandId(true);
    });
    MemoryContext chunk = new_chunk_context();
    const size_t n = L.size();
    for (size_t a = 0; a < n; a += kWriteChunk) {
        const size_t b = std::min(n, a + kWriteChunk);
        pg_call([&] {
            MemoryContext old = MemoryContextSwitchTo(chunk);
            Datum v[kStateCols];
            bool nulls[kStateCols] = {};
            for (size_t i = a; i < b; ++i) {
                state_values(c, L, static_cast<uint32_t>(i), v);
                heap_insert(rel, heap_form_tuple(RelationGetDescr(rel), v, nulls), cid, 0, bis);
            }
            MemoryContextSwitchTo(old);
            MemoryContextReset(chunk);
        });
        ls::pg::check_interrupts();
    }
    pg_call([&] {
        MemoryContextDelete(chunk);
        FreeBulkInsertState(bis);
        table_close(rel, NoLock);
        CommandCounterIncrement();
    });
}

// An incremental refresh's few changed rows, through SQL (the table has its key).
void write_state(Ctx& c, Leads& L, const std::string& state, const std::vector<uint32_t>& rows) {
    const std::string sql = "INSERT INTO " + state +
                            " (lead_id, fit, rule_dq, sums, flags, next_at, last_order, n_orders, amount, converted, "
                            "last_event) SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
                            "pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), "
                            "pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9), pg_catalog.unnest($10), "
                            "pg_catalog.unnest($11))";
    MemoryContext chunk = new_chunk_context();
    for (size_t a = 0; a < rows.size(); a += kWriteChunk) {
        const size_t b = std::min(rows.size(), a + kWriteChunk);
        Params p;
        pg_call([&] {
            MemoryContext old = MemoryContextSwitchTo(chunk);
            const int n = static_cast<int>(b - a);
            Datum* cols[kStateCols];
            for (Datum*& col : cols) col = static_cast<Datum*>(palloc(sizeof(Datum) * n));
            Datum v[kStateCols];
            for (int j = 0; j < n; ++j) {
                state_values(c, L, rows[a + j], v);
                for (int k = 0; k < kStateCols; ++k) cols[k][j] = v[k];
            }
            for (int k = 0; k < kStateCols; ++k) {
                const Oid t = k == 0 ? c.src.id_type : kStateTypes[k];
                int16 typlen;
                bool byval;
                char align;
                get_typlenbyvalalign(t, &typlen, &byval, &align);
                p.add(get_array_type(t), PointerGetDatum(construct_array(cols[k], n, t, typlen, byval, align)));
            }
            MemoryContextSwitchTo(old);
        });
        exec_owner(sql, &p);
        pg_call([&] { MemoryContextReset(chunk); });
        ls::pg::check_interrupts();
    }
    pg_call([&] { MemoryContextDelete(chunk); });
}

// ---------------------------------------------------------------- target

// The ranking table's columns besides lead_id (doc/rank.md, "The ranking table").
const char* kTargetColumns[][2] = {
    {"score", "float8"},  {"fit", "float8"},         {"activity", "float8"},   {"grade", "text"},
    {"stage", "text"},    {"disqualified", "bool"},  {"rfm_code", "text"},     {"rfm_segment", "text"},
    {"as_of", "timestamptz"}, {"changed_at", "timestamptz"},
};

struct Target {
    Oid relid = InvalidOid;
    std::string qname;   // schema.table, quoted
    std::string vname;   // schema.table_ranked, quoted
    std::string schema, relname;
    bool existed = false;
    bool changed = false;  // created or migrated by this refresh
};

AttrNumber attnum_of(Oid relid, const char* col) {
    AttrNumber a = InvalidAttrNumber;
    pg_call([&] { a = get_attnum(relid, col); });
    return a;
}

// The view <target>_ranked: rank() among qualified leads over the index on
// score, and percentile from rank, the number of peers and the count of
// qualified leads refresh keeps in refresh_state in the same transaction as the
// table (percent_rank() itself would read the whole table before the first row).
// A table no model refreshes any more has no count: percentile NULL. The table
// is looked up by its (qualified) name when the view is read, not by an OID
// fixed in the view: after a dump and restore the view still finds its count.
std::string ranked_view_ddl(const Target& t) {
    const std::string cols = "t.lead_id, t.score, t.fit, t.activity, t.grade, t.stage, t.disqualified, t.rfm_code, "
                             "t.rfm_segment, t.as_of, t.changed_at";
    return "CREATE OR REPLACE VIEW " + t.vname + " AS SELECT q.lead_id, q.score, q.fit, q.activity, q.grade, q.stage, "
           "q.disqualified, q.rfm_code, q.rfm_segment, q.as_of, q.changed_at, q.rank, "
           "CASE WHEN n.qualified OPERATOR(pg_catalog.>) 1 THEN "
           "(n.qualified OPERATOR(pg_catalog.-) q.rank OPERATOR(pg_catalog.+) 1 OPERATOR(pg_catalog.-) q.peers)::float8 "
           "OPERATOR(pg_catalog./) (n.qualified OPERATOR(pg_catalog.-) 1)::float8 WHEN n.qualified IS NOT NULL THEN "
           "0::float8 END AS percentile "
           "FROM (SELECT " + cols + ", pg_catalog.rank() OVER w AS rank, pg_catalog.count(*) OVER w AS peers FROM " +
           t.qname + " t WHERE NOT t.disqualified WINDOW w AS (ORDER BY t.score DESC RANGE BETWEEN CURRENT ROW AND "
           "CURRENT ROW)) q LEFT JOIN LATERAL (SELECT s.qualified FROM lead_scoring.refresh_state s WHERE s.target "
           "OPERATOR(pg_catalog.=) pg_catalog.to_regclass(" + quote_literal(t.qname) + ")::pg_catalog.oid) n ON true "
           "UNION ALL SELECT " + cols + ", NULL::bigint, NULL::float8 FROM " + t.qname + " t WHERE t.disqualified; "
           "COMMENT ON VIEW " + t.vname + " IS " +
           quote_literal("Ranking with rank (1 = best, among qualified leads; NULL when disqualified) and percentile "
                         "(1 = best, 0 = worst); WHERE rank <= N reads N index entries (doc/rank.md)");
}

std::string target_indexes_ddl(const Target& t) {
    return "CREATE INDEX ON " + t.qname + " (score DESC) WHERE NOT disqualified; CREATE INDEX ON " + t.qname +
           " (stage, score DESC); ";
}

// A ranking table written by lead_scoring 0.1.0 (rank, percentile and
// refreshed_at columns) becomes a v2 table: rank and percentile are dropped
// (with their indexes), refreshed_at is renamed changed_at, the v2 indexes and
// the _ranked view are created. A user's view or other object on rank or
// percentile would be dropped with them: refused, with a hint.
bool migrate_v1_target(Ctx& c, Target& t) {
    const AttrNumber rank = attnum_of(t.relid, "rank"), pct = attnum_of(t.relid, "percentile");
    const AttrNumber refreshed = attnum_of(t.relid, "refreshed_at"), changed = attnum_of(t.relid, "changed_at");
    if (rank <= 0 || pct <= 0 || refreshed <= 0 || changed > 0) return false;
    Params p;
    p.add(OIDOID, ObjectIdGetDatum(t.relid));
    p.add(INT4OID, Int32GetDatum(rank));
    p.add(INT4OID, Int32GetDatum(pct));
    const uint64 n = exec("SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_catalog.pg_depend d "
                          "WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND "
                          "d.refobjid OPERATOR(pg_catalog.=) $1 AND d.refobjsubid OPERATOR(pg_catalog.=) ANY "
                          "(ARRAY[$2, $3]) AND d.deptype OPERATOR(pg_catalog.=) 'n' AND d.classid OPERATOR(pg_catalog.<>) "
                          "'pg_catalog.pg_class'::pg_catalog.regclass OR (d.refobjid OPERATOR(pg_catalog.=) $1 AND "
                          "d.refobjsubid OPERATOR(pg_catalog.=) ANY (ARRAY[$2, $3]) AND d.classid OPERATOR(pg_catalog.=) "
                          "'pg_catalog.pg_rewrite'::pg_catalog.regclass) ORDER BY 1 LIMIT 1",
                          &p, true);
    if (n > 0) {
        char* what = nullptr;
        pg_call([&] { what = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1); });
        const char* tq = t.qname.c_str();
        const char* model = c.model.c_str();
        pg_call([&] {
            ereport(ERROR, (errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
                            errmsg("cannot update ranking table %s of lead scoring model \"%s\" to rankings v2: %s "
                                   "depends on its column rank or percentile",
                                   tq, model, what ? what : "an object"),
                            errhint("Rankings v2 no longer store rank and percentile (read them from the view %s_ranked). "
                                    "Drop or redefine that object, then refresh again.",
                                    tq)));
        });
    }
    exec("ALTER TABLE " + t.qname + " DROP COLUMN rank, DROP COLUMN percentile; ALTER TABLE " + t.qname +
         " RENAME COLUMN refreshed_at TO changed_at; " + target_indexes_ddl(t));
    return true;
}

// Resolves the target table, creating it (and its _ranked view) when missing
// and updating a 0.1.0 table; an existing table must have every column of the
// v2 layout with the right type.
Target resolve_target(Ctx& c) {
    Target t;
    const bool dflt = c.m->source.target.empty();
    const std::string name = dflt ? "lead_scoring.ranking_" + c.model : c.m->source.target;
    RangeVar* rv = parse_relname(name, "$.source.target");
    Oid nsp = InvalidOid;
    Oid relid = InvalidOid;
    // Locked as found: the owner check below then holds for the name until the
    // transaction ends (no DROP and re-CREATE by the owner of the schema, no
    // RENAME, can swap another table in under the same name meanwhile).
    pg_call([&] {
        nsp = get_namespace_oid(rv->schemaname, true);
        if (OidIsValid(nsp)) relid = RangeVarGetRelidExtended(rv, RowExclusiveLock, RVR_MISSING_OK, nullptr, nullptr);
    });
    if (!OidIsValid(nsp))
        pg_error(ERRCODE_UNDEFINED_SCHEMA, "schema \"" + std::string(rv->schemaname) + "\" of $.source.target does not exist");
    t.schema = rv->schemaname;
    t.relname = rv->relname;
    if (t.relname.size() + strlen("_ranked") >= NAMEDATALEN)
        throw ls::Error(ls::ErrorCode::InvalidParameter,
                        "target \"" + name + "\" of $.source.target: the name is too long for its view " + t.relname +
                            "_ranked (at most " + std::to_string(NAMEDATALEN - 1 - 7) + " bytes)");
    t.qname = quote_ident(rv->schemaname) + "." + quote_ident(rv->relname);
    t.vname = quote_ident(rv->schemaname) + "." + quote_ident(t.relname + "_ranked");
    if (OidIsValid(relid)) {
        t.existed = true;
        t.relid = relid;
        // Only a table of the model's owner's very own: the refresh writes it as
        // that owner, so its triggers, rules and defaults run with the owner's
        // rights. A table found by name may be another role's (a deleted
        // model's default target, owned by that model's owner, is the user's
        // data and stays); membership is not enough either (a superuser is a
        // member of every role, and any other member of the table's owner
        // could plant a trigger). doc/privileges.md
        Oid relowner = InvalidOid;
        pg_call([&] {
            HeapTuple tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
            if (!HeapTupleIsValid(tp)) elog(ERROR, "cache lookup failed for relation %u", relid);
            relowner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tp))->relowner;
            ReleaseSysCache(tp);
        });
        if (relowner != c.owner) {
            const Oid mo = c.owner;
            const char* model = c.model.c_str();
            const char* tq = t.qname.c_str();
            pg_call([&] {
                const char* ro = GetUserNameFromId(relowner, true);
                const char* on = GetUserNameFromId(mo, false);
                ereport(ERROR,
                        (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                         errmsg("target table %s of lead scoring model \"%s\" is owned by %s, not by the model's owner %s",
                                tq, model, ro ? quote_identifier(ro) : psprintf("role %u", relowner), quote_identifier(on)),
                         errhint("Drop that table (its owner or a superuser can), or set $.source.target to a table %s owns.",
                                 quote_identifier(on))));
            });
        }
        char kind = 0;
        pg_call([&] { kind = get_rel_relkind(relid); });
        if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
            throw ls::Error(ls::ErrorCode::InvalidParameter, "target \"" + name + "\" of $.source.target is not a table");
        const bool migrated = migrate_v1_target(c, t);
        auto check = [&](const char* col, Oid want) {
            AttrNumber a = InvalidAttrNumber;
            Oid have = InvalidOid;
            pg_call([&] {
                a = get_attnum(relid, col);
                if (a > 0) have = get_atttype(relid, a);
            });
            if (a <= 0 || have != want)
                throw ls::Error(ls::ErrorCode::InvalidParameter,
                                "target \"" + name + "\" of $.source.target must have a column " + col + " of type " +
                                    type_name(want) + " (doc/rank.md, \"The ranking table\")");
        };
        check("lead_id", c.src.id_type);
        for (auto& col : kTargetColumns) {
            Oid want = InvalidOid;
            const char* tn = col[1];
            pg_call([&] { want = typenameTypeId(nullptr, LS_TYPE_STRING_TO_TYPE_NAME(tn)); });
            check(col[0], want);
        }
        // The view: (re)made when missing or after the update from 0.1.0.
        Oid view = InvalidOid;
        const std::string vname = t.relname + "_ranked";
        pg_call([&] { view = get_relname_relid(vname.c_str(), nsp); });
        if (migrated || !OidIsValid(view)) {
            if (dflt) {
                exec_owner(ranked_view_ddl(t));
                std::string owner;
                const Oid owner_id = c.owner;
                pg_call([&] { owner = GetUserNameFromId(owner_id, false); });
                exec_owner("ALTER VIEW " + t.vname + " OWNER TO " + quote_ident(owner));
            } else {
                exec(ranked_view_ddl(t));
            }
            t.changed = true;
        }
        return t;
    }
    const std::string idt = type_name(c.src.id_type);
    std::string ddl = "CREATE TABLE " + t.qname + " (lead_id " + idt +
                      " PRIMARY KEY, score float8 NOT NULL, fit float8 NOT NULL, activity float8 NOT NULL, grade text, "
                      "stage text NOT NULL, disqualified boolean NOT NULL, rfm_code text, rfm_segment text, "
                      "as_of timestamptz NOT NULL, changed_at timestamptz NOT NULL)";
    std::string idx = target_indexes_ddl(t) + "COMMENT ON TABLE " + t.qname + " IS " +
                      quote_literal("Ranking of lead scoring model " + c.model +
                                    " (written by lead_scoring.refresh; rank and percentile: the view " + t.relname +
                                    "_ranked)");
    t.changed = true;
    if (dflt) {
        // The default target lives in lead_scoring's schema: created by the
        // extension owner, then handed to the model's owner.
        exec_owner(ddl);
        exec_owner(idx);
        pg_call([&] { t.relid = get_relname_relid(rv->relname, nsp); });
        exec_owner(ranked_view_ddl(t));
        std::string owner;
        const Oid owner_id = c.owner;
        pg_call([&] { owner = GetUserNameFromId(owner_id, false); });
        exec_owner("ALTER TABLE " + t.qname + " OWNER TO " + quote_ident(owner) + "; ALTER VIEW " + t.vname +
                   " OWNER TO " + quote_ident(owner));
        // DROP EXTENSION then names this table (and CASCADE drops it) instead of
        // leaving it behind in schema lead_scoring, which the extension does not own.
        const char* relname = rv->relname;
        pg_call([&] {
            ObjectAddress tab, ext;
            ObjectAddressSet(tab, RelationRelationId, get_relname_relid(relname, nsp));
            ObjectAddressSet(ext, ExtensionRelationId, get_extension_oid("lead_scoring", false));
            recordDependencyOn(&tab, &ext, DEPENDENCY_NORMAL);
        });
    } else {
        exec(ddl);
        exec(idx);
        pg_call([&] { t.relid = get_relname_relid(rv->relname, nsp); });
        exec(ranked_view_ddl(t));
    }
    return t;
}

// Text form of lead ids (for stage_history and the leaderboard).
std::vector<std::string> ids_as_text(const Ctx& c, const Leads& L, const std::vector<uint32_t>& which) {
    std::vector<std::string> out(which.size());
    Oid outfn = InvalidOid;
    bool varlena = false;
    const Oid t = c.src.id_type;
    pg_call([&] { getTypeOutputInfo(t, &outfn, &varlena); });
    for (size_t i = 0; i < which.size(); ++i) {
        if ((i & 0xffff) == 0xffff) ls::pg::check_interrupts();
        const char* s = nullptr;
        const std::string& k = L.key[which[i]];
        pg_call([&] { s = OidOutputFunctionCall(outfn, key_datum(t, k.data(), k.size())); });
        out[i] = s;
    }
    return out;
}

Datum text_array(const std::vector<std::string>& v, const std::vector<unsigned char>* isnull = nullptr) {
    Datum volatile out = 0;
    pg_call([&] {
        const int n = static_cast<int>(v.size());
        Datum* d = static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1)));
        bool* nl = static_cast<bool*>(palloc0(n + 1));
        for (int i = 0; i < n; ++i) {
            if (isnull && (*isnull)[i]) {
                nl[i] = true;
                continue;
            }
            d[i] = PointerGetDatum(cstring_to_text_with_len(v[i].data(), static_cast<int>(v[i].size())));
        }
        int dims[1] = {n};
        int lbs[1] = {1};
        out = PointerGetDatum(construct_md_array(d, nl, 1, dims, lbs, TEXTOID, -1, false, 'i'));
    });
    return out;
}

// ---------------------------------------------------------------- diffing the ranking

// A recomputed lead's current ranking row, as far as the stage history and
// the funnel need it.
struct OldRow {
    bool present = false;
    std::string stage;
};

// Numbers equal to 1e-12 relative: the same lead recomputed from its rows read
// in another order (an index scan instead of a sequential one) may differ in
// the last bits, which is no change (doc/rank.md, "Exact").
bool same_number(double a, double b) {
    if (a == b) return true;
    return std::fabs(a - b) <= 1e-12 * std::max(std::fabs(a), std::fabs(b));
}

struct Diff {
    std::vector<uint32_t> inserts, updates;  // lead indexes in L
    std::vector<std::string> delete_keys;    // key bytes
    std::vector<OldRow> old;                 // per lead in L (present: it had a row)
    std::vector<uint32_t> deleted_in_L;      // deleted rows of leads in L (gone from the sources)
    int64 qualified_delta = 0;               // change in the number of qualified rows
};

// Compares the current target rows of the leads in L (all rows when `all`)
// with the new rows. rows[i] is valid where L.alive[i].
Diff diff_target(Ctx& c, const Leads& L, const std::vector<ls::RankingRow>& rows, const Target& t, bool all,
                 Datum ids) {
    Diff d;
    d.old.resize(L.size());
    std::vector<unsigned char> seen(L.size(), 0);
    Params p;
    if (!all) p.add(c.src.id_array_type, ids);
    Cursor cur;
    cur.open("SELECT t.lead_id, t.score, t.fit, t.activity, t.grade, t.stage, t.disqualified, t.rfm_code, t.rfm_segment "
             "FROM " + t.qname + " t" + (all ? "" : " WHERE t.lead_id OPERATOR(pg_catalog.=) ANY ($1)"),
             all ? nullptr : &p);
    std::string k;
    auto text_eq = [&](uint64 r, int col, const std::string* want) {
        if (cur.null(r, col)) return want == nullptr;
        if (!want) return false;
        text* x = reinterpret_cast<text*>(DatumGetPointer(cur.at(r, col)));
        return VARSIZE_ANY_EXHDR(x) == want->size() && memcmp(VARDATA_ANY(x), want->data(), want->size()) == 0;
    };
    while (cur.next()) {
        for (uint64 r = 0; r < cur.n; ++r) {
            if (cur.null(r, 0)) continue;
            key_of(c.src.id_type, cur.at(r, 0), &k);
            const int i = L.find(k);
            const bool dq = !cur.null(r, 6) && DatumGetBool(cur.at(r, 6));
            const std::string stage = cur.null(r, 5) ? std::string() : text_of(cur.at(r, 5));
            if (!dq) d.qualified_delta--;
            if (i >= 0) {
                OldRow& o = d.old[i];
                o.present = true;
                o.stage = stage;
            }
            if (i < 0 || !L.alive[i]) {
                d.delete_keys.push_back(k);
                if (i >= 0) d.deleted_in_L.push_back(static_cast<uint32_t>(i));
                continue;
            }
            seen[i] = 1;
            const ls::RankingRow& n = rows[i];
            const std::string* code = n.rfm_code.empty() ? nullptr : &n.rfm_code;
            const bool same = !cur.null(r, 1) && same_number(DatumGetFloat8(cur.at(r, 1)), n.score) &&
                              !cur.null(r, 2) && same_number(DatumGetFloat8(cur.at(r, 2)), n.fit) &&
                              !cur.null(r, 3) && same_number(DatumGetFloat8(cur.at(r, 3)), n.activity) &&
                              text_eq(r, 4, n.grade) && text_eq(r, 5, n.stage) && !cur.null(r, 6) &&
                              dq == n.disqualified && text_eq(r, 7, code) && text_eq(r, 8, n.rfm_segment);
            if (!same) d.updates.push_back(static_cast<uint32_t>(i));
        }
    }
    cur.close();
    for (size_t i = 0; i < L.size(); ++i) {
        if (!L.alive[i]) continue;
        if (!seen[i]) d.inserts.push_back(static_cast<uint32_t>(i));
        if (!rows[i].disqualified) d.qualified_delta++;
    }
    return d;
}

// Deletes, updates and inserts exactly the rows the diff found; returns how many.
int64 write_target(Ctx& c, const Leads& L, const std::vector<ls::RankingRow>& rows, const Target& t, const Diff& d) {
    int64 written = 0;
    const Oid idt = c.src.id_type;
    if (!d.delete_keys.empty()) {
        Leads tmp(id_width(idt));
        for (const std::string& k : d.delete_keys) tmp.add(k);
        std::vector<uint32_t> idx(tmp.size());
        for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<uint32_t>(i);
        Params p;
        p.add(c.src.id_array_type, ids_array(c, tmp, idx));
        written += static_cast<int64>(exec("DELETE FROM " + t.qname + " WHERE lead_id OPERATOR(pg_catalog.=) ANY ($1)", &p));
    }
    const std::string from =
        " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), "
        "pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8), "
        "pg_catalog.unnest($9)) AS u(i, s, f, a, g, st, dq, rc, rs)";
    const std::string upd = "UPDATE " + t.qname + " t SET score = u.s, fit = u.f, activity = u.a, grade = u.g, stage = u.st, "
                            "disqualified = u.dq, rfm_code = u.rc, rfm_segment = u.rs, as_of = $10, changed_at = "
                            "pg_catalog.now()" + from + " WHERE t.lead_id OPERATOR(pg_catalog.=) u.i";
    const std::string ins = "INSERT INTO " + t.qname +
                            " (lead_id, score, fit, activity, grade, stage, disqualified, rfm_code, rfm_segment, as_of, "
                            "changed_at) SELECT u.*, $10, pg_catalog.now()" + from;
    const TimestampTz tick = c.tick;
    MemoryContext chunk = new_chunk_context();
    for (int pass = 0; pass < 2; ++pass) {
        const std::vector<uint32_t>& which = pass == 0 ? d.updates : d.inserts;
        for (size_t a = 0; a < which.size(); a += kWriteChunk) {
            const size_t b = std::min(which.size(), a + kWriteChunk);
            Params p;
            pg_call([&] {
                const int n = static_cast<int>(b - a);
                int dims[1] = {n};
                int lbs[1] = {1};
                MemoryContext old = MemoryContextSwitchTo(chunk);
                auto arr = [n] { return static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1))); };
                Datum *ids = arr(), *score = arr(), *fit = arr(), *act = arr(), *grade = arr(), *stage = arr(),
                      *dq = arr(), *code = arr(), *seg = arr();
                bool* gn = static_cast<bool*>(palloc0(n + 1));
                bool* cn = static_cast<bool*>(palloc0(n + 1));
                bool* sn = static_cast<bool*>(palloc0(n + 1));
                for (int j = 0; j < n; ++j) {
                    const uint32_t i = which[a + j];
                    const ls::RankingRow& r = rows[i];
                    const std::string& k = L.key[i];
                    ids[j] = key_datum(idt, k.data(), k.size());
                    score[j] = Float8GetDatum(r.score);
                    fit[j] = Float8GetDatum(r.fit);
                    act[j] = Float8GetDatum(r.activity);
                    if (r.grade) grade[j] = PointerGetDatum(cstring_to_text_with_len(r.grade->data(), r.grade->size()));
                    else gn[j] = true;
                    stage[j] = PointerGetDatum(cstring_to_text_with_len(r.stage->data(), r.stage->size()));
                    dq[j] = BoolGetDatum(r.disqualified);
                    if (!r.rfm_code.empty())
                        code[j] = PointerGetDatum(cstring_to_text_with_len(r.rfm_code.data(), r.rfm_code.size()));
                    else cn[j] = true;
                    if (r.rfm_segment)
                        seg[j] = PointerGetDatum(cstring_to_text_with_len(r.rfm_segment->data(), r.rfm_segment->size()));
                    else sn[j] = true;
                }
                int16 typlen;
                bool byval;
                char align;
                get_typlenbyvalalign(idt, &typlen, &byval, &align);
                auto md = [&](Datum* dd, bool* nulls, Oid et, int16 len, bool bv, char al) {
                    return PointerGetDatum(construct_md_array(dd, nulls, 1, dims, lbs, et, len, bv, al));
                };
                p.add(get_array_type(idt), md(ids, nullptr, idt, typlen, byval, align));
                p.add(FLOAT8ARRAYOID, md(score, nullptr, FLOAT8OID, 8, FLOAT8PASSBYVAL, 'd'));
                p.add(FLOAT8ARRAYOID, md(fit, nullptr, FLOAT8OID, 8, FLOAT8PASSBYVAL, 'd'));
                p.add(FLOAT8ARRAYOID, md(act, nullptr, FLOAT8OID, 8, FLOAT8PASSBYVAL, 'd'));
                p.add(TEXTARRAYOID, md(grade, gn, TEXTOID, -1, false, 'i'));
                p.add(TEXTARRAYOID, md(stage, nullptr, TEXTOID, -1, false, 'i'));
                p.add(BOOLARRAYOID, md(dq, nullptr, BOOLOID, 1, true, 'c'));
                p.add(TEXTARRAYOID, md(code, cn, TEXTOID, -1, false, 'i'));
                p.add(TEXTARRAYOID, md(seg, sn, TEXTOID, -1, false, 'i'));
                p.add(TIMESTAMPTZOID, TimestampTzGetDatum(tick));
                MemoryContextSwitchTo(old);
            });
            written += static_cast<int64>(exec(pass == 0 ? upd : ins, &p));
            pg_call([&] { MemoryContextReset(chunk); });
            ls::pg::check_interrupts();
        }
    }
    pg_call([&] { MemoryContextDelete(chunk); });
    return written;
}

// Leads whose only change is their RFM code (the cut points moved): their code
// and segment, written where they differ.
int64 write_rfm_only(Ctx& c, const Target& t, const Leads& R, const std::vector<std::string>& codes,
                     const std::vector<const std::string*>& segs) {
    if (R.size() == 0) return 0;
    std::vector<uint32_t> idx(R.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<uint32_t>(i);
    std::vector<std::string> cv(codes), sv(R.size());
    std::vector<unsigned char> cnull(R.size()), snull(R.size());
    for (size_t i = 0; i < R.size(); ++i) {
        cnull[i] = codes[i].empty();
        snull[i] = segs[i] == nullptr;
        if (segs[i]) sv[i] = *segs[i];
    }
    Params p;
    p.add(c.src.id_array_type, ids_array(c, R, idx));
    p.add(TEXTARRAYOID, text_array(cv, &cnull));
    p.add(TEXTARRAYOID, text_array(sv, &snull));
    p.add(TIMESTAMPTZOID, TimestampTzGetDatum(c.tick));
    return static_cast<int64>(exec("UPDATE " + t.qname + " t SET rfm_code = u.c, rfm_segment = u.s, as_of = $4, "
                                   "changed_at = pg_catalog.now() FROM ROWS FROM (pg_catalog.unnest($1), "
                                   "pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(i, c, s) WHERE t.lead_id "
                                   "OPERATOR(pg_catalog.=) u.i AND (t.rfm_code, t.rfm_segment) IS DISTINCT FROM (u.c, u.s)",
                                   &p));
}

void write_stage_history(Ctx& c, const Leads& L, const std::vector<ls::RankingRow>& rows, const Diff& d, bool first) {
    if (first) return;
    std::vector<uint32_t> which;
    std::vector<std::string> from, to;
    std::vector<unsigned char> from_null;
    for (const std::vector<uint32_t>* v : {&d.updates, &d.inserts}) {
        for (uint32_t i : *v) {
            const OldRow& o = d.old[i];
            if (o.present && o.stage == *rows[i].stage) continue;
            which.push_back(i);
            from.push_back(o.present ? o.stage : std::string());
            from_null.push_back(o.present ? 0 : 1);
            to.push_back(*rows[i].stage);
        }
    }
    if (which.empty()) return;
    std::vector<std::string> ids = ids_as_text(c, L, which);
    Params p;
    p.add(TEXTOID, text_datum(c.model));
    p.add(TIMESTAMPTZOID, TimestampTzGetDatum(c.as_of));
    p.add(TEXTARRAYOID, text_array(ids));
    p.add(TEXTARRAYOID, text_array(from, &from_null));
    p.add(TEXTARRAYOID, text_array(to));
    exec_owner("INSERT INTO lead_scoring.stage_history (lead_id, model, from_stage, to_stage, changed_at) "
               "SELECT u.i, $1, u.f, u.t, $2 FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4), "
               "pg_catalog.unnest($5)) AS u(i, f, t)",
               &p);
}

// Whether the written leads can change the leaderboard: one of them is on it,
// or is qualified and scores at least as high as its last entry (or it is not full).
bool leaderboard_touched(Ctx& c, const Leads& L, const std::vector<ls::RankingRow>& rows, const Diff& d) {
    Params p;
    p.add(TEXTOID, text_datum(c.model));
    const uint64 n = exec_owner("SELECT e.lead_id, e.score FROM lead_scoring.leaderboard_entries e WHERE e.model "
                                "OPERATOR(pg_catalog.=) $1", &p);
    std::unordered_set<std::string> on;
    double lowest = HUGE_VAL;
    for (uint64 r = 0; r < n; ++r) {
        const uint64 row = r;
        char* v = nullptr;
        double sc = 0;
        pg_call([&] {
            bool isnull;
            v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 1);
            sc = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 2, &isnull));
        });
        on.insert(v);
        lowest = std::min(lowest, sc);
    }
    const bool room = static_cast<int64>(n) < g_leaderboard_size;
    std::vector<uint32_t> w(d.updates);
    w.insert(w.end(), d.inserts.begin(), d.inserts.end());
    for (uint32_t i : w)
        if (!rows[i].disqualified && (room || rows[i].score >= lowest)) return true;
    w.insert(w.end(), d.deleted_in_L.begin(), d.deleted_in_L.end());
    std::vector<std::string> ids = ids_as_text(c, L, w);
    for (const std::string& id : ids)
        if (on.count(id)) return true;
    return false;
}

// The top leaderboard_size leads (rank() <= size, from the index on score) with
// their reasons: matched fit rules (re-read from their rows) and activity points
// per event type at the tick (from their events).
void write_leaderboard(Ctx& c, const Target& t) {
    Params del;
    del.add(TEXTOID, text_datum(c.model));
    exec_owner("DELETE FROM lead_scoring.leaderboard_entries WHERE model OPERATOR(pg_catalog.=) $1", &del);
    if (g_leaderboard_size <= 0) return;
    Leads T(id_width(c.src.id_type));
    T.m = c.m;
    T.ns = c.m->slots.size() + 1;
    T.stride = ls::state_stride(T.ns);
    struct Top {
        int64 rank;
        double score, fit, activity;
        bool has_grade;
        std::string grade, stage;
    };
    std::vector<Top> tops;
    {
        Params p;
        p.add(INT8OID, Int64GetDatum(g_leaderboard_size));
        Cursor cur;
        cur.open("SELECT q.lead_id, q.r, q.score, q.fit, q.activity, q.grade, q.stage FROM (SELECT t.lead_id, t.score, "
                 "t.fit, t.activity, t.grade, t.stage, pg_catalog.rank() OVER (ORDER BY t.score DESC) AS r FROM " +
                     t.qname + " t WHERE NOT t.disqualified) q WHERE q.r OPERATOR(pg_catalog.<=) $1",
                 &p);
        std::string k;
        while (cur.next()) {
            for (uint64 r = 0; r < cur.n; ++r) {
                key_of(c.src.id_type, cur.at(r, 0), &k);
                T.add(k);
                Top x;
                x.rank = DatumGetInt64(cur.at(r, 1));
                x.score = DatumGetFloat8(cur.at(r, 2));
                x.fit = DatumGetFloat8(cur.at(r, 3));
                x.activity = DatumGetFloat8(cur.at(r, 4));
                x.has_grade = !cur.null(r, 5);
                if (x.has_grade) x.grade = text_of(cur.at(r, 5));
                x.stage = text_of(cur.at(r, 6));
                tops.push_back(std::move(x));
            }
        }
        cur.close();
    }
    if (tops.empty()) return;
    std::vector<uint32_t> top(T.size());
    for (size_t i = 0; i < top.size(); ++i) top[i] = static_cast<uint32_t>(i);
    Datum ids = ids_array(c, T, top);
    std::unordered_map<uint32_t, std::vector<int>> matched;
    for_each_lead_attributes(c, T, ids, true, false, [&](uint32_t i, const ls::Value* vals) {
        ls::fit_matches(*c.m, vals, &matched[i]);
    });
    const uint64 events_read = c.events_read;
    read_events(c, T, ids, true);
    c.events_read = events_read;
    const double scale = ls::rescale_factor(*c.m, c.ref, c.tick);
    // Events of types not listed in the spec all add to the wildcard ("*") slot;
    // a reason names their real types, as activity_breakdown does.
    std::unordered_map<uint32_t, std::map<std::string, double>> wild;
    const int wslot = static_cast<int>(c.m->slots.size());
    if (c.src.events.present) {
        bool any = false;
        for (uint32_t i : top) any = any || T.flags(i)[wslot];
        if (any) {
            const Column* lid = c.src.events.col("lead_id");
            const Column* ty = c.src.events.col("type");
            const Column* tm = c.src.events.col("time");
            const std::string more = "e." + ty->q + " IS NOT NULL AND e." + tm->q + " IS NOT NULL";
            const std::string sql = "SELECT e." + lid->q + ", e." + ty->q + "::pg_catalog.text, e." + tm->q + " FROM " +
                                    c.src.events.qname + " e" + any_filter("e." + lid->q, true, more.c_str());
            SlotCache slots{c.m, {}};
            const int64 as_of = c.as_of, tick = c.tick;
            for_each_lead_row(c, T, sql, ids, true, [&](const Cursor& cur, uint64 r, uint32_t i) {
                text* tx = reinterpret_cast<text*>(DatumGetPointer(cur.at(r, 1)));
                if (slots.slot(VARDATA_ANY(tx), VARSIZE_ANY_EXHDR(tx)) != wslot) return;
                const int64 when = DatumGetTimestampTz(cur.at(r, 2));
                if (when > as_of) return;
                const double age = seconds(tick - ls::effective_time_us(when, tick));
                if (!ls::event_counts(*c.m, age)) return;
                wild[i][std::string(VARDATA_ANY(tx), VARSIZE_ANY_EXHDR(tx))] += ls::event_points(*c.m, wslot, age);
            });
        }
    }
    std::vector<std::string> idt = ids_as_text(c, T, top);
    std::vector<std::string> reasons;
    for (size_t x = 0; x < top.size(); ++x) {
        const uint32_t i = top[x];
        std::string js = "{\"fit\": [";
        bool firstr = true;
        for (int ri : matched[i]) {
            const ls::Rule& rule = c.m->fit.rules[ri];
            if (!firstr) js += ", ";
            firstr = false;
            js += "{\"field\": ";
            ls::append_json_string(&js, rule.field);
            js += ", \"label\": ";
            if (rule.label.empty()) js += "null";
            else ls::append_json_string(&js, rule.label);
            js += ", \"points\": ";
            ls::append_json_number(&js, rule.points);
            js += "}";
        }
        js += "], \"activity\": {";
        bool firsta = true;
        for (size_t s = 0; s < T.ns; ++s) {
            if (!T.flags(i)[s]) continue;
            auto w = wild.find(i);
            if (static_cast<int>(s) == wslot && w != wild.end() && !w->second.empty()) {
                for (const auto& kv : w->second) {  // the wildcard is never capped
                    if (!firsta) js += ", ";
                    firsta = false;
                    ls::append_json_string(&js, kv.first);
                    js += ": ";
                    ls::append_json_number(&js, kv.second);
                }
                continue;
            }
            double v = ls::cap_value(T.sums(i)[s] * scale, c.m->slot_cap[s]);
            if (!firsta) js += ", ";
            firsta = false;
            ls::append_json_string(&js, s < c.m->slots.size() ? c.m->slots[s] : std::string("*"));
            js += ": ";
            ls::append_json_number(&js, v);
        }
        js += "}}";
        reasons.push_back(std::move(js));
    }
    // One statement for all the entries.
    std::vector<std::string> ranks, scores, fits, acts, grades, stages;
    std::vector<unsigned char> gnull;
    for (const Top& r : tops) {
        ranks.push_back(std::to_string(r.rank));
        std::string n;
        ls::append_json_number(&n, r.score);
        scores.push_back(n);
        n.clear();
        ls::append_json_number(&n, r.fit);
        fits.push_back(n);
        n.clear();
        ls::append_json_number(&n, r.activity);
        acts.push_back(n);
        grades.push_back(r.grade);
        gnull.push_back(r.has_grade ? 0 : 1);
        stages.push_back(r.stage);
    }
    Params p;
    p.add(TEXTOID, text_datum(c.model));
    p.add(TEXTARRAYOID, text_array(idt));
    p.add(TEXTARRAYOID, text_array(ranks));
    p.add(TEXTARRAYOID, text_array(scores));
    p.add(TEXTARRAYOID, text_array(fits));
    p.add(TEXTARRAYOID, text_array(acts));
    p.add(TEXTARRAYOID, text_array(grades, &gnull));
    p.add(TEXTARRAYOID, text_array(stages));
    p.add(TEXTARRAYOID, text_array(reasons));
    p.add(TIMESTAMPTZOID, TimestampTzGetDatum(c.tick));
    exec_owner("INSERT INTO lead_scoring.leaderboard_entries (model, lead_id, rank, score, fit, activity, grade, stage, "
               "reasons, as_of) SELECT $1, u.i, u.r::pg_catalog.int8, u.s::pg_catalog.float8, u.f::pg_catalog.float8, "
               "u.a::pg_catalog.float8, u.g, u.st, u.js::pg_catalog.jsonb, $10 FROM ROWS FROM (pg_catalog.unnest($2), "
               "pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), "
               "pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9)) AS u(i, r, s, f, a, g, st, js)",
               &p);
}

// Funnel rows: stage -> (leads, converted).
using FunnelCounts = std::map<std::string, std::pair<int64, int64>>;

// position: default stage 0, stages from the last listed (1) to the first
// listed (n), disqualified -1.
std::vector<std::pair<std::string, int>> funnel_stages(const ls::Model& m) {
    std::vector<std::pair<std::string, int>> stages;
    std::unordered_set<std::string> done;
    const int ns = static_cast<int>(m.stages.size());
    for (int k = 0; k < ns; ++k)
        if (done.insert(m.stages[k].stage).second) stages.emplace_back(m.stages[k].stage, ns - k);
    if (done.insert(m.default_stage).second) stages.emplace_back(m.default_stage, 0);
    if (done.insert("disqualified").second) stages.emplace_back("disqualified", -1);
    return stages;
}

FunnelCounts read_funnel(Ctx& c) {
    FunnelCounts f;
    Params p;
    p.add(TEXTOID, text_datum(c.model));
    const uint64 n = exec_owner("SELECT f.stage, f.leads, COALESCE(f.converted, 0::pg_catalog.int8) FROM "
                                "lead_scoring.funnel_counts f WHERE f.model OPERATOR(pg_catalog.=) $1", &p);
    for (uint64 r = 0; r < n; ++r) {
        const uint64 row = r;
        char* s = nullptr;
        int64 leads = 0, conv = 0;
        pg_call([&] {
            bool isnull;
            s = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 1);
            leads = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 2, &isnull));
            conv = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 3, &isnull));
        });
        f[s] = {leads, conv};
    }
    return f;
}

// Writes the funnel rows whose counts differ from `old` (all of them when `all`).
void write_funnel(Ctx& c, const FunnelCounts& now, const FunnelCounts& old, bool all) {
    const bool mapped = c.src.conversions.present;
    if (all) {
        Params del;
        del.add(TEXTOID, text_datum(c.model));
        exec_owner("DELETE FROM lead_scoring.funnel_counts WHERE model OPERATOR(pg_catalog.=) $1", &del);
    }
    for (const auto& st : funnel_stages(*c.m)) {
        auto it = now.find(st.first);
        const std::pair<int64, int64> v = it == now.end() ? std::pair<int64, int64>{0, 0} : it->second;
        if (!all) {
            auto o = old.find(st.first);
            if (o != old.end() && o->second == v) continue;
        }
        Params p;
        p.add(TEXTOID, text_datum(c.model));
        p.add(TEXTOID, text_datum(st.first));
        p.add(INT4OID, Int32GetDatum(st.second));
        p.add(INT8OID, Int64GetDatum(v.first));
        p.add(INT8OID, Int64GetDatum(v.second), !mapped);
        p.add(TIMESTAMPTZOID, TimestampTzGetDatum(c.tick));
        exec_owner("INSERT INTO lead_scoring.funnel_counts (model, stage, position, leads, converted, as_of) "
                   "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (model, stage) DO UPDATE SET position = EXCLUDED.position, "
                   "leads = EXCLUDED.leads, converted = EXCLUDED.converted, as_of = EXCLUDED.as_of",
                   &p);
    }
}

// ---------------------------------------------------------------- capture triggers

// ls_<model>_<ins|upd|del|trunc>: at most 57 bytes, under NAMEDATALEN.
std::string trigger_prefix(const Ctx& c) { return "ls_" + c.model + "_"; }

constexpr const char* kCaptureUnavailable = "change capture unavailable: ";

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

// ---------------------------------------------------------------- the refresh

struct PrevState {
    bool exists = false, same_spec = false, capture = false, v2 = false;
    std::string sources;
    Oid target = InvalidOid, state_table = InvalidOid;
    TimestampTz ref = 0, as_of = 0, tick = 0;
    bool has_next_due = false;
    TimestampTz next_due = 0;
    int64 qualified = 0;
    std::vector<double> breaks;  // RFM cut points (ls::encode_breaks)
};

PrevState read_prev(const Ctx& c, Datum spec) {
    PrevState ps;
    Params p;
    p.add(TEXTOID, text_datum(c.model));
    p.add(JSONBOID, spec);
    uint64 n = exec_owner("SELECT s.spec OPERATOR(pg_catalog.=) $2, s.sources, s.target, s.state_table, s.ref_time, "
                          "s.as_of, s.capture, s.tick_start, s.next_due, s.qualified, s.rfm_breaks "
                          "FROM lead_scoring.refresh_state s WHERE s.model OPERATOR(pg_catalog.=) $1",
                          &p, true);
    if (n != 1) return ps;
    ps.exists = true;
    pg_call([&] {
        HeapTuple tup = SPI_tuptable->vals[0];
        TupleDesc td = SPI_tuptable->tupdesc;
        bool isnull;
        ps.same_spec = DatumGetBool(SPI_getbinval(tup, td, 1, &isnull));
        ps.target = DatumGetObjectId(SPI_getbinval(tup, td, 3, &isnull));
        ps.state_table = DatumGetObjectId(SPI_getbinval(tup, td, 4, &isnull));
        ps.ref = DatumGetTimestampTz(SPI_getbinval(tup, td, 5, &isnull));
        ps.as_of = DatumGetTimestampTz(SPI_getbinval(tup, td, 6, &isnull));
        ps.capture = DatumGetBool(SPI_getbinval(tup, td, 7, &isnull));
        Datum tk = SPI_getbinval(tup, td, 8, &isnull);
        ps.v2 = !isnull;
        if (!isnull) ps.tick = DatumGetTimestampTz(tk);
        Datum nd = SPI_getbinval(tup, td, 9, &isnull);
        ps.has_next_due = !isnull;
        if (!isnull) ps.next_due = DatumGetTimestampTz(nd);
        Datum q = SPI_getbinval(tup, td, 10, &isnull);
        if (isnull) ps.v2 = false;
        else ps.qualified = DatumGetInt64(q);
        Datum b = SPI_getbinval(tup, td, 11, &isnull);
        if (!isnull) {
            ArrayType* a = DatumGetArrayTypeP(b);
            Datum* el;
            bool* nl;
            int ne;
            deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, 'd', &el, &nl, &ne);
            for (int k = 0; k < ne; ++k) ps.breaks.push_back(nl[k] ? 0.0 : DatumGetFloat8(el[k]));
        }
    });
    char* src = nullptr;
    pg_call([&] { src = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2); });
    ps.sources = src ? src : "";
    return ps;
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

Oid ensure_state_table(Ctx& c, const std::string& qname, const std::string& relname, bool recreate) {
    Oid relid = InvalidOid;
    const char* rn = relname.c_str();
    pg_call([&] { relid = get_relname_relid(rn, get_namespace_oid(kStateSchema, false)); });
    if (recreate && OidIsValid(relid)) exec_owner("DROP TABLE " + qname);
    exec_owner("CREATE TABLE IF NOT EXISTS " + qname + " (lead_id " + type_name(c.src.id_type) +
               (recreate ? "" : " PRIMARY KEY") + ", fit float8 NOT NULL, rule_dq boolean NOT NULL, sums bytea NOT NULL, flags bytea NOT NULL, "
               "next_at bigint NOT NULL, last_order bigint NOT NULL, n_orders float8 NOT NULL, amount float8 NOT NULL, "
               "converted boolean NOT NULL, last_event bigint NOT NULL)");
    pg_call([&] { relid = get_relname_relid(rn, get_namespace_oid(kStateSchema, false)); });
    return relid;
}

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

// The source tables with no index on their lead id column (leads: id) to read
// the changed leads' rows by: an incremental refresh scans each of them. Says
// so in a NOTICE; returns the text for refresh_log.reason ("" when all have one).
std::string missing_lead_indexes(Ctx& c) {
    std::string out;
    for (const Source* s : {&c.src.leads, &c.src.events, &c.src.orders, &c.src.conversions}) {
        if (!s->present || (s->relkind != RELKIND_RELATION && s->relkind != RELKIND_PARTITIONED_TABLE)) continue;
        const Column* col = s->role == "leads" ? s->col("id") : s->col("lead_id");
        Params p;
        p.add(OIDOID, ObjectIdGetDatum(s->relid));
        p.add(INT2OID, Int16GetDatum(col->attnum));
        exec("SELECT FROM pg_catalog.pg_index i WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND i.indkey[0] "
             "OPERATOR(pg_catalog.=) $2 AND i.indpred IS NULL AND i.indisvalid LIMIT 1",
             &p, true);
        if (SPI_processed > 0) continue;
        const std::string what = s->qname + " (" + col->q + ")";
        const char* w = what.c_str();
        pg_call([&] {
            ereport(NOTICE, (errmsg("lead_scoring.refresh: no index on %s: every incremental refresh scans the table", w),
                             errhint("CREATE INDEX ON %s;", w)));
        });
        out += (out.empty() ? "no index on " : ", ") + what;
    }
    return out;
}

// Copies lead i of `from` (its id, state and order summary) into `to`.
void copy_lead(const Leads& from, uint32_t i, Leads& to) {
    const uint32_t j = to.add(from.key[i]);
    to.fit[j] = from.fit[i];
    to.rule_dq[j] = from.rule_dq[i];
    to.converted[j] = from.converted[i];
    std::copy(&from.state[i * from.stride], &from.state[i * from.stride] + from.stride, &to.state[j * to.stride]);
    to.next_at[j] = from.next_at[i];
    to.last_order[j] = from.last_order[i];
    to.last_event[j] = from.last_event[i];
    to.n_orders[j] = from.n_orders[i];
    to.amount[j] = from.amount[i];
    to.in_state[j] = from.in_state[i];
}

bool same_orders(int64 lo1, double n1, double a1, int64 lo2, double n2, double a2) {
    return lo1 == lo2 && n1 == n2 && (a1 == a2 || (std::isnan(a1) && std::isnan(a2)));
}

// Lead i of L (alive) has the state lead j of Old had.
bool same_state(const Leads& L, uint32_t i, const Leads& Old, uint32_t j) {
    return Old.in_state[j] && L.fit[i] == Old.fit[j] && L.rule_dq[i] == Old.rule_dq[j] &&
           L.last_event[i] == Old.last_event[j] &&
           L.converted[i] == Old.converted[j] && L.next_at[i] == Old.next_at[j] &&
           same_orders(L.last_order[i], L.n_orders[i], L.amount[i], Old.last_order[j], Old.n_orders[j], Old.amount[j]) &&
           memcmp(&L.state[i * L.stride], &Old.state[j * Old.stride], L.stride * sizeof(double)) == 0;
}

double recency_days(int64 tick, int64 last_order) {
    return seconds(tick - ls::effective_time_us(last_order, tick)) / 86400.0;
}

Datum float8_array(const std::vector<double>& v) {
    Datum volatile out = 0;
    pg_call([&] {
        Datum* d = static_cast<Datum*>(palloc(sizeof(Datum) * (v.size() + 1)));
        for (size_t i = 0; i < v.size(); ++i) d[i] = Float8GetDatum(v[i]);
        out = PointerGetDatum(construct_array(d, static_cast<int>(v.size()), FLOAT8OID, 8, FLOAT8PASSBYVAL, 'd'));
    });
    return out;
}

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
        p.add(INT4OID, Int32GetDatum(g_log_retention));
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

}  // namespace

namespace ls::pg {
void refresh_init() {
    DefineCustomIntVariable("lead_scoring.log_retention",
                            "How long lead_scoring.refresh_log keeps rows (each refresh deletes its model's older rows).",
                            nullptr, &g_log_retention, 30 * 86400, 0, INT_MAX, PGC_USERSET, GUC_UNIT_S, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable("lead_scoring.leaderboard_size",
                            "How many of each model's best leads refresh writes to lead_scoring.leaderboard.", nullptr,
                            &g_leaderboard_size, 100, 0, 100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}
}  // namespace ls::pg

LS_FUNCTION(ls_refresh) {
    // The identity to give back lives on this frame (not in a global, which a
    // nested refresh would overwrite), and is given back on error too.
    ls::pg::SavedIdentity saved;
    GetUserIdAndSecContext(&saved.user, &saved.sec);
    int64 n = 0;
    try {
        n = do_refresh(fcinfo, &saved);
        ls::pg::pg_call([&] { ls::pg::leave_restricted(saved); });
    } catch (...) {
        ls::pg::leave_restricted_on_error(saved);
        throw;
    }
    if (n < 0) PG_RETURN_NULL();
    PG_RETURN_INT64(n);
}
