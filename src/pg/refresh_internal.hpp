// lead_scoring.refresh's private header: what the refresh_*.cpp files share
// (the way pgvector's hnsw*.c share hnsw.h). Not included outside them.
//
//   refresh.cpp          do_refresh and ls_refresh: the order of the work
//   refresh_spi.cpp      SPI statements and cursors, the extension owner's
//                        bookkeeping, lead ids as keys, array Datums
//   refresh_target.cpp   the ranking table: resolution, creation, 0.1.0
//                        migration, the _ranked view
//   refresh_read.cpp     reading the source tables into Leads
//   refresh_state.cpp    the per-lead state table and the refresh_state row
//   refresh_write.cpp    diffing and writing the ranking, stage_history, the
//                        leaderboard and the funnel
//   refresh_capture.cpp  the change-capture triggers, consuming change_log and
//                        the read snapshot
//
// Error-boundary idiom of all of them: ls_refresh is an LS_FUNCTION (every C++
// exception becomes an ERROR); below it C++ objects are alive, so every
// PostgreSQL call that can raise an ERROR runs inside pg_call (which turns the
// ERROR into a PgError and rethrows it on the C++ side). A helper that says
// "call inside pg_call" makes PostgreSQL calls only.
//
// Self-contained: it includes the core headers first (they must precede
// PostgreSQL's), then pg/glue.hpp.
#pragma once

#include "core/lead_table.hpp"
#include "core/ranking.hpp"
#include "core/spec.hpp"
#include "core/value.hpp"

#include "pg/glue.hpp"
#include "pg/attributes.hpp"
#include "pg/capture.hpp"
#include "pg/identity.hpp"
#include "pg/resolve.hpp"

#include <map>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "access/htup_details.h"
#include "executor/spi.h"
#include "utils/memutils.h"
}

namespace ls::pg::refresh {

using ls::IdIndex;
using ls::kNever;
using ls::Leads;
using ls::SlotCache;
using ls::pg::pg_call;
using ls::pg::PgError;

// Sources are resolved by pg/resolve.cpp, shared with the evaluation functions.
using ls::pg::check_type;
using ls::pg::Column;
using ls::pg::parse_relname;
using ls::pg::pg_error;
using ls::pg::quote_ident;
using ls::pg::resolve_sources;
using ls::pg::Source;
using ls::pg::Sources;
using ls::pg::type_name;

// Per-model state tables live in a schema of their own on which no other role
// has USAGE: nobody can name them, so nobody can reference (and so pin against
// DROP) or read them; only the refresh, as the extension owner, uses them.
constexpr const char* kStateSchema = "lead_scoring_state";
constexpr size_t kWriteChunk = 50000;

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

// ---------------------------------------------------------------- refresh_spi.cpp

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

uint64 exec(const std::string& sql, const Params* p = nullptr, bool read_only = false);

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

uint64 exec_owner(const std::string& sql, const Params* p = nullptr, bool read_only = false);

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

    // Opens the cursor; as_owner: as the extension owner.
    void open(const std::string& sql, const Params* p, bool as_owner = false);
    // Fetches the next batch; false at the end.
    bool next();
    void close();
    Datum at(uint64 row, int col) const { return vals[row * natts + col]; }
    bool null(uint64 row, int col) const { return nulls[row * natts + col]; }
};

std::string quote_literal(const std::string& s);
std::string text_of(Datum d);
Datum text_datum(const std::string& s);
void key_of(Oid type, Datum d, std::string* out);
Datum key_datum(Oid type, const char* k, size_t len);
size_t id_width(Oid type);
double seconds(int64 us);
std::string any_filter(const std::string& col, bool filtered, const char* more);
Datum ids_array(const Ctx& c, const Leads& L, const std::vector<uint32_t>& which);
MemoryContext new_chunk_context();
std::vector<std::string> ids_as_text(const Ctx& c, const Leads& L, const std::vector<uint32_t>& which);
Datum text_array(const std::vector<std::string>& v, const std::vector<unsigned char>* isnull = nullptr);
Datum float8_array(const std::vector<double>& v);

// ---------------------------------------------------------------- refresh_read.cpp

// A call site of our own for attributes_from_row, one per query.
ls::pg::CallSite* fresh_call_site();

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

void read_leads(Ctx& c, Leads& L, Datum ids, bool filtered);
void read_events(Ctx& c, Leads& L, Datum ids, bool filtered);
void read_orders(Ctx& c, Leads& L, Datum ids, bool filtered);
void read_conversions(Ctx& c, Leads& L, Datum ids, bool filtered);
// The source tables with no index on their lead id column (NOTICE; the text
// for refresh_log.reason, "" when all have one).
std::string missing_lead_indexes(Ctx& c);

// ---------------------------------------------------------------- refresh_state.cpp

// The model's lead_scoring.refresh_state row as the last refresh left it.
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

PrevState read_prev(const Ctx& c, Datum spec);
void read_state(Ctx& c, Leads& L, const std::string& state, Datum ids = 0, bool filtered = false);
void write_state_bulk(Ctx& c, Leads& L, Oid relid);
void write_state(Ctx& c, Leads& L, const std::string& state, const std::vector<uint32_t>& rows);
Oid ensure_state_table(Ctx& c, const std::string& qname, const std::string& relname, bool recreate);
void copy_lead(const Leads& from, uint32_t i, Leads& to);
bool same_orders(int64 lo1, double n1, double a1, int64 lo2, double n2, double a2);
bool same_state(const Leads& L, uint32_t i, const Leads& Old, uint32_t j);
double recency_days(int64 tick, int64 last_order);

// ---------------------------------------------------------------- refresh_target.cpp

struct Target {
    Oid relid = InvalidOid;
    std::string qname;   // schema.table, quoted
    std::string vname;   // schema.table_ranked, quoted
    std::string schema, relname;
    bool existed = false;
    bool changed = false;  // created or migrated by this refresh
};

// Resolves the target table, creating it (and its _ranked view) when missing
// and updating a 0.1.0 table.
Target resolve_target(Ctx& c);

// ---------------------------------------------------------------- refresh_write.cpp

// A recomputed lead's current ranking row, as far as the stage history and
// the funnel need it.
struct OldRow {
    bool present = false;
    std::string stage;
};

struct Diff {
    std::vector<uint32_t> inserts, updates;  // lead indexes in L
    std::vector<std::string> delete_keys;    // key bytes
    std::vector<OldRow> old;                 // per lead in L (present: it had a row)
    std::vector<uint32_t> deleted_in_L;      // deleted rows of leads in L (gone from the sources)
    int64 qualified_delta = 0;               // change in the number of qualified rows
};

Diff diff_target(Ctx& c, const Leads& L, const std::vector<ls::RankingRow>& rows, const Target& t, bool all,
                 Datum ids);
int64 write_target(Ctx& c, const Leads& L, const std::vector<ls::RankingRow>& rows, const Target& t, const Diff& d);
int64 write_rfm_only(Ctx& c, const Target& t, const Leads& R, const std::vector<std::string>& codes,
                     const std::vector<const std::string*>& segs);
void write_stage_history(Ctx& c, const Leads& L, const std::vector<ls::RankingRow>& rows, const Diff& d, bool first);
bool leaderboard_touched(Ctx& c, const Leads& L, const std::vector<ls::RankingRow>& rows, const Diff& d);
void write_leaderboard(Ctx& c, const Target& t);
// Funnel rows: stage -> (leads, converted).
using FunnelCounts = std::map<std::string, std::pair<int64, int64>>;
FunnelCounts read_funnel(Ctx& c);
void write_funnel(Ctx& c, const FunnelCounts& now, const FunnelCounts& old, bool all);

// ---------------------------------------------------------------- refresh_capture.cpp

constexpr const char* kCaptureUnavailable = "change capture unavailable: ";

std::string ensure_capture(Ctx& c);
bool changes_pending(const Ctx& c);
bool consume_changes(Ctx& c, std::vector<std::string>* ids);
void see_own_writes();
void push_read_snapshot();

}  // namespace ls::pg::refresh
