// L2-regularised logistic regression (doc/eval.md, lead_scoring.logistic_fit).
//
// Minimises  f(b, w) = sum_i logloss(y_i, b + w.x_i) + (l2 / 2) * |w|^2
// (the intercept b is not penalised) by Newton's method with a backtracking
// (Armijo) line search. Why Newton over the stored rows: logistic regression has
// no finite sufficient statistics, so an aggregate must either keep the rows
// (n * (d + 1) doubles) and iterate in its final function, or approximate. With
// the rows, Newton converges quadratically to a gradient norm below 1e-6 in a
// handful of passes (each pass costs n * d^2 for the Hessian), while L-BFGS would
// need tens to hundreds of passes for the same tolerance. d is at most
// kLogisticMaxFeatures, so the (d+1)^2 Hessian is small.
//
// Numerics: columns are centred and scaled internally (an exact
// reparametrisation, the objective is unchanged), the loss uses the stable form
// log(1 + exp(-|z|)) + max(z, 0) - y z, and a Hessian that is not positive
// definite (collinear columns with l2 = 0, or separable data where p(1-p)
// underflows) gets a growing ridge until its Cholesky factorisation succeeds.
// On separable data with l2 = 0 the minimum is at infinity: the fit stops when
// the gradient norm falls below the tolerance (large coefficients) or after
// max_iterations with converged = false.
#pragma once
#include "core/cpp_only.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace ls {

constexpr size_t kLogisticMaxFeatures = 1000;

struct LogisticOptions {
    double l2 = 1.0;
    int max_iterations = 100;
    double tolerance = 1e-6;  // on the Euclidean norm of the gradient of f
    // Called once per pass and every few thousand rows inside a pass; may throw
    // to cancel (the glue passes PostgreSQL's interrupt check).
    std::function<void()> interrupt;
};

struct LogisticResult {
    double intercept = 0;
    std::vector<double> coef;
    int iterations = 0;
    bool converged = false;
    double log_loss = 0;       // mean log loss per row (without the penalty)
    double gradient_norm = 0;  // of f at the returned point
    double objective = 0;      // f at the returned point
};

// rows: n rows of d features followed by the label (0 or 1), row-major,
// stride d + 1. Requires n >= 1, d <= kLogisticMaxFeatures, finite values and
// l2 >= 0 (checked by the caller; violations throw ls::Error InvalidParameter).
LogisticResult logistic_fit(const double* rows, size_t n, size_t d, const LogisticOptions& opt);

// {"intercept": b, "coef": [...], "iterations": n, "converged": bool,
//  "log_loss": x, "gradient_norm": g, "rows": n, "l2": l2}
std::string logistic_json(const LogisticResult& r, size_t n, double l2);

}  // namespace ls
