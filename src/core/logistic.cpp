#include "core/logistic.hpp"

#include "core/error.hpp"
#include "core/value.hpp"

#include <algorithm>
#include <cmath>

namespace ls {

namespace {

// log(1 + exp(z)) without overflow.
inline double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

inline double sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
    double e = std::exp(z);
    return e / (1.0 + e);
}

constexpr size_t kRowsPerInterrupt = 16384;

Error too_large() {
    return Error(ErrorCode::InvalidParameter, "logistic_fit: the features are too large to fit (they overflow float8)");
}

// The problem in centred and scaled coordinates: t = (x - mu) / sd, parameters
// theta = (c, v) with c = b + w.mu and v = w * sd; penalty (l2/2) sum (v_j/sd_j)^2.
struct Problem {
    const double* rows;
    size_t n, d;
    std::vector<double> mu, sd, inv_sd;
    double l2;
    const std::function<void()>* interrupt;

    void poll(size_t i) const {
        if (*interrupt && i % kRowsPerInterrupt == 0) (*interrupt)();
    }

    // f at theta; also the gradient (size d+1) and the upper triangle of the
    // Hessian (row-major (d+1)^2) when asked.
    double eval(const std::vector<double>& th, std::vector<double>* g, std::vector<double>* h,
                double* loss_sum) const {
        const size_t p = d + 1;
        std::vector<double> tv(p);
        double loss = 0;
        if (g) std::fill(g->begin(), g->end(), 0.0);
        if (h) std::fill(h->begin(), h->end(), 0.0);
        // Raw restrict pointers: PostgreSQL builds with -fno-strict-aliasing,
        // under which every store through a double* could change a vector's
        // own pointers, forcing reloads in the inner loops.
        double* __restrict t = tv.data();
        double* __restrict gp = g ? g->data() : nullptr;
        double* __restrict hp = h ? h->data() : nullptr;
        const double* __restrict thp = th.data();
        const double* __restrict mup = mu.data();
        const double* __restrict isp = inv_sd.data();
        for (size_t i = 0; i < n; ++i) {
            poll(i);
            const double* __restrict r = rows + i * p;
            t[0] = 1.0;
            double z = thp[0];
            for (size_t j = 0; j < d; ++j) {
                t[j + 1] = (r[j] - mup[j]) * isp[j];
                z += thp[j + 1] * t[j + 1];
            }
            double y = r[d];
            loss += softplus(z) - y * z;
            if (!gp) continue;
            double pr = sigmoid(z);
            double e = pr - y;
            for (size_t j = 0; j < p; ++j) gp[j] += e * t[j];
            if (!hp) continue;
            double s = pr * (1.0 - pr);
            if (s == 0) continue;
            for (size_t j = 0; j < p; ++j) {
                double sj = s * t[j];
                double* __restrict hr = hp + j * p;
                for (size_t k = j; k < p; ++k) hr[k] += sj * t[k];
            }
        }
        if (loss_sum) *loss_sum = loss;
        double pen = 0;
        for (size_t j = 0; j < d; ++j) {
            double w2 = 1.0 / (sd[j] * sd[j]);
            pen += th[j + 1] * th[j + 1] * w2;
            if (g) (*g)[j + 1] += l2 * th[j + 1] * w2;
            if (h) (*h)[(j + 1) * p + j + 1] += l2 * w2;
        }
        return loss + 0.5 * l2 * pen;
    }

    // Gradient of f in the original coordinates (b, w) from the scaled one.
    double original_gradient_norm(const std::vector<double>& g) const {
        double s = g[0] * g[0];
        for (size_t j = 0; j < d; ++j) {
            double gw = g[j + 1] * sd[j] + g[0] * mu[j];
            s += gw * gw;
        }
        return std::sqrt(s);
    }
};

// Solves (H + lambda I) x = -g for symmetric H given by its upper triangle,
// raising lambda until the Cholesky factorisation succeeds.
std::vector<double> newton_direction(const std::vector<double>& h, const std::vector<double>& g, size_t p) {
    double maxdiag = 0;
    for (size_t j = 0; j < p; ++j) maxdiag = std::max(maxdiag, std::fabs(h[j * p + j]));
    if (maxdiag == 0) maxdiag = 1;
    // Features near the float8 limit make the Hessian overflow: with an
    // infinite diagonal no lambda helps, and the loop below never ended (found
    // by test/fuzz/states_fuzz.cpp; the backend ignored cancels).
    if (!std::isfinite(maxdiag)) throw too_large();
    std::vector<double> l(p * p);
    for (double lambda = 0;; lambda = lambda == 0 ? 1e-12 * maxdiag : lambda * 10) {
        bool ok = true;
        for (size_t i = 0; i < p && ok; ++i) {
            for (size_t j = 0; j <= i; ++j) {
                double s = h[j * p + i] + (i == j ? lambda : 0.0);  // H[i][j] from the upper triangle
                for (size_t k = 0; k < j; ++k) s -= l[i * p + k] * l[j * p + k];
                if (i == j) {
                    if (!(s > 1e-13 * maxdiag)) { ok = false; break; }
                    l[i * p + i] = std::sqrt(s);
                } else {
                    l[i * p + j] = s / l[j * p + j];
                }
            }
        }
        if (!ok) {
            if (!(lambda <= 1e6 * maxdiag))  // also stops on a NaN or infinite lambda
                throw Error(ErrorCode::Internal, "logistic_fit: Hessian factorisation failed");
            continue;
        }
        std::vector<double> x(p);
        for (size_t i = 0; i < p; ++i) {  // L y = -g
            double s = -g[i];
            for (size_t k = 0; k < i; ++k) s -= l[i * p + k] * x[k];
            x[i] = s / l[i * p + i];
        }
        for (size_t ii = p; ii-- > 0;) {  // L^T x = y
            double s = x[ii];
            for (size_t k = ii + 1; k < p; ++k) s -= l[k * p + ii] * x[k];
            x[ii] = s / l[ii * p + ii];
        }
        return x;
    }
}

}  // namespace

LogisticResult logistic_fit(const double* rows, size_t n, size_t d, const LogisticOptions& opt) {
    if (n == 0) throw Error(ErrorCode::InvalidParameter, "logistic_fit: no rows");
    if (d > kLogisticMaxFeatures)
        throw Error(ErrorCode::ProgramLimit, "logistic_fit: at most " + std::to_string(kLogisticMaxFeatures) +
                                                 " features are supported, got " + std::to_string(d));
    if (!(opt.l2 >= 0) || !std::isfinite(opt.l2))
        throw Error(ErrorCode::InvalidParameter, "logistic_fit: l2 must be a finite number >= 0");
    const size_t p = d + 1;
    Problem pb{rows, n, d, std::vector<double>(d, 0.0), std::vector<double>(d, 0.0), std::vector<double>(d, 1.0),
               opt.l2, &opt.interrupt};
    // Column means and standard deviations (two passes for accuracy).
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < d; ++j) pb.mu[j] += rows[i * p + j];
    for (size_t j = 0; j < d; ++j) {
        pb.mu[j] /= static_cast<double>(n);
        // Two features near the float8 limit sum to infinity, and the fit
        // then came out as NaN (found by test/fuzz/states_fuzz.cpp).
        if (!std::isfinite(pb.mu[j])) throw too_large();
    }
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < d; ++j) {
            double c = rows[i * p + j] - pb.mu[j];
            pb.sd[j] += c * c;
        }
    for (size_t j = 0; j < d; ++j) {
        pb.sd[j] = std::sqrt(pb.sd[j] / static_cast<double>(n));
        if (!(pb.sd[j] > 1e-300) || !std::isfinite(pb.sd[j])) pb.sd[j] = 1.0;  // constant column
        pb.inv_sd[j] = 1.0 / pb.sd[j];
    }

    std::vector<double> th(p, 0.0), g(p), h(p * p), th_new(p);
    LogisticResult res;
    double loss_sum = 0;
    double f = pb.eval(th, &g, &h, &loss_sum);
    double gnorm = pb.original_gradient_norm(g);
    int it = 0;
    while (gnorm >= opt.tolerance && it < opt.max_iterations) {
        if (opt.interrupt) opt.interrupt();
        std::vector<double> dir = newton_direction(h, g, p);
        double slope = 0;
        for (size_t j = 0; j < p; ++j) slope += g[j] * dir[j];
        if (!(slope < 0)) break;  // no descent direction left (rounding floor)
        double step = 1.0, f_new = f;
        // When the predicted decrease is below the rounding of f the full
        // Newton step is taken: the quadratic model is exact there.
        bool tiny = -slope < 1e-13 * (1.0 + std::fabs(f));
        // The full step is tried with the gradient and Hessian computed in the
        // same pass (it is accepted almost always, saving a pass per
        // iteration); shorter steps evaluate f alone.
        std::vector<double> g_new(p), h_new(p * p);
        double loss_new = 0;
        bool accepted = false, have_derivatives = false;
        for (int ls = 0; ls < 60; ++ls) {
            for (size_t j = 0; j < p; ++j) th_new[j] = th[j] + step * dir[j];
            have_derivatives = ls == 0;
            f_new = have_derivatives ? pb.eval(th_new, &g_new, &h_new, &loss_new)
                                     : pb.eval(th_new, nullptr, nullptr, nullptr);
            if (std::isfinite(f_new) && (f_new <= f + 1e-4 * step * slope || (tiny && f_new <= f + 1e-12 * (1.0 + std::fabs(f))))) {
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        ++it;
        if (!accepted) break;
        th.swap(th_new);
        if (have_derivatives) {
            f = f_new;
            g.swap(g_new);
            h.swap(h_new);
            loss_sum = loss_new;
        } else {
            f = pb.eval(th, &g, &h, &loss_sum);
        }
        gnorm = pb.original_gradient_norm(g);
    }
    if (gnorm < opt.tolerance && gnorm > 0) {
        // One more full Newton step once inside the tolerance: it costs a pass
        // and makes the result accurate to rounding (quadratic convergence), so
        // serial and parallel plans agree far below the tolerance. Kept only if
        // it does not make the gradient worse.
        std::vector<double> dir = newton_direction(h, g, p);
        for (size_t j = 0; j < p; ++j) th_new[j] = th[j] + dir[j];
        std::vector<double> g2(p), h2(p * p);
        double loss2 = 0;
        double f2 = pb.eval(th_new, &g2, &h2, &loss2);
        double gnorm2 = pb.original_gradient_norm(g2);
        if (std::isfinite(f2) && gnorm2 <= gnorm) {
            th.swap(th_new);
            f = f2;
            loss_sum = loss2;
            gnorm = gnorm2;
        }
    }
    res.iterations = it;
    res.converged = gnorm < opt.tolerance;
    res.gradient_norm = gnorm;
    res.objective = f;
    res.log_loss = loss_sum / static_cast<double>(n);
    res.coef.resize(d);
    res.intercept = th[0];
    for (size_t j = 0; j < d; ++j) {
        res.coef[j] = th[j + 1] / pb.sd[j];
        res.intercept -= res.coef[j] * pb.mu[j];
        if (!std::isfinite(res.coef[j])) throw too_large();
    }
    // Back in the original coordinates, coef * mu can still overflow.
    if (!std::isfinite(res.intercept)) throw too_large();
    return res;
}

std::string logistic_json(const LogisticResult& r, size_t n, double l2) {
    std::string out = "{\"intercept\": ";
    append_json_number(&out, r.intercept);
    out += ", \"coef\": [";
    for (size_t j = 0; j < r.coef.size(); ++j) {
        if (j) out += ", ";
        append_json_number(&out, r.coef[j]);
    }
    out += "], \"iterations\": " + std::to_string(r.iterations);
    out += ", \"converged\": ";
    out += r.converged ? "true" : "false";
    out += ", \"log_loss\": ";
    append_json_number(&out, r.log_loss);
    out += ", \"gradient_norm\": ";
    append_json_number(&out, r.gradient_norm);
    out += ", \"rows\": " + std::to_string(n);
    out += ", \"l2\": ";
    append_json_number(&out, l2);
    out += "}";
    return out;
}

}  // namespace ls
