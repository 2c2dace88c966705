// The fused GROUP BY path of activity_score, planning half: a CustomScan the
// planner may choose instead of HashAggregate for
//
//   SELECT lead_id, activity_score(<model>, event_type, occurred_at, <as_of>)
//   FROM events GROUP BY lead_id
//
// As a HashAggregate, each group costs an allocation of its `internal` state
// and a final call when that state is long out of cache, and each row an fmgr
// call: measured, about 0.24x of `count(*) GROUP BY` before any scoring. The
// node (activity_fused_exec.cpp) reads its input (whatever plan the planner
// picked for it), keeps the groups in its own hash table and scores each row
// with the aggregate's own kernel (pg/activity_kernel.hpp), so every score is
// bitwise what the aggregate gives for the same input order.
//
// Offered (create_upper_paths_hook) only when
//  * GROUP BY is one plain int2/int4/int8 column with its type's equality;
//  * the grouped output uses nothing but that column and activity_score
//    aggregates without FILTER, DISTINCT or ORDER BY, and there is no HAVING
//    and there are no grouping sets;
//  * each aggregate's event type and time are plain columns (a varchar or a
//    domain relabelled to text counts), and its model and as_of contain no
//    column, volatile function or subquery: they are evaluated once per scan;
//  * the groups, as the planner estimates them, fit in hash_mem.
// Otherwise, or with lead_scoring.enable_fused_aggregate = off, the plan is
// PostgreSQL's own. The hook exists once the library is loaded: with
// shared_preload_libraries or session_preload_libraries, or in a session
// after its first call of a lead_scoring function.
//
// What the plan carries to the executor is named in activity_fused.hpp.
//
// Error boundary: plain C. The planner callbacks hold no C++ object with a
// destructor and call only PostgreSQL, which raises its errors itself.
#include "pg/glue.hpp"
#include "pg/activity_fused.hpp"
#include "pg/fused.hpp"
#include "pg/guc.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planner.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"
}

using namespace ls::pg::fused;

namespace {

create_upper_paths_hook_type g_prev_hook = nullptr;

// Bytes a group is estimated to take, for the planner's check against
// hash_mem: its cell at 3/4 load, its key and, per aggregate, a typical
// model's accumulators (the model is not read at plan time).
double est_group_bytes(int naggs) { return 16.0 * 4 / 3 + 8.0 * (1 + 8 * naggs); }

bool plain_column(Expr* e) {
    e = strip_relabel(e);
    return e && IsA(e, Var) && reinterpret_cast<Var*>(e)->varlevelsup == 0;
}

// The same for every row of a scan: evaluated once when the scan starts.
bool scan_constant(Expr* e) {
    Node* n = reinterpret_cast<Node*>(e);
    return !contain_var_clause(n) && !contain_volatile_functions(n) && !contain_subplans(n);
}

bool is_null_const(Expr* e) { return IsA(e, Const) && reinterpret_cast<Const*>(e)->constisnull; }

// lead_scoring.activity_score(text|jsonb, text, timestamptz, timestamptz).
bool is_activity_score(Oid fn) {
    HeapTuple tp = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
    if (!HeapTupleIsValid(tp)) return false;
    auto* p = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tp));
    const bool ok = p->prokind == PROKIND_AGGREGATE && strcmp(NameStr(p->proname), "activity_score") == 0 &&
                    p->pronargs == 4 && (p->proargtypes.values[0] == TEXTOID || p->proargtypes.values[0] == JSONBOID) &&
                    p->proargtypes.values[1] == TEXTOID && p->proargtypes.values[2] == TIMESTAMPTZOID &&
                    p->proargtypes.values[3] == TIMESTAMPTZOID &&
                    p->pronamespace == get_namespace_oid("lead_scoring", true);
    ReleaseSysCache(tp);
    return ok;
}

Expr* agg_arg(const Aggref* a, int i) { return static_cast<TargetEntry*>(list_nth(a->args, i))->expr; }

bool fusable_aggref(const Aggref* a) {
    if (a->agglevelsup != 0 || a->aggfilter || a->aggdistinct || a->aggorder || a->aggstar || a->aggvariadic ||
        a->aggkind != AGGKIND_NORMAL || a->aggsplit != AGGSPLIT_SIMPLE || list_length(a->args) != 4)
        return false;
    Expr* model = agg_arg(a, 0);
    Expr* as_of = agg_arg(a, 3);
    // A NULL constant model or as_of: the aggregate raises its own error.
    if (!scan_constant(model) || !scan_constant(as_of) || is_null_const(model) || is_null_const(as_of)) return false;
    return plain_column(agg_arg(a, 1)) && plain_column(agg_arg(a, 2)) && is_activity_score(a->aggfnoid);
}

struct CheckCtx {
    Node* key;
    List* aggrefs;  // distinct (equal()) Aggrefs, in order of appearance
    bool ok;
};

// Whether the grouped output uses only the key and fusable aggregates.
bool check_walker(Node* node, void* vctx) {
    auto* c = static_cast<CheckCtx*>(vctx);
    if (node == nullptr) return false;
    if (equal(node, c->key)) return false;
    if (IsA(node, Aggref)) {
        if (!fusable_aggref(reinterpret_cast<Aggref*>(node))) {
            c->ok = false;
            return true;
        }
        c->aggrefs = list_append_unique(c->aggrefs, node);
        return false;
    }
    if (IsA(node, Var) || IsA(node, PlaceHolderVar) || IsA(node, GroupingFunc) || IsA(node, WindowFunc) ||
        IsA(node, SubLink) || IsA(node, SubPlan) || IsA(node, AlternativeSubPlan)) {
        c->ok = false;
        return true;
    }
#if PG_VERSION_NUM >= 160000
    return expression_tree_walker(node, check_walker, vctx);
#else
    return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(check_walker)), vctx);
#endif
}

extern const CustomPathMethods path_methods;

void try_add_path(PlannerInfo* root, RelOptInfo* input_rel, RelOptInfo* grouped_rel, const GroupPathExtraData* extra) {
    Query* parse = root->parse;
    if (parse->groupingSets != NIL || list_length(parse->groupClause) != 1 || parse->hasTargetSRFs ||
        root->hasHavingQual || !parse->hasAggs)
        return;
    if (extra && (extra->havingQual != nullptr || extra->patype != PARTITIONWISE_AGGREGATE_NONE)) return;
    auto* sgc = static_cast<SortGroupClause*>(linitial(parse->groupClause));
    Node* key = get_sortgroupclause_expr(sgc, parse->targetList);
    if (!IsA(key, Var) || reinterpret_cast<Var*>(key)->varlevelsup != 0) return;
    const RegProcedure eq = get_opcode(sgc->eqop);
    const Oid kt = reinterpret_cast<Var*>(key)->vartype;
    if (!((kt == INT8OID && eq == F_INT8EQ) || (kt == INT4OID && eq == F_INT4EQ) || (kt == INT2OID && eq == F_INT2EQ)))
        return;

    CheckCtx c{key, NIL, true};
    ListCell* lc;
    foreach (lc, grouped_rel->reltarget->exprs) {
        if (check_walker(static_cast<Node*>(lfirst(lc)), &c)) break;
    }
    if (!c.ok || c.aggrefs == NIL) return;

    Path* input = input_rel->cheapest_total_path;
    if (input == nullptr || input->param_info != nullptr) return;
    double groups;
    if (grouped_rel->pathlist != NIL)
        groups = static_cast<Path*>(linitial(grouped_rel->pathlist))->rows;
    else
        groups = estimate_num_groups(root, lappend(NIL, key), input->rows, nullptr
#if PG_VERSION_NUM >= 140000
                                     ,
                                     nullptr
#endif
        );
    const int naggs = list_length(c.aggrefs);
    if (groups * est_group_bytes(naggs) > static_cast<double>(hash_mem_bytes())) return;

    CustomPath* cp = makeNode(CustomPath);
    cp->path.pathtype = T_CustomScan;
    cp->path.parent = grouped_rel;
    cp->path.pathtarget = grouped_rel->reltarget;
    cp->path.param_info = nullptr;
    cp->path.parallel_aware = false;
    cp->path.parallel_safe = false;
    cp->path.parallel_workers = 0;
    cp->path.rows = groups;
    // HashAggregate's cost (cost_agg) less what this node does not do: per
    // row, one operator for the hash instead of the hash and the transition
    // call; per group, the output tuple but no final call.
    cp->path.startup_cost = input->total_cost + cpu_operator_cost * input->rows + grouped_rel->reltarget->cost.startup;
    cp->path.total_cost = cp->path.startup_cost + (cpu_tuple_cost + grouped_rel->reltarget->cost.per_tuple) * groups;
    cp->path.pathkeys = NIL;
    cp->flags = 0;
    cp->custom_paths = lappend(NIL, input);
    // In PathPrivate's order.
    cp->custom_private = list_make2(key, c.aggrefs);
    cp->methods = &path_methods;
    add_path(grouped_rel, &cp->path);
}

void upper_paths_hook(PlannerInfo* root, UpperRelationKind stage, RelOptInfo* input_rel, RelOptInfo* output_rel,
                      void* extra) {
    if (g_prev_hook) g_prev_hook(root, stage, input_rel, output_rel, extra);
    if (stage == UPPERREL_GROUP_AGG && ls::pg::guc::enable_fused_aggregate && output_rel->reloptkind == RELOPT_UPPER_REL)
        try_add_path(root, input_rel, output_rel, static_cast<GroupPathExtraData*>(extra));
}

// The 0-based position of column `e` in the child plan's output.
int child_column(Plan* child, Expr* e) {
    const Var* v = reinterpret_cast<const Var*>(strip_relabel(e));
    ListCell* lc;
    foreach (lc, child->targetlist) {
        auto* te = static_cast<TargetEntry*>(lfirst(lc));
        const Expr* x = strip_relabel(te->expr);
        if (x && IsA(x, Var) && reinterpret_cast<const Var*>(x)->varno == v->varno &&
            reinterpret_cast<const Var*>(x)->varattno == v->varattno &&
            reinterpret_cast<const Var*>(x)->varlevelsup == 0)
            return te->resno - 1;
    }
    elog(ERROR, "lead_scoring: a column of activity_score is missing from the input of the fused aggregate");
}

// The plan's custom_private, custom_exprs and custom_scan_tlist, as
// activity_fused.hpp names them.
Plan* plan_path(PlannerInfo*, RelOptInfo*, CustomPath* best, List* tlist, List*, List* custom_plans) {
    Node* key = static_cast<Node*>(list_nth(best->custom_private, kPathKey));
    List* aggrefs = static_cast<List*>(list_nth(best->custom_private, kPathAggrefs));
    Plan* child = static_cast<Plan*>(linitial(custom_plans));

    CustomScan* cs = makeNode(CustomScan);
    cs->scan.plan.targetlist = tlist;
    cs->scan.plan.qual = NIL;
    cs->scan.scanrelid = 0;
    cs->flags = best->flags;
    cs->custom_plans = custom_plans;
    const double groups = best->path.rows;
    static_assert(kScanGroups == 0 && kScanKeyColumn == 1 && kScanKeyType == 2 && kScanHeaderSlots == 3,
                  "appended in ScanPrivate's order");
    List* priv = lappend_int(NIL, groups < INT_MAX ? static_cast<int>(groups) : INT_MAX);
    priv = lappend_int(priv, child_column(child, reinterpret_cast<Expr*>(key)));
    priv = lappend_int(priv, static_cast<int>(reinterpret_cast<Var*>(key)->vartype));
    List* exprs = NIL;
    List* stl = lappend(NIL, makeTargetEntry(static_cast<Expr*>(copyObjectImpl(key)), 1, nullptr, false));
    AttrNumber resno = 2;
    ListCell* lc;
    foreach (lc, aggrefs) {
        auto* a = static_cast<Aggref*>(lfirst(lc));
        static_assert(kAggTypeColumn == 0 && kAggTimeColumn == 1 && kAggModelType == 2 && kAggFunction == 3 &&
                          kAggSlots == 4,
                      "appended in ScanAggPrivate's order");
        priv = lappend_int(priv, child_column(child, agg_arg(a, 1)));
        priv = lappend_int(priv, child_column(child, agg_arg(a, 2)));
        priv = lappend_int(priv, static_cast<int>(linitial_oid(a->aggargtypes)));
        priv = lappend_int(priv, static_cast<int>(a->aggfnoid));
        static_assert(kExprModel == 0 && kExprAsOf == 1 && kExprSlots == 2, "appended in ScanAggExpr's order");
        exprs = lappend(exprs, copyObjectImpl(agg_arg(a, 0)));
        exprs = lappend(exprs, copyObjectImpl(agg_arg(a, 3)));
        stl = lappend(stl, makeTargetEntry(static_cast<Expr*>(copyObjectImpl(a)), resno++, nullptr, false));
    }
    cs->custom_private = priv;
    cs->custom_exprs = exprs;
    cs->custom_scan_tlist = stl;
    cs->methods = &scan_methods;
    return &cs->scan.plan;
}

const CustomPathMethods path_methods = {kName, plan_path, nullptr};

}  // namespace

namespace ls::pg {
void fused_init() {
    RegisterCustomScanMethods(&fused::scan_methods);
    g_prev_hook = create_upper_paths_hook;
    create_upper_paths_hook = upper_paths_hook;
}
}  // namespace ls::pg
