// lead_scoring.refresh: the per-lead state table (in lead_scoring_state, one
// per model: what an incremental refresh needs to rebuild a lead's row without
// its events) and the model's lead_scoring.refresh_state row.
//
// Error boundary: C++ objects are alive (called under ls_refresh's
// LS_FUNCTION); every PostgreSQL call runs inside pg_call.
#include "core/refresh_plan.hpp"

#include "pg/refresh_internal.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "access/heapam.h"
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
}

namespace ls::pg::refresh {

// ---------------------------------------------------------------- state table

// Per-lead state: what an incremental refresh needs to rebuild a lead's row
// without reading its events (sums and flags as raw bytes, times in µs).
// All rows, or (filtered) those of the leads in `ids` and those due at as_of
// (next_at <= as_of, found through the index on next_at).
void read_state(Ctx& c, Leads& L, const std::string& state, Datum ids, bool filtered) {
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

namespace {

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

}  // namespace

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

}  // namespace ls::pg::refresh
