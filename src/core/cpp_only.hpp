// Included first by every core header: the core is plain C++ that must never see
// PostgreSQL's headers (their macros, longjmp-based errors and allocator do not
// mix with C++ objects). The glue in src/pg/ includes core headers before
// postgres.h for exactly this reason.
#pragma once
#if defined(POSTGRES_H) || defined(C_H)
#error "src/core headers must not be compiled together with PostgreSQL headers (include them before postgres.h)"
#endif
