// lead_scoring.refresh: SPI statements and cursors, the extension owner's
// bookkeeping statements, lead ids as keys, and the array Datums the
// statements bind. The private header refresh_internal.hpp lists the files.
//
// Error boundary: C++ objects are alive (called under ls_refresh's
// LS_FUNCTION); every PostgreSQL call runs inside pg_call.
#include "pg/refresh_internal.hpp"

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/uuid.h"
}

namespace ls::pg::refresh {

std::string quote_literal(const std::string& s) {
    char* q = nullptr;
    const char* in = s.c_str();
    pg_call([&] { q = quote_literal_cstr(in); });
    return q;
}

uint64 exec(const std::string& sql, const Params* p, bool read_only) {
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

uint64 exec_owner(const std::string& sql, const Params* p, bool read_only) {
    uint64 n = 0;
    as_ext_owner([&] { n = exec(sql, p, read_only); });
    return n;
}

// Rows per cursor fetch.
constexpr long kBatch = 10000;

void Cursor::open(const std::string& sql, const Params* p, bool as_owner) {
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

bool Cursor::next() {
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

void Cursor::close() {
    pg_call([&] {
        if (tt) SPI_freetuptable(tt);
        tt = nullptr;
        SPI_cursor_close(portal);
        MemoryContextDelete(cxt);
    });
}

std::string text_of(Datum d) {
    text* t = reinterpret_cast<text*>(DatumGetPointer(d));
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

Datum text_datum(const std::string& s) {
    Datum volatile d = 0;
    pg_call([&] { d = PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size()))); });
    return d;
}

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

size_t id_width(Oid type) { return type == INT4OID ? 4 : type == INT8OID ? 8 : 0; }

double seconds(int64 us) { return static_cast<double>(us) / 1e6; }

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

// A context for one chunk of rows being written (reset after each chunk).
MemoryContext new_chunk_context() {
    MemoryContext volatile cxt = nullptr;
    pg_call([&] { cxt = AllocSetContextCreate(CurrentMemoryContext, "lead_scoring refresh chunk", ALLOCSET_DEFAULT_SIZES); });
    return cxt;
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

Datum text_array(const std::vector<std::string>& v, const std::vector<unsigned char>* isnull) {
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

Datum float8_array(const std::vector<double>& v) {
    Datum volatile out = 0;
    pg_call([&] {
        Datum* d = static_cast<Datum*>(palloc(sizeof(Datum) * (v.size() + 1)));
        for (size_t i = 0; i < v.size(); ++i) d[i] = Float8GetDatum(v[i]);
        out = PointerGetDatum(construct_array(d, static_cast<int>(v.size()), FLOAT8OID, 8, FLOAT8PASSBYVAL, 'd'));
    });
    return out;
}

}  // namespace ls::pg::refresh
