// Unit tests of the logistic regression core (src/core/logistic.cpp) against
// solutions derived by hand.
#include "core/error.hpp"
#include "core/logistic.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

using Rows = std::vector<double>;

void add(Rows* r, std::initializer_list<double> x, int y, int times = 1) {
    for (int k = 0; k < times; ++k) {
        for (double v : x) r->push_back(v);
        r->push_back(y);
    }
}

// Solves (a + c) tanh(w / 2) + l2 w = a - c by bisection (see the symmetric
// design in SymmetricOneFeatureWithL2).
double symmetric_solution(double a, double c, double l2) {
    double lo = -50, hi = 50;
    for (int i = 0; i < 200; ++i) {
        double mid = 0.5 * (lo + hi);
        if ((a + c) * std::tanh(mid / 2) + l2 * mid - (a - c) > 0) hi = mid; else lo = mid;
    }
    return 0.5 * (lo + hi);
}

TEST(Logistic, InterceptOnly) {
    Rows r;
    add(&r, {}, 1, 3);
    add(&r, {}, 0, 7);
    auto res = ls::logistic_fit(r.data(), 10, 0, {});
    EXPECT_TRUE(res.converged);
    EXPECT_NEAR(res.intercept, std::log(3.0 / 7.0), 1e-9);
}

TEST(Logistic, BinaryFeatureUnpenalisedIsLogOdds) {
    // x = 0: 2 of 10 convert; x = 1: 6 of 8 convert.
    Rows r;
    add(&r, {0}, 1, 2);
    add(&r, {0}, 0, 8);
    add(&r, {1}, 1, 6);
    add(&r, {1}, 0, 2);
    ls::LogisticOptions o;
    o.l2 = 0;
    auto res = ls::logistic_fit(r.data(), 18, 1, o);
    EXPECT_TRUE(res.converged);
    EXPECT_NEAR(res.intercept, std::log(2.0 / 8.0), 1e-8);
    EXPECT_NEAR(res.coef[0], std::log(6.0 / 2.0) - std::log(2.0 / 8.0), 1e-8);
    EXPECT_LT(res.gradient_norm, 1e-6);
}

TEST(Logistic, SymmetricOneFeatureWithL2) {
    // x = +1: a positives, c negatives; x = -1: c positives, a negatives. By
    // symmetry b = 0 and the gradient in w is (a+c)(2 sigma(w) - 1) - (a - c) + l2 w.
    const double a = 9, c = 4;
    for (double l2 : {0.0, 0.5, 1.0, 5.0}) {
        Rows r;
        add(&r, {1}, 1, 9);
        add(&r, {1}, 0, 4);
        add(&r, {-1}, 1, 4);
        add(&r, {-1}, 0, 9);
        ls::LogisticOptions o;
        o.l2 = l2;
        auto res = ls::logistic_fit(r.data(), 26, 1, o);
        EXPECT_TRUE(res.converged);
        EXPECT_NEAR(res.intercept, 0.0, 1e-9);
        EXPECT_NEAR(res.coef[0], symmetric_solution(a, c, l2), 1e-8) << "l2 = " << l2;
    }
}

TEST(Logistic, SeparableWithoutPenaltyStops) {
    Rows r;
    for (int i = 0; i < 20; ++i) add(&r, {static_cast<double>(i)}, i >= 10 ? 1 : 0);
    ls::LogisticOptions o;
    o.l2 = 0;
    auto res = ls::logistic_fit(r.data(), 20, 1, o);
    EXPECT_LE(res.iterations, o.max_iterations);
    // Either it gave up or the coefficient is large: the optimum is at infinity.
    EXPECT_TRUE(!res.converged || res.coef[0] > 5);
    EXPECT_LT(res.log_loss, 1e-3);
}

TEST(Logistic, DuplicatedColumnGetsEqualCoefficients) {
    std::mt19937 rng(7);
    std::normal_distribution<double> nd;
    Rows r, r1;
    for (int i = 0; i < 300; ++i) {
        double x = nd(rng), z = nd(rng);
        int y = (0.8 * x - 0.5 * z + nd(rng)) > 0;
        add(&r, {x, x, z}, y);
        // (x, x, z) with w1 = w2 = a predicts like (sqrt2 x, z) with sqrt2 a and
        // has the same penalty 2a^2 = (sqrt2 a)^2: the optima correspond.
        add(&r1, {std::sqrt(2.0) * x, z}, y);
    }
    for (double l2 : {0.0, 1.0}) {
        ls::LogisticOptions o;
        o.l2 = l2;
        auto res = ls::logistic_fit(r.data(), 300, 3, o);
        auto one = ls::logistic_fit(r1.data(), 300, 2, o);
        EXPECT_TRUE(res.converged) << l2;
        EXPECT_TRUE(one.converged) << l2;
        // Unique optimum with a penalty; with l2 = 0 only the sum is identified
        // (the ridge-damped Newton step splits it almost evenly).
        EXPECT_NEAR(res.coef[0], res.coef[1], l2 > 0 ? 1e-9 : 1e-3);
        EXPECT_NEAR(res.coef[0] + res.coef[1], std::sqrt(2.0) * one.coef[0], 1e-8);
        EXPECT_NEAR(res.coef[2], one.coef[1], 1e-8);
        EXPECT_NEAR(res.intercept, one.intercept, 1e-8);
        EXPECT_NEAR(res.log_loss, one.log_loss, 1e-12);
    }
}

TEST(Logistic, RegularisationPathShrinks) {
    std::mt19937 rng(3);
    std::normal_distribution<double> nd;
    Rows r;
    for (int i = 0; i < 200; ++i) {
        double x = nd(rng) * 1000 + 5000, z = nd(rng);  // very different scales
        add(&r, {x, z}, (0.002 * (x - 5000) + z + nd(rng)) > 0);
    }
    double prev = INFINITY;
    for (double l2 : {0.0, 0.1, 1.0, 10.0, 100.0, 1000.0}) {
        ls::LogisticOptions o;
        o.l2 = l2;
        auto res = ls::logistic_fit(r.data(), 200, 2, o);
        EXPECT_TRUE(res.converged) << l2;
        double norm = std::hypot(res.coef[0], res.coef[1]);
        EXPECT_LT(norm, prev);
        prev = norm;
    }
}

TEST(Logistic, InterruptIsCalledAndCanCancel) {
    Rows r;
    add(&r, {1}, 1, 3);
    add(&r, {0}, 0, 3);
    ls::LogisticOptions o;
    int calls = 0;
    o.interrupt = [&] { if (++calls > 2) throw std::runtime_error("cancel"); };
    EXPECT_THROW(ls::logistic_fit(r.data(), 6, 1, o), std::runtime_error);
    EXPECT_GT(calls, 2);
}

TEST(Logistic, BadInput) {
    Rows r;
    add(&r, {1}, 1);
    ls::LogisticOptions o;
    o.l2 = -1;
    EXPECT_THROW(ls::logistic_fit(r.data(), 1, 1, o), ls::Error);
    EXPECT_THROW(ls::logistic_fit(r.data(), 0, 1, {}), ls::Error);
}

}  // namespace

// Found by test/fuzz/states_fuzz.cpp: features near the float8 limit made the
// Hessian's diagonal infinite and the damping loop spin forever (a backend that
// ignored statement_timeout and pg_cancel_backend). Now an error.
TEST(Logistic, HugeFeaturesErrorInsteadOfHanging) {
    std::vector<double> rows = {0.5, 4.920861767090774e+160, 1.0,  -8.8e-39, -2.3158417847463255e+77, 0.0,
                                2.0, 0.0,                    1.0,  3.6e-304, 0.0,                     0.0};
    ls::LogisticOptions opt;
    opt.l2 = 0.0625;
    EXPECT_THROW(ls::logistic_fit(rows.data(), 4, 2, opt), ls::Error);
}

// Two values of 2^1023 in one column: their sum, and so the column mean,
// overflow, and the fit came out NaN (found by test/fuzz/states_fuzz.cpp).
TEST(Logistic, FeaturesWhoseMeanOverflowsError) {
    const double big = std::ldexp(1.0, 1023);
    std::vector<double> rows = {big, 0.00390625, 0.0, big, 0.00390625, 1.0, 1.5, -2.0, 0.0, 0.0, 2.4158e-319, 1.0};
    ls::LogisticOptions opt;
    opt.l2 = 1.0;
    try {
        ls::logistic_fit(rows.data(), 4, 2, opt);
        FAIL() << "no error";
    } catch (const ls::Error& e) {
        EXPECT_EQ(e.code(), ls::ErrorCode::InvalidParameter);
    }
}
