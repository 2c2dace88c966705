// The C++/PostgreSQL boundary. Include every core header BEFORE this file.
//
// Two guards, one for each direction (doc/hardening.md, "Error boundary"):
//  * C++ called from PostgreSQL: guarded_call() runs C++ code, catches every
//    exception, copies its message into a static buffer inside the catch (so
//    nothing there can longjmp), and raises it with ereport(ERROR) only after
//    the C++ frames are gone. LS_FUNCTION defines an SQL-callable function whose
//    body runs this way (guarded()).
//  * PostgreSQL called from C++: pg_call() runs a lambda that only calls
//    PostgreSQL and holds no C++ object with a destructor, and turns its ERROR
//    into a C++ exception (PgError) that the guard above rethrows unchanged.
// Code that holds no C++ object with a destructor may call PostgreSQL directly
// ("C-style" in the comments). Long loops call check_interrupts().
#pragma once

#include "core/error.hpp"

#include <new>
#include <stdexcept>
#include <string>

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
};

// What PG_TRY saves on entry and puts back on every way out but one: a C++
// exception thrown inside a PG_TRY block leaves through neither PG_CATCH nor
// PG_END_TRY, and these still point into the frame it unwound. An ereport
// then would longjmp into that dead frame. guarded_call() saves them before
// the C++ code runs and puts them back before raising (as pg_duckdb's
// InvokeCPPFunc does), with a WARNING, since a PG_CATCH was skipped.
struct ErrorStacks {
    sigjmp_buf* exception_stack;
    ErrorContextCallback* context_stack;
};

inline ErrorStacks save_error_stacks() { return ErrorStacks{PG_exception_stack, error_context_stack}; }

// Classifies the exception being handled into `out`; copies its text into a
// static buffer. Never calls PostgreSQL. Only call from inside a catch block.
void capture_exception(PendingError* out) noexcept;

// Puts back the error stacks saved before the C++ code ran, then raises what
// capture_exception recorded. Call from a frame with no live C++ objects.
[[noreturn]] void raise_pending(const PendingError& e, const ErrorStacks& saved);

// Runs f (C++ code, which may throw) and returns its result; an exception is
// raised as a PostgreSQL ERROR once f's frames are gone.
template <typename F>
inline auto guarded_call(F&& f) -> decltype(f()) {
    const ErrorStacks saved = save_error_stacks();
    PendingError err;
    try {
        return f();
    } catch (...) {
        capture_exception(&err);
    }
    raise_pending(err, saved);
}

template <typename Impl>
inline Datum guarded(FunctionCallInfo fcinfo, Impl impl) {
    return guarded_call([&] { return impl(fcinfo); });
}

// Runs f (a lambda that only calls PostgreSQL and holds no C++ objects with
// destructors) and turns a PostgreSQL ERROR into a C++ PgError. f must not
// throw: the exception would skip this PG_CATCH (see ErrorStacks).
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

// The jsonb value of JSON text made in C++ (its syntax errors as jsonb_in
// raises them), safe to call with C++ objects alive: the text is copied to
// PostgreSQL memory before any PostgreSQL call that could fail.
Datum jsonb_result(const char* json, size_t len);
inline Datum jsonb_result(const std::string& json) { return jsonb_result(json.data(), json.size()); }

// C-style. The memory context of the aggregate calling this transition,
// combine, (de)serialize or final function; 0A000 when it is called outside
// an aggregate (`fn` names it in the message).
MemoryContext agg_context(FunctionCallInfo fcinfo, const char* fn);

int sqlstate_of(ls::ErrorCode code);

}  // namespace ls::pg

#define LS_FUNCTION(name)                                                          \
    static Datum name##_impl(FunctionCallInfo fcinfo);                             \
    extern "C" {                                                                   \
    PG_FUNCTION_INFO_V1(name);                                                     \
    }                                                                              \
    Datum name(PG_FUNCTION_ARGS) { return ::ls::pg::guarded(fcinfo, name##_impl); } \
    static Datum name##_impl(FunctionCallInfo fcinfo)
