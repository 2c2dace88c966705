// lead_scoring._capture_changes(): the change-capture trigger that lets an
// incremental refresh know which leads changed (doc/rank.md, doc/privileges.md).
//
// Every session that writes a CRM table runs it, and it appends to a table
// those sessions may neither read nor write, so it is built to give a writer
// nothing but that append:
//  * It is not SECURITY DEFINER and runs no SQL the writer can shape. The lead
//    ids are read straight from the statement's transition tuplestores (no
//    relation is looked up by name, so a pg_temp view called new_rows is never
//    read) and turned into text by the built-in output function of the column's
//    type, chosen by type OID (smallint, integer, bigint, text, varchar, uuid,
//    or a domain over one); never by a cast, which a user can define.
//  * Only the append runs as the extension owner, under
//    SECURITY_RESTRICTED_OPERATION, and it runs no SQL either: the rows go
//    straight into change_log's heap and indexes (as logical replication's
//    apply worker inserts), which is also what keeps the writers' cost low
//    (bench/70_capture.sh). Should change_log ever gain defaults, triggers or
//    row security, a fixed statement planned once per backend takes over, with
//    the model name and the ids as bound parameters. change_log has no index
//    (an index insertion per write cost as much as the heap insertion; the
//    refresh reads all of a model's rows anyway).
//  * It refuses (42501) to run as anything but a trigger that refresh would
//    install: named ls_<model>_<ins|upd|del|trunc> after its event, statement
//    level, AFTER, with transition tables, on a table that the model named by
//    its first argument maps, with the lead-id column its second argument
//    names. EXECUTE is not granted to PUBLIC, so only refresh (as the extension
//    owner) and superusers can attach it; the check is what makes a trigger
//    left behind, restored from a dump or attached by hand harmless.
// The verdict for each trigger is cached per backend (by trigger OID) and
// dropped when its table, any schema or lead_scoring.model changes.
//
// Error boundary: LS_FUNCTION, with pg_call around PostgreSQL calls made while
// C++ objects are alive; the functions marked C-style (the per-statement hot
// path among them) hold no C++ object and call PostgreSQL directly. The switch
// to the extension owner is pg/identity.hpp's.
#include "core/spec.hpp"

#include "pg/glue.hpp"
#include "pg/capture.hpp"
#include "pg/identity.hpp"
#include "pg/model_cache.hpp"

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"
}

namespace ls::pg {

namespace {

using ModelPtr = std::shared_ptr<const ls::Model>;

// ------------------------------------------------------------ per-backend cache

struct Verdict {
    Oid tgoid;  // hash key
    bool valid;
    Oid relid;
    AttrNumber attnum;
    Oid basetype;
    char model[NAMEDATALEN];
};

HTAB* g_verdicts = nullptr;
uint64 g_invals = 0;  // bumped by every callback: a verdict computed across one is not kept
Oid g_model_relid = InvalidOid;
Oid g_changelog_relid = InvalidOid;
Oid g_ext_owner = InvalidOid;
SPIPlanPtr g_append_plan = nullptr;
// change_log is exactly (model text, lead_id text), no defaults, triggers, row
// security or rules: rows go straight into the heap and its indexes (no
// statement to plan and run per write). Else the SPI statement, which handles
// anything (-1 unknown, 0 no, 1 yes).
int g_direct = -1;

void forget(bool all, Oid relid) {
    g_invals++;
    if (all || relid == g_changelog_relid) g_direct = -1;
    if (all) {
        g_ext_owner = InvalidOid;
        g_changelog_relid = InvalidOid;
        g_model_relid = InvalidOid;
    }
    if (!g_verdicts) return;
    HASH_SEQ_STATUS it;
    hash_seq_init(&it, g_verdicts);
    Verdict* v;
    while ((v = static_cast<Verdict*>(hash_seq_search(&it))) != nullptr)
        if (all || v->relid == relid) v->valid = false;
}

void relcache_cb(Datum, Oid relid) {
    forget(relid == InvalidOid || relid == g_model_relid || relid == g_changelog_relid, relid);
}

// A renamed schema changes what every spec's table names resolve to.
void namespace_cb(Datum, int, uint32) { forget(true, InvalidOid); }

// C-style: may elog(ERROR).
void ensure_cache() {
    if (g_verdicts) return;
    HASHCTL ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.keysize = sizeof(Oid);
    ctl.entrysize = sizeof(Verdict);
    ctl.hcxt = TopMemoryContext;
    g_verdicts = hash_create("lead_scoring change capture", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    CacheRegisterRelcacheCallback(relcache_cb, 0);
    CacheRegisterSyscacheCallback(NAMESPACEOID, namespace_cb, 0);
}

// C-style: may elog(ERROR).
Oid ext_owner_c() {
    if (OidIsValid(g_ext_owner)) return g_ext_owner;
    ensure_cache();
    Oid nsp = get_namespace_oid("lead_scoring", false);
    Oid rel = get_relname_relid("change_log", nsp);
    if (!OidIsValid(rel)) elog(ERROR, "lead_scoring.change_log is missing");
    HeapTuple tp = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
    if (!HeapTupleIsValid(tp)) elog(ERROR, "cache lookup failed for relation %u", rel);
    Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tp))->relowner;
    ReleaseSysCache(tp);
    g_model_relid = get_relname_relid("model", nsp);
    g_changelog_relid = rel;
    g_ext_owner = owner;
    return owner;
}

// C-style. The spec of a model as text (palloc'd in the caller's context), or
// NULL when there is no such model. Read as the extension owner, so that it
// does not depend on what the writer may read; not read-only, so that a fresh
// snapshot sees the edit an AFTER trigger on lead_scoring.model is called for.
char* load_spec(const char* name) {
    char* result = nullptr;
    run_restricted(ext_owner_c(), [&] { result = model_spec_text(name, false); });
    return result;
}

// C-style. The relation a spec's table name denotes (unqualified names are in
// schema public, as refresh reads them), InvalidOid when none. Catalogue
// lookups only: no search_path, no lock.
Oid spec_relid(const char* name) {
    Oid volatile relid = InvalidOid;
    MemoryContext cxt = CurrentMemoryContext;
    PG_TRY();
    {
        RangeVar* rv = makeRangeVarFromNameList(LS_STRING_TO_QUALIFIED_NAME_LIST(name));
        Oid nsp = get_namespace_oid(rv->schemaname ? rv->schemaname : "public", true);
        if (OidIsValid(nsp)) relid = get_relname_relid(rv->relname, nsp);
    }
    PG_CATCH();
    {
        // A malformed name maps no table (refresh reports it).
        MemoryContextSwitchTo(cxt);
        FlushErrorState();
    }
    PG_END_TRY();
    return relid;
}

const char* event_suffix(TriggerEvent ev) {
    if (TRIGGER_FIRED_BY_INSERT(ev)) return "ins";
    if (TRIGGER_FIRED_BY_UPDATE(ev)) return "upd";
    if (TRIGGER_FIRED_BY_DELETE(ev)) return "del";
    return "trunc";
}

bool accepted_type(Oid t) {
    return t == INT2OID || t == INT4OID || t == INT8OID || t == TEXTOID || t == VARCHAROID || t == UUIDOID;
}

std::string relation_name(Oid relid) {
    const char* n = nullptr;
    pg_call([&] {
        char* nsp = get_namespace_name(get_rel_namespace(relid));
        char* rel = get_rel_name(relid);
        n = nsp && rel ? quote_qualified_identifier(nsp, rel) : psprintf("%u", relid);
    });
    return n;
}

[[noreturn]] void refuse(int sqlstate, const std::string& msg, const char* hint) {
    const char* m = msg.c_str();
    pg_call([&] {
        ereport(ERROR, (errcode(sqlstate), errmsg("%s", m), hint ? errhint("%s", hint) : 0));
    });
    throw ls::Error(ls::ErrorCode::Internal, msg);  // not reached
}

std::string mismatch_with(const ls::Model* m, Oid relid, const char* model, const char* column) {
    if (!m) return "model \"" + std::string(model) + "\" does not exist";
    const ls::SourceSpec& s = m->source;
    if (s.present) {
        const std::pair<const ls::SourceTable*, const char*> roles[] = {
            {&s.leads, "id"}, {&s.events, "lead_id"}, {&s.orders, "lead_id"}, {&s.conversions, "lead_id"}};
        for (const auto& r : roles) {
            if (!r.first->present) continue;
            const std::string* col = r.first->column(r.second);
            if (!col || *col != column) continue;
            Oid rel = InvalidOid;
            const char* tn = r.first->table.c_str();
            pg_call([&] { rel = spec_relid(tn); });
            if (rel == relid) return "";
        }
    }
    return "model \"" + std::string(model) + "\" does not map " + relation_name(relid) + " with lead-id column \"" +
           column + "\"";
}

ModelPtr load_model(const char* name) {
    char* volatile text = nullptr;
    pg_call([&] { text = load_spec(name); });
    if (!text) return nullptr;
    ModelPtr m = ls::parse_model(std::string_view(text, strlen(text)));
    pg_call([&] { pfree(text); });
    return m;
}

bool name_is(const char* tgname, const char* model, const char* suffix) {
    return std::string(tgname) == "ls_" + std::string(model) + "_" + suffix;
}

// ------------------------------------------------------------ the append

// C-style. Lead ids of one transition table as palloc'd C strings, appended to
// (*ids, *n, *cap).
void collect(Tuplestorestate* ts, Relation rel, AttrNumber attnum, Oid type, char*** ids, int* n, int* cap) {
    TupleTableSlot* slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
    int ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);
    tuplestore_select_read_pointer(ts, ptr);
    tuplestore_rescan(ts);
    while (tuplestore_gettupleslot(ts, true, false, slot)) {
        CHECK_FOR_INTERRUPTS();
        bool isnull;
        Datum d = slot_getattr(slot, attnum, &isnull);
        if (isnull) continue;
        char* s;
        switch (type) {
            case INT2OID:
                s = static_cast<char*>(palloc(8));
                pg_itoa(DatumGetInt16(d), s);
                break;
            case INT4OID:
                s = static_cast<char*>(palloc(12));
                pg_ltoa(DatumGetInt32(d), s);
                break;
            case INT8OID:
                s = static_cast<char*>(palloc(MAXINT8LEN + 1));
                pg_lltoa(DatumGetInt64(d), s);
                break;
            case UUIDOID: s = DatumGetCString(DirectFunctionCall1(uuid_out, d)); break;
            default: s = text_to_cstring(DatumGetTextPP(d)); break;  // text, varchar
        }
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *ids = *ids ? static_cast<char**>(repalloc(*ids, sizeof(char*) * *cap))
                        : static_cast<char**>(palloc(sizeof(char*) * *cap));
        }
        (*ids)[(*n)++] = s;
    }
    tuplestore_select_read_pointer(ts, 0);
    ExecDropSingleTupleTableSlot(slot);
}

int cmp_cstr(const void* a, const void* b) { return strcmp(*static_cast<char* const*>(a), *static_cast<char* const*>(b)); }

// C-style: whether change_log can take rows directly (see g_direct).
bool direct_ok(Relation rel) {
    if (g_direct >= 0) return g_direct == 1;
    TupleDesc d = RelationGetDescr(rel);
    bool ok = d->natts == 2 && !TupleDescAttr(d, 0)->attisdropped && !TupleDescAttr(d, 1)->attisdropped &&
              TupleDescAttr(d, 0)->atttypid == TEXTOID && TupleDescAttr(d, 1)->atttypid == TEXTOID &&
              strcmp(NameStr(TupleDescAttr(d, 0)->attname), "model") == 0 &&
              strcmp(NameStr(TupleDescAttr(d, 1)->attname), "lead_id") == 0 && !TupleDescAttr(d, 1)->attnotnull &&
              (!d->constr || (d->constr->num_defval == 0 && d->constr->num_check == 0 &&
                              !d->constr->has_generated_stored)) &&
              rel->rd_rel->relkind == RELKIND_RELATION && !rel->rd_rel->relhastriggers &&
              !rel->rd_rel->relrowsecurity && !rel->rd_rel->relhasrules;
    g_direct = ok ? 1 : 0;
    return ok;
}

// C-style: heap and index insertion of the rows, as the logical replication
// apply worker does it.
void append_direct(Relation rel, Datum model, Datum* ids, bool* idnulls, int n) {
    EState* estate = CreateExecutorState();
    ResultRelInfo* rri = makeNode(ResultRelInfo);
    InitResultRelInfo(rri, rel, 1, nullptr, 0);
    ExecOpenIndices(rri, false);
    TupleTableSlot* slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(rel), &TTSOpsVirtual);
    for (int i = 0; i < n; ++i) {
        ExecClearTuple(slot);
        slot->tts_values[0] = model;
        slot->tts_isnull[0] = false;
        slot->tts_values[1] = ids[i];
        slot->tts_isnull[1] = idnulls[i];
        ExecStoreVirtualTuple(slot);
        simple_table_tuple_insert(rel, slot);
        if (rri->ri_NumIndices > 0) LS_EXEC_INSERT_INDEX_TUPLES(rri, slot, estate);
    }
    ExecCloseIndices(rri);
    ExecResetTupleTable(estate->es_tupleTable, false);
    FreeExecutorState(estate);
}

// C-style: appends (model, id) for each distinct id, or (model, NULL) when
// `everything` (TRUNCATE), as the extension owner.
void append(const char* model, char** ids, int n, bool everything) {
    int distinct = 0;
    if (!everything) {
        if (n == 0) return;
        if (n > 1) qsort(ids, n, sizeof(char*), cmp_cstr);
        for (int i = 0; i < n; ++i)
            if (distinct == 0 || strcmp(ids[distinct - 1], ids[i]) != 0) ids[distinct++] = ids[i];
    }
    Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * (everything ? 1 : distinct)));
    bool* elnulls = static_cast<bool*>(palloc0(sizeof(bool) * (everything ? 1 : distinct)));
    for (int i = 0; i < distinct; ++i) elems[i] = CStringGetTextDatum(ids[i]);
    if (everything) {
        elems[0] = 0;
        elnulls[0] = true;
        distinct = 1;
    }
    const Datum model_d = CStringGetTextDatum(model);

    // No PG_TRY on this path (once per statement of every writer): an ERROR
    // below aborts the (sub)transaction, which gives back the identity and
    // unwinds the GUC nest level.
    SavedIdentity saved;
    become_restricted(ext_owner_c(), &saved);
    Relation rel = table_open(g_changelog_relid, RowExclusiveLock);
    if (direct_ok(rel) && !rel->rd_rel->relhasindex) {
        for (int i = 0; i < distinct; ++i) {
            Datum vals[2] = {model_d, elems[i]};
            bool nulls[2] = {false, elnulls[i]};
            simple_heap_insert(rel, heap_form_tuple(RelationGetDescr(rel), vals, nulls));
        }
        table_close(rel, NoLock);
    } else if (direct_ok(rel)) {
        append_direct(rel, model_d, elems, elnulls, distinct);
        table_close(rel, NoLock);
    } else {
        table_close(rel, NoLock);
        int dims[1] = {distinct};
        int lbs[1] = {1};
        ArrayType* arr = construct_md_array(elems, elnulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT);
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
        if (!g_append_plan) {
            Oid types[2] = {TEXTOID, TEXTARRAYOID};
            SPIPlanPtr p = SPI_prepare(
                "INSERT INTO lead_scoring.change_log (model, lead_id) SELECT $1, pg_catalog.unnest($2)", 2, types);
            if (!p) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
            if (SPI_keepplan(p) != 0) elog(ERROR, "SPI_keepplan failed");
            g_append_plan = p;
        }
        Datum vals[2] = {model_d, PointerGetDatum(arr)};
        int rc = SPI_execute_plan(g_append_plan, vals, nullptr, false, 0);
        if (rc != SPI_OK_INSERT)
            elog(ERROR, "appending to lead_scoring.change_log failed: %s", SPI_result_code_string(rc));
        SPI_finish();
    }
    leave_restricted(saved);
}

// C-style: the hot path, once the trigger is known to be ours.
void capture_rows(TriggerData* td, const Verdict* v) {
    TriggerEvent ev = td->tg_event;
    if (TRIGGER_FIRED_BY_TRUNCATE(ev)) {
        append(v->model, nullptr, 0, true);
        return;
    }
    char** ids = nullptr;
    int n = 0, cap = 0;
    if (td->tg_newtable) collect(td->tg_newtable, td->tg_relation, v->attnum, v->basetype, &ids, &n, &cap);
    if (td->tg_oldtable) collect(td->tg_oldtable, td->tg_relation, v->attnum, v->basetype, &ids, &n, &cap);
    append(v->model, ids, n, false);
}

Datum capture(FunctionCallInfo fcinfo) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        refuse(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED, "lead_scoring._capture_changes() must be called as a trigger",
               nullptr);
    TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    const TriggerEvent ev = td->tg_event;
    const Trigger* tg = td->tg_trigger;
    const Oid relid = RelationGetRelid(td->tg_relation);
    const char* hint = "lead_scoring.refresh installs this trigger itself; drop triggers made by hand.";
    if (!TRIGGER_FIRED_AFTER(ev) || !TRIGGER_FIRED_FOR_STATEMENT(ev))
        refuse(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
               "lead_scoring._capture_changes() must be fired AFTER ... FOR EACH STATEMENT", hint);
    const bool needs_new = TRIGGER_FIRED_BY_INSERT(ev) || TRIGGER_FIRED_BY_UPDATE(ev);
    const bool needs_old = TRIGGER_FIRED_BY_DELETE(ev) || TRIGGER_FIRED_BY_UPDATE(ev);
    if ((needs_new && !td->tg_newtable) || (needs_old && !td->tg_oldtable))
        refuse(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
               "lead_scoring._capture_changes() needs the statement's transition tables (REFERENCING ... TABLE AS ...)",
               hint);

    Verdict* v = nullptr;
    pg_call([&] {
        ensure_cache();
        bool found;
        v = static_cast<Verdict*>(hash_search(g_verdicts, &tg->tgoid, HASH_ENTER, &found));
        if (!found) v->valid = false;
    });
    if (!v->valid || v->relid != relid) {
        if (tg->tgnargs != 2)
            refuse(ERRCODE_INSUFFICIENT_PRIVILEGE,
                   "trigger \"" + std::string(tg->tgname) +
                       "\" is not a change-capture trigger of lead_scoring: it must have two arguments (model, lead-id column)",
                   hint);
        const char* model = tg->tgargs[0];
        const char* column = tg->tgargs[1];
        const uint64 invals = g_invals;
        std::string why = name_is(tg->tgname, model, event_suffix(ev))
                              ? capture_mismatch(relid, model, column)
                              : "it is not named ls_" + std::string(model) + "_" + event_suffix(ev);
        if (!why.empty())
            refuse(ERRCODE_INSUFFICIENT_PRIVILEGE,
                   "trigger \"" + std::string(tg->tgname) + "\" on " + relation_name(relid) +
                       " is not a change-capture trigger of lead_scoring: " + why,
                   "lead_scoring.refresh installs and removes these triggers itself; drop this one.");
        AttrNumber att = InvalidAttrNumber;
        Oid base = InvalidOid;
        pg_call([&] {
            att = get_attnum(relid, column);
            if (att > 0) base = getBaseType(get_atttype(relid, att));
        });
        if (!accepted_type(base)) {
            std::string tn;
            pg_call([&] { tn = format_type_be(base); });
            refuse(ERRCODE_DATATYPE_MISMATCH,
                   "change capture: column \"" + std::string(column) + "\" of " + relation_name(relid) + " has type " + tn +
                       "; a lead id must be smallint, integer, bigint, text, varchar or uuid",
                   nullptr);
        }
        // Re-fetched: the lookups above may have run invalidation callbacks.
        pg_call([&] { v = static_cast<Verdict*>(hash_search(g_verdicts, &tg->tgoid, HASH_ENTER, nullptr)); });
        v->relid = relid;
        v->attnum = att;
        v->basetype = base;
        strlcpy(v->model, model, sizeof v->model);
        v->valid = invals == g_invals;
    }
    // A dropped column keeps its attnum: refuse rather than read garbage.
    if (TupleDescAttr(RelationGetDescr(td->tg_relation), v->attnum - 1)->attisdropped)
        refuse(ERRCODE_UNDEFINED_COLUMN, "change capture: the lead-id column of " + relation_name(relid) + " was dropped",
               nullptr);
    pg_call([&] { capture_rows(td, v); });
    return PointerGetDatum(nullptr);
}

// Trigger names and relations of capture triggers that look like refresh's
// (ls_<model>_<suffix> with two arguments); model = nullptr for all models.
struct Installed {
    Oid relid;
    std::string tgname, model, column;
};

std::vector<Installed> installed(const char* model) {
    std::vector<Installed> out;
    Oid fn = InvalidOid;
    pg_call([&] {
        List* names = list_make2(makeString(pstrdup("lead_scoring")), makeString(pstrdup("_capture_changes")));
        fn = LookupFuncName(names, 0, nullptr, true);
    });
    if (!OidIsValid(fn)) return out;
    uint64 n = 0;
    pg_call([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
        Oid types[1] = {OIDOID};
        Datum vals[1] = {ObjectIdGetDatum(fn)};
        int rc = SPI_execute_with_args(
            "SELECT t.tgrelid, t.tgname::pg_catalog.text, t.tgnargs, t.tgargs FROM pg_catalog.pg_trigger t "
            "WHERE t.tgfoid OPERATOR(pg_catalog.=) $1",
            1, types, vals, nullptr, true, 0);
        if (rc != SPI_OK_SELECT) elog(ERROR, "reading pg_trigger failed: %s", SPI_result_code_string(rc));
        n = SPI_processed;
    });
    for (uint64 r = 0; r < n; ++r) {
        Oid relid = InvalidOid;
        const char* name = nullptr;
        int nargs = 0;
        bytea* args = nullptr;
        pg_call([&] {
            HeapTuple tup = SPI_tuptable->vals[r];
            TupleDesc d = SPI_tuptable->tupdesc;
            bool isnull;
            relid = DatumGetObjectId(SPI_getbinval(tup, d, 1, &isnull));
            name = SPI_getvalue(tup, d, 2);
            nargs = DatumGetInt16(SPI_getbinval(tup, d, 3, &isnull));
            args = DatumGetByteaPP(SPI_getbinval(tup, d, 4, &isnull));
        });
        if (nargs != 2) continue;
        // tgargs: the arguments, each followed by a NUL byte.
        const char* a0 = VARDATA_ANY(args);
        const size_t len = VARSIZE_ANY_EXHDR(args);
        const size_t l0 = strnlen(a0, len);
        if (l0 + 1 >= len) continue;
        Installed i;
        i.relid = relid;
        i.tgname = name;
        i.model.assign(a0, l0);
        i.column.assign(a0 + l0 + 1, strnlen(a0 + l0 + 1, len - l0 - 1));
        if (model && i.model != model) continue;
        bool ours = false;
        for (const char* s : {"ins", "upd", "del", "trunc"}) ours = ours || name_is(name, i.model.c_str(), s);
        if (ours) out.push_back(std::move(i));
    }
    pg_call([] { SPI_finish(); });
    return out;
}

}  // namespace

Oid extension_owner() {
    Oid o = InvalidOid;
    pg_call([&] { o = ext_owner_c(); });
    return o;
}

std::string capture_mismatch(Oid relid, const char* model, const char* column) {
    ModelPtr m = load_model(model);
    return mismatch_with(m.get(), relid, model, column);
}

int drop_stale_capture(const char* model) {
    std::vector<Installed> all = installed(model);
    std::unordered_map<std::string, ModelPtr> models;
    std::string ddl;
    int dropped = 0;
    for (const Installed& i : all) {
        auto it = models.find(i.model);
        if (it == models.end()) it = models.emplace(i.model, load_model(i.model.c_str())).first;
        if (mismatch_with(it->second.get(), i.relid, i.model.c_str(), i.column.c_str()).empty()) continue;
        const char* q = nullptr;
        const char* tn = i.tgname.c_str();
        pg_call([&] { q = quote_identifier(tn); });
        ddl += "DROP TRIGGER " + std::string(q) + " ON " + relation_name(i.relid) + "; ";
        dropped++;
    }
    if (ddl.empty()) return 0;
    const char* sql = ddl.c_str();
    pg_call([&] {
        run_restricted(ext_owner_c(), [&] {
            if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
            int rc = SPI_execute(sql, false, 0);
            if (rc < 0) elog(ERROR, "dropping stale change-capture triggers failed: %s", SPI_result_code_string(rc));
            SPI_finish();
        });
    });
    return dropped;
}

}  // namespace ls::pg

LS_FUNCTION(ls_capture_changes) { return ls::pg::capture(fcinfo); }

// AFTER UPDATE OR DELETE OR TRUNCATE ON lead_scoring.model, per statement:
// removes the capture triggers of models that were deleted, renamed or no
// longer map the table (they would refuse every write to it).
LS_FUNCTION(ls_model_capture_cleanup) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw ls::Error(ls::ErrorCode::InvalidParameter, "lead_scoring._model_capture_cleanup() must be called as a trigger");
    ls::pg::drop_stale_capture(nullptr);
    return PointerGetDatum(nullptr);
}
