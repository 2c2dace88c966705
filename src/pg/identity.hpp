// Running work as another role the way PostgreSQL runs REFRESH MATERIALIZED
// VIEW as the view's owner: that role, inside a security-restricted operation
// (no SET ROLE, no new temporary schema, no cursors or prepared statements
// outliving the call), with a GUC nest level so that settings the role's code
// changes are rolled back when the work returns. The identity to return to is
// kept by each caller on its own stack frame, never in a global that a nested
// call would overwrite. become_restricted and the leave_* functions make only
// PostgreSQL calls that cannot fail; run_restricted wraps the three around
// C-style work.
//
// Error boundary: plain C (PG_TRY in run_restricted), no C++ objects.
#pragma once

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"
}

namespace ls::pg {

struct SavedIdentity {
    Oid user = InvalidOid;
    int sec = 0;
    int guc_nest = -1;
};

inline void become_restricted(Oid role, SavedIdentity* saved) {
    GetUserIdAndSecContext(&saved->user, &saved->sec);
    SetUserIdAndSecContext(role, saved->sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    saved->guc_nest = NewGUCNestLevel();
}

// After the work returned: its settings are undone, the identity given back.
inline void leave_restricted(const SavedIdentity& saved) {
    if (saved.guc_nest >= 0) AtEOXact_GUC(false, saved.guc_nest);
    SetUserIdAndSecContext(saved.user, saved.sec);
}

// After the work failed: the identity is given back at once, so nothing that
// runs before the (sub)transaction abort runs as the other role; the abort
// unwinds the GUC nest level, as it does for REFRESH MATERIALIZED VIEW.
inline void leave_restricted_on_error(const SavedIdentity& saved) { SetUserIdAndSecContext(saved.user, saved.sec); }

// C-style: runs f (PostgreSQL calls only, no C++ object with a destructor) as
// `role`, restricted; the identity is given back whether f returns or raises.
template <typename F>
inline void run_restricted(Oid role, F&& f) {
    SavedIdentity saved;  // set before PG_TRY, never after: need not be volatile
    become_restricted(role, &saved);
    PG_TRY();
    {
        f();
    }
    PG_CATCH();
    {
        leave_restricted_on_error(saved);
        PG_RE_THROW();
    }
    PG_END_TRY();
    leave_restricted(saved);
}

}  // namespace ls::pg
