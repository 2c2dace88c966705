// The fused GROUP BY node of activity_score, execution half (the planning
// half, and when the planner offers the node: activity_fused_plan.cpp).
//
// The groups live in the node's own open-addressing table keyed by the integer
// key, each group's accumulators in one record next to its key (records in
// pages of 4096); a row is scored with the aggregate's general path
// (pg/activity_kernel.hpp). A group's rows are added in input order, so every
// score is bitwise what the aggregate gives for the same input order.
//
// Memory: when the table would outgrow hash_mem, rows of groups not in it
// are set aside in a tuplestore (which goes to disk past work_mem); when the
// input ends, the groups in memory are returned, the table is emptied and the
// rows set aside are the next batch's input. All rows of a group are in one
// batch, in input order. table_cxt holds the current batch's table, spill_cxt
// the tuplestores, row_cxt one row's detoasted event types; all are children
// of the query's context.
//
// Errors as the aggregate raises them, and when it raises them: a NULL as_of
// or model, or an unknown model, at the first input row (no rows, no error).
//
// Error boundary: plain C, with one guarded step. The executor callbacks hold
// no C++ object with a destructor in a frame PostgreSQL can longjmp through;
// resolving the models (C++: the model cache) runs inside try/catch and raises
// its error with raise_pending after leaving the catch, as guarded() does.
#include "core/activity.hpp"
#include "core/activity_state.hpp"
#include "core/spec.hpp"

#include "pg/glue.hpp"
#include "pg/activity_fused.hpp"
#include "pg/activity_kernel.hpp"
#include "pg/model_cache.hpp"

#include <cstddef>
#include <new>

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/tuplestore.h"
}

using namespace ls::pg::fused;

namespace {

constexpr uint32 kPageShift = 12;  // 4096 groups per page of records
constexpr uint32 kPageRecords = 1u << kPageShift;
constexpr uint64 kMinCells = 1024;

struct Cell {
    int64 key;
    uint32 rec;  // record index + 1; 0: empty
    uint32 pad;
};

struct FusedAgg {
    int type_col, time_col;
    Oid model_type;
    ExprState* model_expr;
    ExprState* as_of_expr;
    ls::pg::CallSite* cs;
    ls::pg::SiteModel sm;  // for this scan's model
    TimestampTz as_of;
    int32 acc_off;  // of its accumulators in a record, in doubles
};

struct FusedState {
    CustomScanState css;
    PlanState* child;
    int key_col;
    Oid key_type;
    int ncols;  // columns to deform
    int naggs;
    FusedAgg* aggs;
    double est_groups;
    Size mem_limit;

    bool models_ready;  // resolved for this scan
    int32 rec_doubles;  // key + every aggregate's accumulators

    // the table of the current batch (table_cxt)
    MemoryContext table_cxt;
    Cell* cells;
    uint64 mask;
    int shift;
    uint64 used;  // cells in use
    double** pages;
    uint32 npages, pages_cap;
    uint64 ngroups;
    int64 null_group;  // record of the NULL key, -1: none
    Size mem_used;
    bool full;  // no new groups in this batch

    // batches
    bool filled;  // the current batch's input is consumed
    uint64 emit_next;
    Tuplestorestate* batch_in;  // nullptr: the child
    Tuplestorestate* set_aside;
    TupleTableSlot* spill_slot;
    MemoryContext spill_cxt;
    MemoryContext row_cxt;  // detoasted event types
    bool row_detoasted;     // row_cxt holds something

    // EXPLAIN ANALYZE
    int64 batches;
    uint64 total_groups;
    Size peak_mem;
};

extern const CustomExecMethods exec_methods;

Node* create_state(CustomScan*) {
    auto* fs = static_cast<FusedState*>(palloc0(sizeof(FusedState)));
    NodeSetTag(fs, T_CustomScanState);
    fs->css.methods = &exec_methods;
    return reinterpret_cast<Node*>(fs);
}

void begin_scan(CustomScanState* node, EState* estate, int eflags) {
    auto* fs = reinterpret_cast<FusedState*>(node);
    auto* cscan = reinterpret_cast<CustomScan*>(node->ss.ps.plan);
    fs->child = ExecInitNode(static_cast<Plan*>(linitial(cscan->custom_plans)), estate, eflags);
    node->custom_ps = lappend(NIL, fs->child);

    List* priv = cscan->custom_private;
    fs->est_groups = list_nth_int(priv, kScanGroups);
    fs->key_col = list_nth_int(priv, kScanKeyColumn);
    fs->key_type = static_cast<Oid>(list_nth_int(priv, kScanKeyType));
    fs->naggs = scan_aggregates(priv);
    fs->aggs = static_cast<FusedAgg*>(palloc0(sizeof(FusedAgg) * fs->naggs));
    fs->ncols = fs->key_col + 1;
    for (int i = 0; i < fs->naggs; ++i) {
        FusedAgg* a = &fs->aggs[i];
        a->type_col = list_nth_int(priv, agg_slot(i, kAggTypeColumn));
        a->time_col = list_nth_int(priv, agg_slot(i, kAggTimeColumn));
        a->model_type = static_cast<Oid>(list_nth_int(priv, agg_slot(i, kAggModelType)));
        // What ExecInitAgg checks for the aggregates it runs.
        const Oid fn = static_cast<Oid>(list_nth_int(priv, agg_slot(i, kAggFunction)));
#if PG_VERSION_NUM >= 160000
        const AclResult acl = object_aclcheck(ProcedureRelationId, fn, GetUserId(), ACL_EXECUTE);
#else
        const AclResult acl = pg_proc_aclcheck(fn, GetUserId(), ACL_EXECUTE);
#endif
        if (acl != ACLCHECK_OK) aclcheck_error(acl, OBJECT_AGGREGATE, get_func_name(fn));
        a->model_expr =
            ExecInitExpr(static_cast<Expr*>(list_nth(cscan->custom_exprs, expr_slot(i, kExprModel))), &node->ss.ps);
        a->as_of_expr =
            ExecInitExpr(static_cast<Expr*>(list_nth(cscan->custom_exprs, expr_slot(i, kExprAsOf))), &node->ss.ps);
        a->cs = new (palloc0(sizeof(ls::pg::CallSite))) ls::pg::CallSite();
        fs->ncols = Max(fs->ncols, Max(a->type_col, a->time_col) + 1);
    }
    fs->mem_limit = hash_mem_bytes();
    fs->table_cxt = AllocSetContextCreate(estate->es_query_cxt, "lead_scoring fused aggregate", ALLOCSET_DEFAULT_SIZES);
    fs->spill_cxt = AllocSetContextCreate(estate->es_query_cxt, "lead_scoring fused aggregate batches",
                                          ALLOCSET_DEFAULT_SIZES);
    fs->row_cxt = AllocSetContextCreate(estate->es_query_cxt, "lead_scoring fused aggregate row",
                                        ALLOCSET_SMALL_SIZES);
    fs->spill_slot = ExecAllocTableSlot(&estate->es_tupleTable, ExecGetResultType(fs->child), &TTSOpsMinimalTuple);
}

// Resolves every aggregate's model and as_of for this scan, as the aggregate
// does on its first row.
void resolve_models(FusedState* fs) {
    ExprContext* econtext = fs->css.ss.ps.ps_ExprContext;
    const int n = fs->naggs;
    // In per-tuple memory: a correlated subquery may rescan this node once
    // per outer row.
    ResetExprContext(econtext);
    MemoryContext old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
    Datum* models = static_cast<Datum*>(palloc(sizeof(Datum) * n));
    Datum* as_ofs = static_cast<Datum*>(palloc(sizeof(Datum) * n));
    bool* model_null = static_cast<bool*>(palloc(sizeof(bool) * n));
    bool* as_of_null = static_cast<bool*>(palloc(sizeof(bool) * n));
    MemoryContextSwitchTo(old);
    for (int i = 0; i < n; ++i) {
        models[i] = ExecEvalExprSwitchContext(fs->aggs[i].model_expr, econtext, &model_null[i]);
        as_ofs[i] = ExecEvalExprSwitchContext(fs->aggs[i].as_of_expr, econtext, &as_of_null[i]);
    }
    MemoryContext cxt = fs->css.ss.ps.state->es_query_cxt;
    ls::pg::guarded_call([&] {
        for (int i = 0; i < n; ++i) {
            FusedAgg* a = &fs->aggs[i];
            if (as_of_null[i]) throw ls::Error(ls::ErrorCode::NullValue, "activity_score: as_of must not be NULL");
            if (model_null[i]) throw ls::Error(ls::ErrorCode::NullValue, "activity_score: model must not be NULL");
            // Not `stable`: a parameter of an outer query may be another
            // model at the same address on the next rescan.
            const ls::Model* m = ls::pg::model_datum(a->cs, a->model_type, models[i], false);
            if (a->sm.model != m) ls::pg::site_model_build(&a->sm, cxt, m);
            a->as_of = DatumGetTimestampTz(as_ofs[i]);
        }
    });
    int32 off = 1;
    for (int i = 0; i < n; ++i) {
        fs->aggs[i].acc_off = off;
        off += fs->aggs[i].sm.shape->nacc;
    }
    fs->rec_doubles = off;
    fs->models_ready = true;
}

Size page_bytes(const FusedState* fs) { return sizeof(double) * kPageRecords * static_cast<Size>(fs->rec_doubles); }

void* table_alloc(FusedState* fs, Size size) {
    return MemoryContextAllocExtended(fs->table_cxt, size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO | MCXT_ALLOC_NO_OOM);
}

void set_cells(FusedState* fs, Cell* cells, uint64 n) {
    fs->cells = cells;
    fs->mask = n - 1;
    fs->shift = 64 - __builtin_ctzll(n);
}

void start_table(FusedState* fs) {
    MemoryContextReset(fs->table_cxt);
    uint64 n = kMinCells;
    const double want = Min(fs->est_groups * 4 / 3, static_cast<double>(fs->mem_limit / 2 / sizeof(Cell)));
    while (static_cast<double>(n) < want) n <<= 1;
    Cell* cells = static_cast<Cell*>(table_alloc(fs, sizeof(Cell) * n));
    if (cells == nullptr)
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
                        errdetail("Failed on request of size %zu in the fused activity_score aggregate.",
                                  sizeof(Cell) * n)));
    set_cells(fs, cells, n);
    fs->used = 0;
    fs->pages = nullptr;
    fs->npages = fs->pages_cap = 0;
    fs->ngroups = 0;
    fs->null_group = -1;
    fs->mem_used = sizeof(Cell) * n;
    fs->full = false;
    fs->filled = false;
    fs->emit_next = 0;
}

inline uint64 cell_of(const FusedState* fs, int64 key) {
    return (static_cast<uint64>(key) * 0x9E3779B97F4A7C15ull) >> fs->shift;
}

inline double* record(const FusedState* fs, uint64 r) {
    return fs->pages[r >> kPageShift] + (r & (kPageRecords - 1)) * static_cast<uint64>(fs->rec_doubles);
}

// Marks the table full for this batch: rows of new groups are set aside.
std::nullptr_t full(FusedState* fs) {
    fs->full = true;
    return nullptr;
}

bool fits(const FusedState* fs, Size more) { return fs->ngroups == 0 || fs->mem_used + more <= fs->mem_limit; }

// Doubles the cells, if memory allows.
bool grow_cells(FusedState* fs) {
    const uint64 n = (fs->mask + 1) * 2;
    const Size bytes = sizeof(Cell) * n, old_bytes = sizeof(Cell) * (fs->mask + 1);
    if (!fits(fs, bytes) || n > (uint64{1} << 40)) return false;
    Cell* cells = static_cast<Cell*>(table_alloc(fs, bytes));
    if (cells == nullptr) return false;
    Cell* old = fs->cells;
    const uint64 old_n = fs->mask + 1;
    set_cells(fs, cells, n);
    for (uint64 i = 0; i < old_n; ++i) {
        if ((i & 0xffff) == 0) CHECK_FOR_INTERRUPTS();  // an error frees the table with the query
        if (old[i].rec == 0) continue;
        uint64 j = cell_of(fs, old[i].key);
        while (cells[j].rec != 0) j = (j + 1) & fs->mask;
        cells[j] = old[i];
    }
    pfree(old);
    fs->mem_used += bytes - old_bytes;
    return true;
}

// A new record (zeroed), or nullptr when memory does not allow one: the
// table is then full for this batch.
double* new_record(FusedState* fs, uint64* r_out) {
    if (fs->full) return nullptr;
    const uint64 r = fs->ngroups;
    if (r >= UINT32_MAX - 1) return full(fs);
    if ((r >> kPageShift) >= fs->npages) {
        if (!fits(fs, page_bytes(fs))) return full(fs);
        if (fs->npages == fs->pages_cap) {
            const uint32 cap = fs->pages_cap ? fs->pages_cap * 2 : 64;
            auto** pages = static_cast<double**>(table_alloc(fs, sizeof(double*) * cap));
            if (pages == nullptr) return full(fs);
            if (fs->npages) memcpy(pages, fs->pages, sizeof(double*) * fs->npages);
            if (fs->pages) pfree(fs->pages);
            fs->pages = pages;
            fs->pages_cap = cap;
        }
        auto* page = static_cast<double*>(table_alloc(fs, page_bytes(fs)));
        if (page == nullptr) return full(fs);
        fs->pages[fs->npages++] = page;
        fs->mem_used += page_bytes(fs);
    }
    fs->ngroups++;
    *r_out = r;
    return record(fs, r);
}

// The record of the row's group, new if need be; nullptr when the group is
// not in the table and the table is full (the row is set aside).
inline double* group_record(FusedState* fs, TupleTableSlot* slot) {
    uint64 r;
    if (slot->tts_isnull[fs->key_col]) {
        if (fs->null_group >= 0) return record(fs, static_cast<uint64>(fs->null_group));
        double* rec = new_record(fs, &r);
        if (rec != nullptr) fs->null_group = static_cast<int64>(r);
        return rec;
    }
    const Datum d = slot->tts_values[fs->key_col];
    const int64 key = fs->key_type == INT8OID   ? DatumGetInt64(d)
                      : fs->key_type == INT4OID ? DatumGetInt32(d)
                                                : DatumGetInt16(d);
    uint64 i = cell_of(fs, key);
    for (;; i = (i + 1) & fs->mask) {
        const Cell& c = fs->cells[i];
        if (c.rec == 0) break;
        if (c.key == key) return record(fs, c.rec - 1);
    }
    if (fs->full) return nullptr;
    if ((fs->used + 1) * 4 > (fs->mask + 1) * 3) {
        if (!grow_cells(fs)) return full(fs);
        i = cell_of(fs, key);
        while (fs->cells[i].rec != 0) i = (i + 1) & fs->mask;
    }
    double* rec = new_record(fs, &r);
    if (rec == nullptr) return nullptr;
    memcpy(rec, &key, sizeof key);
    fs->cells[i].key = key;
    fs->cells[i].rec = static_cast<uint32>(r + 1);
    fs->used++;
    return rec;
}

// One row into its group's accumulators: the aggregate's general path
// (pg/activity_kernel.hpp), with the same NULL rules.
inline void add_row(FusedState* fs, const FusedAgg* a, double* rec, TupleTableSlot* slot) {
    if (slot->tts_isnull[a->type_col] || slot->tts_isnull[a->time_col]) return;
    ls::pg::EventAge age;
    if (!ls::pg::event_age_counts(&a->sm, a->as_of, DatumGetTimestampTz(slot->tts_values[a->time_col]), &age)) return;
    const Datum t = slot->tts_values[a->type_col];
    auto* v = reinterpret_cast<struct varlena*>(DatumGetPointer(t));
    if (unlikely(ls::pg::needs_detoast(t))) {
        MemoryContext old = MemoryContextSwitchTo(fs->row_cxt);
        v = pg_detoast_datum_packed(v);
        MemoryContextSwitchTo(old);
        fs->row_detoasted = true;
    }
    const int s = a->sm.table.find(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
    rec[a->acc_off + a->sm.acc_of[s]] += ls::pg::event_age_points(&a->sm, s, age);
}

// Reads the batch's input to its end.
void fill(FusedState* fs) {
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        TupleTableSlot* slot;
        if (fs->batch_in) {
            if (!tuplestore_gettupleslot(fs->batch_in, true, false, fs->spill_slot)) break;
            slot = fs->spill_slot;
        } else {
            slot = ExecProcNode(fs->child);
            if (TupIsNull(slot)) break;
        }
        slot_getsomeattrs(slot, fs->ncols);
        if (unlikely(!fs->models_ready)) {
            resolve_models(fs);
            start_table(fs);
        }
        double* rec = group_record(fs, slot);
        if (rec == nullptr) {
            if (fs->set_aside == nullptr) {
                MemoryContext old = MemoryContextSwitchTo(fs->spill_cxt);
                fs->set_aside = tuplestore_begin_heap(false, false, work_mem);
                MemoryContextSwitchTo(old);
            }
            tuplestore_puttupleslot(fs->set_aside, slot);
            continue;
        }
        for (int i = 0; i < fs->naggs; ++i) add_row(fs, &fs->aggs[i], rec, slot);
        if (unlikely(fs->row_detoasted)) {
            MemoryContextReset(fs->row_cxt);
            fs->row_detoasted = false;
        }
    }
    fs->filled = true;
    fs->batches++;
    fs->total_groups += fs->ngroups;
    fs->peak_mem = Max(fs->peak_mem, fs->mem_used);
}

void end_batches(FusedState* fs) {
    if (fs->batch_in) tuplestore_end(fs->batch_in);
    if (fs->set_aside) tuplestore_end(fs->set_aside);
    fs->batch_in = fs->set_aside = nullptr;
    MemoryContextReset(fs->spill_cxt);
}

TupleTableSlot* exec_scan(CustomScanState* node) {
    auto* fs = reinterpret_cast<FusedState*>(node);
    TupleTableSlot* out = node->ss.ss_ScanTupleSlot;
    for (;;) {
        if (!fs->filled) fill(fs);
        if (fs->emit_next < fs->ngroups) break;
        // The batch is returned: the rows set aside, if any, are the next.
        if (fs->set_aside == nullptr) return ExecClearTuple(out);
        if (fs->batch_in) tuplestore_end(fs->batch_in);
        fs->batch_in = fs->set_aside;
        fs->set_aside = nullptr;
        tuplestore_rescan(fs->batch_in);
        start_table(fs);
    }
    const uint64 r = fs->emit_next++;
    const double* rec = record(fs, r);
    ExecClearTuple(out);
    if (static_cast<int64>(r) == fs->null_group) {
        out->tts_values[0] = 0;
        out->tts_isnull[0] = true;
    } else {
        int64 key;
        memcpy(&key, rec, sizeof key);
        out->tts_values[0] = fs->key_type == INT8OID   ? Int64GetDatum(key)
                             : fs->key_type == INT4OID ? Int32GetDatum(static_cast<int32>(key))
                                                       : Int16GetDatum(static_cast<int16>(key));
        out->tts_isnull[0] = false;
    }
    for (int i = 0; i < fs->naggs; ++i) {
        const FusedAgg* a = &fs->aggs[i];
        out->tts_values[1 + i] = Float8GetDatum(ls::pg::shape_total(a->sm.shape, rec + a->acc_off));
        out->tts_isnull[1 + i] = false;
    }
    ExecStoreVirtualTuple(out);
    ProjectionInfo* proj = node->ss.ps.ps_ProjInfo;
    if (proj == nullptr) return out;
    ExprContext* econtext = node->ss.ps.ps_ExprContext;
    ResetExprContext(econtext);
    econtext->ecxt_scantuple = out;
    return ExecProject(proj);
}

void reset_scan(FusedState* fs) {
    end_batches(fs);
    MemoryContextReset(fs->table_cxt);
    fs->cells = nullptr;
    fs->pages = nullptr;
    fs->ngroups = fs->emit_next = 0;
    fs->filled = false;
    fs->models_ready = false;  // a parameter of model or as_of may have changed
}

void end_scan(CustomScanState* node) {
    auto* fs = reinterpret_cast<FusedState*>(node);
    end_batches(fs);
    ExecEndNode(fs->child);
}

void rescan(CustomScanState* node) {
    auto* fs = reinterpret_cast<FusedState*>(node);
    reset_scan(fs);
    if (node->ss.ps.chgParam != nullptr) UpdateChangedParamSet(fs->child, node->ss.ps.chgParam);
    if (fs->child->chgParam == nullptr) ExecReScan(fs->child);
}

void explain_scan(CustomScanState* node, List* ancestors, ExplainState* es) {
    auto* fs = reinterpret_cast<FusedState*>(node);
    auto* cscan = reinterpret_cast<CustomScan*>(node->ss.ps.plan);
    List* context = set_deparse_context_plan(es->deparse_cxt, &cscan->scan.plan, ancestors);
    auto* key = static_cast<TargetEntry*>(linitial(cscan->custom_scan_tlist));  // the key comes first
    ExplainPropertyText("Group Key", deparse_expression(reinterpret_cast<Node*>(key->expr), context, es->verbose, false),
                        es);
    if (es->analyze && fs->batches > 0) {
        ExplainPropertyInteger("Groups", nullptr, static_cast<int64>(fs->total_groups), es);
        ExplainPropertyInteger("Batches", nullptr, fs->batches, es);
        ExplainPropertyInteger("Peak Memory Usage", "kB", static_cast<int64>((fs->peak_mem + 1023) / 1024), es);
    }
}

const CustomExecMethods exec_methods = {kName,   begin_scan, exec_scan, end_scan, rescan, nullptr, nullptr, nullptr,
                                        nullptr, nullptr,    nullptr,   nullptr,  explain_scan};

}  // namespace

const CustomScanMethods ls::pg::fused::scan_methods = {kName, create_state};
