// lead_scoring.refresh: reading the source tables (leads, events, orders,
// conversions) into the in-memory lead table, all of them or the changed
// leads' rows only; which sources lack an index on their lead id.
//
// Error boundary: C++ objects are alive (called under ls_refresh's
// LS_FUNCTION); every PostgreSQL call runs inside pg_call, cursors deform
// each batch so the C++ consuming it never calls PostgreSQL.
#include "core/fit.hpp"
#include "core/qualify.hpp"
#include "core/refresh_plan.hpp"

#include "pg/refresh_internal.hpp"

#include <string>

extern "C" {
#include "catalog/namespace.h"
}

namespace ls::pg::refresh {

// A call site of our own for attributes_from_row, one per query: its cached
// row mapping (a tuple descriptor copy) then never outlives the statement whose
// row type it describes, even when DDL in this refresh invalidated the type cache.
ls::pg::CallSite* fresh_call_site() {
    ls::pg::CallSite* volatile cs = nullptr;
    pg_call([&] { cs = static_cast<ls::pg::CallSite*>(palloc0(sizeof(ls::pg::CallSite))); });
    return cs;
}

// Reads leads into L: fit and rule disqualification.
void read_leads(Ctx& c, Leads& L, Datum ids, bool filtered) {
    for_each_lead_attributes(c, L, ids, filtered, true, [&](uint32_t i, const ls::Value* vals) {
        L.alive[i] = 1;
        L.fit[i] = ls::fit_score(*c.m, vals);
        L.rule_dq[i] = ls::is_disqualified(*c.m, vals, nullptr) ? 1 : 0;
    });
}

namespace {

void note_future(Leads& L, uint32_t i, int64 t) {
    if (t < L.next_at[i]) L.next_at[i] = t;
}

}  // namespace

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

}  // namespace ls::pg::refresh
