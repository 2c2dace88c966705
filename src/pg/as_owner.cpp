// The evaluation and report functions (evaluate, attribute_lift, suggest_model,
// evaluation_split, report and the chart series of install/75_report.sql) read
// a model's source tables and ranking, whose views, functions and triggers are
// the model owner's code. They run as the model's owner inside a
// security-restricted operation, like refresh (doc/privileges.md): a caller
// with more rights never lends them to that code, and a caller without the
// owner's privileges is refused rather than shown the owner's data.
//
// Each public function is bound to ls_as_model_owner; its body is the internal
// function `_<name>` of the same schema and argument types, found by OID in the
// catalog (never through a search_path) and cached per call site. The internal
// function is called through the function manager with the caller's argument
// values, so nothing the caller names is parsed again; a set is handed back
// materialized (the internal function runs to completion as the owner, and the
// caller reads its tuplestore as itself).
//
// Error boundary: plain C with no C++ objects. The wrapper is PostgreSQL-style
// code throughout, every ERROR is raised directly with ereport, and PG_TRY is
// used only to give the identity back.
#include "pg/identity.hpp"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace {

// The role the innermost ls_as_model_owner call runs its internal function as
// (InvalidOid outside one): only that code may create suggest_model's work
// table. Saved and restored on each call's stack.
Oid g_owner_running = InvalidOid;

struct Inner {
    FmgrInfo fl;
    char public_name[NAMEDATALEN];
};

// The internal function of the wrapper `outer`, checked to return exactly what
// the wrapper returns (so the caller's expected row type is the one produced).
Inner* inner_of(FmgrInfo* outer) {
    if (outer->fn_extra) return static_cast<Inner*>(outer->fn_extra);
    HeapTuple ot = SearchSysCache1(PROCOID, ObjectIdGetDatum(outer->fn_oid));
    if (!HeapTupleIsValid(ot)) elog(ERROR, "cache lookup failed for function %u", outer->fn_oid);
    Form_pg_proc op = reinterpret_cast<Form_pg_proc>(GETSTRUCT(ot));
    char name[NAMEDATALEN];
    snprintf(name, sizeof name, "_%s", NameStr(op->proname));
    HeapTuple it = SearchSysCache3(PROCNAMEARGSNSP, CStringGetDatum(name), PointerGetDatum(&op->proargtypes),
                                   ObjectIdGetDatum(op->pronamespace));
    if (!HeapTupleIsValid(it))
        elog(ERROR, "lead_scoring: function %s has no internal function %s of the same arguments",
             NameStr(op->proname), name);
    Form_pg_proc ip = reinterpret_cast<Form_pg_proc>(GETSTRUCT(it));
    TupleDesc od = build_function_result_tupdesc_t(ot);
    TupleDesc idesc = build_function_result_tupdesc_t(it);
    const bool same = ip->prorettype == op->prorettype && ip->proretset == op->proretset && !ip->prosecdef &&
                      (od == nullptr) == (idesc == nullptr) && (od == nullptr || equalTupleDescs(od, idesc));
    const Oid inner_oid = ip->oid;
    Inner* in = static_cast<Inner*>(MemoryContextAllocZero(outer->fn_mcxt, sizeof(Inner)));
    strlcpy(in->public_name, NameStr(op->proname), NAMEDATALEN);
    ReleaseSysCache(it);
    ReleaseSysCache(ot);
    if (!same) elog(ERROR, "lead_scoring: internal function %s does not return what %s returns", name, in->public_name);
    fmgr_info_cxt(inner_oid, &in->fl, outer->fn_mcxt);
    // Same arguments and result: the call site's expression describes both.
    in->fl.fn_expr = outer->fn_expr;
    outer->fn_extra = in;
    return in;
}

// The owner of the model named `name`; ERROR when there is none. Every model
// row is visible to every role (doc/privileges.md), so this reads it as the
// caller, with a statement that names nothing the caller can shape.
Oid model_owner(Datum name) {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    Oid argtypes[1] = {TEXTOID};
    Datum values[1] = {name};
    int rc = SPI_execute_with_args("SELECT m.owner::pg_catalog.oid FROM lead_scoring.model m "
                                   "WHERE m.name OPERATOR(pg_catalog.=) $1",
                                   1, argtypes, values, nullptr, true, 1);
    if (rc != SPI_OK_SELECT) elog(ERROR, "lead_scoring: SPI failed (%s)", SPI_result_code_string(rc));
    Oid owner = InvalidOid;
    if (SPI_processed == 1) {
        bool isnull = true;
        Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
        if (!isnull) owner = DatumGetObjectId(d);
    }
    SPI_finish();
    if (!OidIsValid(owner))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("lead scoring model \"%s\" does not exist", TextDatumGetCString(name))));
    return owner;
}

}  // namespace

extern "C" {
PG_FUNCTION_INFO_V1(ls_as_model_owner);
}

Datum ls_as_model_owner(PG_FUNCTION_ARGS) {
    Inner* in = inner_of(fcinfo->flinfo);
    if (PG_NARGS() < 1 || PG_ARGISNULL(0))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("model name must not be NULL")));
    const Oid owner = model_owner(PG_GETARG_DATUM(0));
    // owner is a regrole, which keeps no dependency: DROP ROLE leaves a bare OID.
    const char* on = GetUserNameFromId(owner, true);
    if (!on)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                        errmsg("the owner of lead scoring model \"%s\" (role OID %u) no longer exists",
                               TextDatumGetCString(PG_GETARG_DATUM(0)), owner),
                        errhint("A superuser can give the model to an existing role: UPDATE lead_scoring.model SET "
                                "owner = ... WHERE name = ...")));
    if (!has_privs_of_role(GetUserId(), owner))
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("permission denied for lead_scoring.%s on model \"%s\"", in->public_name,
                               TextDatumGetCString(PG_GETARG_DATUM(0))),
                        errdetail("Only roles with the privileges of the model's owner (%s) may evaluate it: it runs "
                                  "as that owner.",
                                  on)));

    // A set is always taken materialized: the internal function runs to its end
    // here, as the owner, never lazily while the caller goes on as itself.
    ReturnSetInfo* outer_rsi = nullptr;
    ReturnSetInfo* rsi = nullptr;
    if (in->fl.fn_retset) {
        outer_rsi = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        if (!outer_rsi || !IsA(outer_rsi, ReturnSetInfo) || !(outer_rsi->allowedModes & SFRM_Materialize) ||
            !outer_rsi->expectedDesc)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("set-valued function called in context that cannot accept a set")));
        rsi = makeNode(ReturnSetInfo);
        rsi->econtext = outer_rsi->econtext;
        rsi->expectedDesc = outer_rsi->expectedDesc;
        // SQL functions want both modes offered; "preferred" makes them materialize.
        rsi->allowedModes = SFRM_ValuePerCall | SFRM_Materialize | SFRM_Materialize_Preferred |
                            (outer_rsi->allowedModes & SFRM_Materialize_Random);
        rsi->returnMode = SFRM_ValuePerCall;
        rsi->isDone = ExprSingleResult;
    }

    const int nargs = PG_NARGS();
    FunctionCallInfo ifc = static_cast<FunctionCallInfo>(palloc0(SizeForFunctionCallInfo(nargs)));
    InitFunctionCallInfoData(*ifc, &in->fl, nargs, fcinfo->fncollation, fcinfo->context,
                             reinterpret_cast<Node*>(rsi));
    for (int i = 0; i < nargs; ++i) ifc->args[i] = fcinfo->args[i];

    ls::pg::SavedIdentity saved;
    const Oid outer_running = g_owner_running;
    Datum result = 0;
    ls::pg::become_restricted(owner, &saved);
    g_owner_running = owner;
    PG_TRY();
    {
        result = FunctionCallInvoke(ifc);
    }
    PG_CATCH();
    {
        g_owner_running = outer_running;
        ls::pg::leave_restricted_on_error(saved);
        PG_RE_THROW();
    }
    PG_END_TRY();
    g_owner_running = outer_running;
    ls::pg::leave_restricted(saved);

    if (rsi) {
        if (rsi->returnMode != SFRM_Materialize || rsi->isDone == ExprMultipleResult)
            elog(ERROR, "lead_scoring: %s did not return a materialized set", in->public_name);
        outer_rsi->returnMode = SFRM_Materialize;
        outer_rsi->setResult = rsi->setResult;
        outer_rsi->setDesc = rsi->setDesc;
        PG_RETURN_NULL();
    }
    fcinfo->isnull = ifc->isnull;
    return result;
}

// suggest_model's body keeps its per-lead features in a temporary table, which
// a security-restricted operation may not create (PostgreSQL refuses so that
// restricted code cannot leave tables in the session's pg_temp). The table is
// created here from a fixed statement (the only variable part is the lead id's
// type, by OID), owned by the model's owner, dropped by the body and at commit
// at the latest: nothing outlives the transaction. The restriction is lifted
// for this one statement only, and only for code that runs as the model's owner
// inside ls_as_model_owner.
extern "C" {
PG_FUNCTION_INFO_V1(ls_suggest_work_table);
}

Datum ls_suggest_work_table(PG_FUNCTION_ARGS) {
    Oid uid = InvalidOid;
    int sec = 0;
    GetUserIdAndSecContext(&uid, &sec);
    if (!OidIsValid(g_owner_running) || uid != g_owner_running || !(sec & SECURITY_RESTRICTED_OPERATION))
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("lead_scoring._suggest_work_table may only be called by lead_scoring.suggest_model")));
    const char* type = format_type_be_qualified(PG_GETARG_OID(0));
    const char* sql = psprintf("CREATE TEMP TABLE _ls_suggest (period pg_catalog.int4, lead_id %s, "
                               "y pg_catalog.bool, y_train pg_catalog.bool, x pg_catalog.float8[]) ON COMMIT DROP",
                               type);
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    SetUserIdAndSecContext(uid, sec & ~SECURITY_RESTRICTED_OPERATION);
    PG_TRY();
    {
        int rc = SPI_execute(sql, false, 0);
        if (rc != SPI_OK_UTILITY) elog(ERROR, "lead_scoring: SPI failed (%s)", SPI_result_code_string(rc));
    }
    PG_CATCH();
    {
        SetUserIdAndSecContext(uid, sec);
        PG_RE_THROW();
    }
    PG_END_TRY();
    SetUserIdAndSecContext(uid, sec);
    SPI_finish();
    PG_RETURN_VOID();
}
