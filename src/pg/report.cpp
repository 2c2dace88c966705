// lead_scoring.report(model, converted_since, converted_before): reads the
// chart series with SPI from the same SQL functions the BI views use
// (install/75_report.sql) and hands them to the core, which draws the page
// (src/core/report.cpp, doc/report.md).
//
// Error boundary: LS_FUNCTION, with pg_call around every PostgreSQL call (the
// series are read into C++ containers).
#include "core/error.hpp"
#include "core/report.hpp"

#include "pg/glue.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
}

namespace {

using ls::pg::pg_call;

struct Cell {
    bool null = true;
    std::string v;
};
using Rows = std::vector<std::vector<Cell>>;

struct Args {
    Oid types[3] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
    Datum vals[3] = {0, 0, 0};
    char nulls[4] = {' ', ' ', ' ', '\0'};
};

Rows run(const char* sql, Args& a) {
    SPITupleTable* tt = nullptr;
    uint64 n = 0;
    pg_call([&] {
        int rc = SPI_execute_with_args(sql, 3, a.types, a.vals, a.nulls, true, 0);
        if (rc != SPI_OK_SELECT) elog(ERROR, "lead_scoring.report: SPI failed (%s)", SPI_result_code_string(rc));
        tt = SPI_tuptable;
        n = SPI_processed;
    });
    const int ncol = tt->tupdesc->natts;
    Rows rows;
    rows.reserve(n);
    for (uint64 i = 0; i < n; ++i) {
        ls::pg::check_interrupts();
        std::vector<Cell> r(static_cast<size_t>(ncol));
        for (int c = 0; c < ncol; ++c) {
            char* v = nullptr;
            pg_call([&] { v = SPI_getvalue(tt->vals[i], tt->tupdesc, c + 1); });
            if (v) {
                r[static_cast<size_t>(c)].null = false;
                r[static_cast<size_t>(c)].v = v;
                pg_call([&] { pfree(v); });
            }
        }
        rows.push_back(std::move(r));
    }
    pg_call([&] { SPI_freetuptable(tt); });
    return rows;
}

// float8 output text (shortest exact form) back to a double; NULL is NaN.
double dbl(const Cell& c) {
    if (c.null) return std::numeric_limits<double>::quiet_NaN();
    return std::strtod(c.v.c_str(), nullptr);
}
int64_t i64(const Cell& c) { return c.null ? 0 : std::strtoll(c.v.c_str(), nullptr, 10); }
const std::string& str(const Cell& c) { return c.v; }

#define LS_UTC(col) "pg_catalog.to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"')"

const char* const kHeaderSql =
    "SELECT " LS_UTC("s.as_of") ", " LS_UTC("s.ranking_as_of") ", " LS_UTC("s.outcome_before") ", s.split, "
    "o.leads, o.converted, o.auc, o.conversion_rate, " LS_UTC("pg_catalog.now()")
    " FROM lead_scoring.evaluation_split($1, $2, $3) s, lead_scoring.evaluate($1, $2, $3) o"
    " WHERE o.kind OPERATOR(pg_catalog.=) 'overall'";
const char* const kHistogramSql =
    "SELECT h.bin_low, h.bin_high, h.converted, h.not_converted FROM lead_scoring.score_histogram($1, $2, $3) h "
    "ORDER BY h.bin";
const char* const kGainsSql =
    "SELECT g.leads_share, g.conversions_share, g.leads, g.conversions FROM lead_scoring.gains_curve($1, $2, $3) g "
    "ORDER BY g.point";
const char* const kDecilesSql =
    "SELECT d.decile, d.leads, d.converted, d.conversion_rate FROM lead_scoring.decile_conversion($1, $2, $3) d "
    "ORDER BY d.decile";
const char* const kFunnelSql =
    "SELECT f.stage, f.\"position\", f.leads, f.converted, f.to_next_stage, f.conversion_rate "
    "FROM lead_scoring.stage_funnel($1, $2, $3) f "
    "ORDER BY f.\"position\" OPERATOR(pg_catalog.<) 0, f.\"position\"";
const char* const kFlowSql =
    "SELECT pg_catalog.to_char(f.week_start AT TIME ZONE 'UTC', 'YYYY-MM-DD'), f.stage, f.entered "
    "FROM lead_scoring.stage_flow($1) f ORDER BY f.week_start, f.stage";
const char* const kLiftSql =
    "SELECT a.field, a.value, a.leads, a.converted, a.rate, a.lift, a.ci_low, a.ci_high "
    "FROM lead_scoring.fit_attribute_lift($1, $2, $3) a";

}  // namespace

LS_FUNCTION(ls_report) {
    if (PG_ARGISNULL(0)) throw ls::Error(ls::ErrorCode::NullValue, "model name must not be NULL");
    text* name = PG_GETARG_TEXT_PP(0);  // detoasted before any C++ object exists
    Args a;
    a.vals[0] = PointerGetDatum(name);
    for (int i = 1; i < 3; ++i) {
        if (PG_ARGISNULL(i))
            a.nulls[i] = 'n';
        else
            a.vals[i] = PG_GETARG_DATUM(i);
    }

    ls::report::Data d;
    pg_call([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    });
    {
        Rows h = run(kHeaderSql, a);
        if (h.size() != 1) throw ls::Error(ls::ErrorCode::Internal, "lead_scoring.report: no overall evaluation row");
        const auto& r = h[0];
        d.header.model.assign(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
        d.header.as_of = str(r[0]);
        d.header.ranking_as_of = str(r[1]);
        d.header.outcome_before = str(r[2]);
        d.header.split = str(r[3]);
        d.header.leads = i64(r[4]);
        d.header.converted = i64(r[5]);
        d.header.auc = dbl(r[6]);
        d.base_rate = dbl(r[7]);
        d.header.generated_at = str(r[8]);
    }
    for (const auto& r : run(kHistogramSql, a))
        d.histogram.push_back({dbl(r[0]), dbl(r[1]), i64(r[2]), i64(r[3])});
    for (const auto& r : run(kGainsSql, a)) d.gains.push_back({dbl(r[0]), dbl(r[1]), i64(r[2]), i64(r[3])});
    for (const auto& r : run(kDecilesSql, a))
        d.deciles.push_back({static_cast<int>(i64(r[0])), i64(r[1]), i64(r[2]), dbl(r[3])});
    for (const auto& r : run(kFunnelSql, a))
        d.funnel.push_back({str(r[0]), static_cast<int>(i64(r[1])), i64(r[2]), i64(r[3]), dbl(r[4]), dbl(r[5])});
    for (const auto& r : run(kFlowSql, a)) d.flow.push_back({str(r[0]), str(r[1]), i64(r[2])});
    for (const auto& r : run(kLiftSql, a)) {
        ls::report::Lift l;
        l.field = str(r[0]);
        l.value = str(r[1]);
        l.missing = r[1].null;
        l.leads = i64(r[2]);
        l.converted = i64(r[3]);
        l.rate = dbl(r[4]);
        l.lift = dbl(r[5]);
        l.ci_low = dbl(r[6]);
        l.ci_high = dbl(r[7]);
        d.lifts.push_back(std::move(l));
    }
    pg_call([] { SPI_finish(); });

    const std::string page = ls::report::render(d);
    text* out = nullptr;
    pg_call([&] { out = cstring_to_text_with_len(page.data(), static_cast<int>(page.size())); });
    PG_RETURN_TEXT_P(out);
}
