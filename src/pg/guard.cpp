// The guards of pg/glue.hpp: how a C++ exception becomes a PostgreSQL ERROR
// (capture_exception in the catch, raise_pending after it), and the small
// helpers every glue file shares.
//
// Error boundary: the guards themselves; the helpers are C-style or use pg_call.
#include "core/error.hpp"

#include "pg/glue.hpp"

#include <cstring>

extern "C" {
#include "utils/errcodes.h"
#include "utils/fmgrprotos.h"
}

namespace ls::pg {

namespace {
// One message at a time per backend: filled inside a catch block, raised right
// after it. A static buffer means no allocation (and so no longjmp) in the catch.
char g_message[2048];

// A longer message is cut at a character boundary and ends in "...": cut in
// the middle of a UTF-8 sequence, it was invalid text, which a client in
// another encoding received as "invalid byte sequence" instead of our error.
void copy_message(const char* what) noexcept {
    const char* s = what ? what : "";
    size_t n = std::strlen(s);
    const size_t cap = sizeof g_message - 1;
    if (n <= cap) {
        std::memcpy(g_message, s, n + 1);
        return;
    }
    n = cap - 3;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // s[n] starts the cut character
    std::memcpy(g_message, s, n);
    std::memcpy(g_message + n, "...", 4);
}
}  // namespace

int sqlstate_of(ls::ErrorCode code) {
    switch (code) {
        case ls::ErrorCode::InvalidParameter: return ERRCODE_INVALID_PARAMETER_VALUE;
        case ls::ErrorCode::NullValue: return ERRCODE_NULL_VALUE_NOT_ALLOWED;
        case ls::ErrorCode::DataCorrupted: return ERRCODE_DATA_CORRUPTED;
        case ls::ErrorCode::FeatureNotSupported: return ERRCODE_FEATURE_NOT_SUPPORTED;
        case ls::ErrorCode::ProgramLimit: return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
        case ls::ErrorCode::Internal: return ERRCODE_INTERNAL_ERROR;
    }
    return ERRCODE_INTERNAL_ERROR;
}

void capture_exception(PendingError* out) noexcept {
    try {
        throw;
    } catch (const PgError& e) {
        out->edata = e.edata;
    } catch (const ls::Error& e) {
        out->sqlerrcode = sqlstate_of(e.code());
        copy_message(e.what());
    } catch (const std::bad_alloc&) {
        out->sqlerrcode = ERRCODE_OUT_OF_MEMORY;
        copy_message("out of memory in lead_scoring");
    } catch (const std::length_error& e) {
        out->sqlerrcode = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
        copy_message(e.what());
    } catch (const std::exception& e) {
        out->sqlerrcode = ERRCODE_INTERNAL_ERROR;
        copy_message(e.what());
    } catch (...) {
        out->sqlerrcode = ERRCODE_INTERNAL_ERROR;
        copy_message("unknown C++ exception in lead_scoring");
    }
}

void raise_pending(const PendingError& e, const ErrorStacks& saved) {
    const bool skipped_catch =
        saved.exception_stack != PG_exception_stack || saved.context_stack != error_context_stack;
    PG_exception_stack = saved.exception_stack;
    error_context_stack = saved.context_stack;
    if (skipped_catch)
        ereport(WARNING, (errcode(ERRCODE_INTERNAL_ERROR),
                          errmsg("lead_scoring: a C++ exception left a PG_TRY block; its PG_CATCH did not run")));
    if (e.edata) ReThrowError(e.edata);
    ereport(ERROR, (errcode(e.sqlerrcode), errmsg("%s", g_message)));
    pg_unreachable();
}

char* pg_strdup(const char* s, size_t len) {
    char* volatile out = nullptr;
    pg_call([&] {
        out = static_cast<char*>(palloc(len + 1));
        memcpy(out, s, len);
        out[len] = '\0';
    });
    return out;
}

Datum jsonb_result(const char* json, size_t len) {
    char* volatile c = pg_strdup(json, len);
    Datum volatile out = 0;
    pg_call([&] { out = DirectFunctionCall1(jsonb_in, CStringGetDatum(c)); });
    return out;
}

MemoryContext agg_context(FunctionCallInfo fcinfo, const char* fn) {
    MemoryContext cxt;
    if (!AggCheckCallContext(fcinfo, &cxt))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("%s called in non-aggregate context", fn)));
    return cxt;
}

}  // namespace ls::pg
