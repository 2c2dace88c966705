// The C++/PostgreSQL boundary. Include every core header BEFORE this file.
//
// Rules every glue function follows (DESIGN.md §10):
//  * SQL-callable entry points are defined with LS_FUNCTION, which catches every
//    C++ exception and raises it with ereport(ERROR) only after the C++ frames
//    are gone (the message is copied into a static buffer inside the catch, so
//    nothing in a catch block can longjmp).
//  * PostgreSQL calls that can elog(ERROR) are made either in frames that hold no
//    C++ object with a destructor, or through pg_call(), which turns the error
//    into a C++ exception (PgError) that LS_FUNCTION rethrows unchanged.
//  * Long loops call check_interrupts().
#pragma once

#include "core/error.hpp"

#include <new>
#include <stdexcept>

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/elog.h"
#include "utils/memutils.h"
}

#include "pg/compat.hpp"

namespace ls::pg {

// A PostgreSQL error caught by pg_call, carried as a C++ exception.
struct PgError {
    ErrorData* edata;
};

struct PendingError {
    ErrorData* edata = nullptr;  // a PostgreSQL error to rethrow as is
    int sqlerrcode = 0;
    bool pending = false;
};

// Classifies the exception being handled into `out`; copies its text into a
// static buffer. Never calls PostgreSQL. Only call from inside a catch block.
void capture_exception(PendingError* out) noexcept;

// Raises what capture_exception recorded. Call from a frame with no live C++
// objects.
[[noreturn]] void raise_pending(const PendingError& e);

template <typename Impl>
inline Datum guarded(FunctionCallInfo fcinfo, Impl impl) {
    PendingError err;
    try {
        return impl(fcinfo);
    } catch (...) {
        capture_exception(&err);
    }
    raise_pending(err);
}

// Runs f (a lambda that only calls PostgreSQL and holds no C++ objects with
// destructors) and turns a PostgreSQL ERROR into a C++ PgError.
template <typename F>
inline void pg_call(F&& f) {
    MemoryContext volatile oldcxt = CurrentMemoryContext;
    ErrorData* volatile edata = nullptr;
    PG_TRY();
    {
        f();
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(oldcxt);
        edata = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (edata) throw PgError{edata};
}

inline void check_interrupts() {
    if (unlikely(INTERRUPTS_PENDING_CONDITION())) pg_call([] { CHECK_FOR_INTERRUPTS(); });
}

// palloc'd copy of a C++ string (in CurrentMemoryContext), safe to call with
// C++ objects alive.
char* pg_strdup(const char* s, size_t len);

int sqlstate_of(ls::ErrorCode code);

}  // namespace ls::pg

#define LS_FUNCTION(name)                                                          \
    static Datum name##_impl(FunctionCallInfo fcinfo);                             \
    extern "C" {                                                                   \
    PG_FUNCTION_INFO_V1(name);                                                     \
    }                                                                              \
    Datum name(PG_FUNCTION_ARGS) { return ::ls::pg::guarded(fcinfo, name##_impl); } \
    static Datum name##_impl(FunctionCallInfo fcinfo)
