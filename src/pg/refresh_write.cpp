// lead_scoring.refresh: diffing the recomputed leads against their current
// ranking rows and writing exactly the changed ones, then stage_history, the
// leaderboard and the funnel, in the refresh's transaction.
//
// Error boundary: C++ objects are alive (called under ls_refresh's
// LS_FUNCTION); every PostgreSQL call runs inside pg_call.
#include "core/activity.hpp"
#include "core/fit.hpp"
#include "core/refresh_plan.hpp"

#include "pg/guc.hpp"
#include "pg/refresh_internal.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

extern "C" {
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace ls::pg::refresh {

// ---------------------------------------------------------------- diffing the ranking

namespace {

// Numbers equal to 1e-12 relative: the same lead recomputed from its rows read
// in another order (an index scan instead of a sequential one) may differ in
// the last bits, which is no change (doc/rank.md, "Exact").
bool same_number(double a, double b) {
    if (a == b) return true;
    return std::fabs(a - b) <= 1e-12 * std::max(std::fabs(a), std::fabs(b));
}

}  // namespace

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
    const bool room = static_cast<int64>(n) < guc::leaderboard_size;
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
    if (guc::leaderboard_size <= 0) return;
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
        p.add(INT8OID, Int64GetDatum(guc::leaderboard_size));
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

namespace {

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

}  // namespace

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

}  // namespace ls::pg::refresh
