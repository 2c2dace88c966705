// What a refresh does (core/refresh_plan.hpp): tick arithmetic as date_bin
// computes it, and the idle / incremental / full decision.
#include "core/ranking.hpp"
#include "core/refresh_plan.hpp"
#include "core/error.hpp"
#include "core/spec.hpp"

#include <gtest/gtest.h>

namespace {

constexpr int64_t kSec = 1000000;
constexpr int64_t kHour = 3600 * kSec;

std::shared_ptr<const ls::Model> model(const char* activity) {
    return ls::parse_model(std::string(R"({"activity": )") + activity + "}");
}

// A previous v2 refresh in the same tick with everything in place.
ls::RefreshFacts steady(const ls::Model& m, int64_t prev_as_of, int64_t as_of) {
    ls::RefreshFacts f;
    f.has_prev = f.prev_v2 = f.same_spec = f.same_sources = f.same_target = f.prev_capture = f.state_ok = true;
    f.prev_as_of = prev_as_of;
    f.as_of = as_of;
    f.prev_tick = ls::tick_start_us(prev_as_of, m.refresh_tick_us);
    f.tick = ls::tick_start_us(as_of, m.refresh_tick_us);
    f.prev_ref = ls::landmark_us(m, f.prev_tick);
    f.ref = ls::landmark_us(m, f.tick);
    return f;
}

TEST(RefreshPlan, TickStartIsDateBinFrom1970) {
    // 2024-03-10 13:45:10 UTC in PostgreSQL microseconds (since 2000-01-01)
    const int64_t t = (761924710LL) * kSec;
    EXPECT_EQ(ls::tick_start_us(t, kHour), 761922000LL * kSec);        // 13:00
    EXPECT_EQ(ls::tick_start_us(t, 24 * kHour), 761875200LL * kSec);   // midnight UTC
    EXPECT_EQ(ls::tick_start_us(t, kSec), t);
    // a tick start is its own tick start; one microsecond before is the previous tick
    EXPECT_EQ(ls::tick_start_us(761922000LL * kSec, kHour), 761922000LL * kSec);
    EXPECT_EQ(ls::tick_start_us(761922000LL * kSec - 1, kHour), 761922000LL * kSec - kHour);
    // 7-day ticks count from Thursday 1970-01-01, not from 2000-01-01
    EXPECT_EQ((ls::tick_start_us(t, 7 * 24 * kHour) - ls::kUnixEpochPgUs) % (7 * 24 * kHour), 0);
    // before the origin: floored
    EXPECT_EQ(ls::tick_start_us(ls::kUnixEpochPgUs - 1, kHour), ls::kUnixEpochPgUs - kHour);
    EXPECT_EQ(ls::effective_time_us(5, 3), 3);
    EXPECT_EQ(ls::effective_time_us(2, 3), 2);
}

TEST(RefreshPlan, TickSpec) {
    EXPECT_EQ(ls::parse_model("{}")->refresh_tick_us, kHour);
    EXPECT_EQ(ls::parse_model(R"({"refresh": {"tick": "15 min"}})")->refresh_tick_us, 15 * 60 * kSec);
    EXPECT_EQ(ls::parse_model(R"({"refresh": {"tick": "1 day"}})")->refresh_tick_us, 24 * kHour);
    EXPECT_EQ(ls::parse_model(R"({"refresh": {"tick": "1.5 s"}})")->refresh_tick_us, 1500000);
    EXPECT_THROW(ls::parse_model(R"({"refresh": {"tick": "1 month"}})"), ls::SpecError);
    EXPECT_THROW(ls::parse_model(R"({"refresh": {"tick": "1 year"}})"), ls::SpecError);
    EXPECT_THROW(ls::parse_model(R"({"refresh": {"tick": "500 ms"}})"), ls::SpecError);
    EXPECT_THROW(ls::parse_model(R"({"refresh": {"tick": "-1 hour"}})"), ls::SpecError);
    EXPECT_THROW(ls::parse_model(R"({"refresh": {"tick": "soon"}})"), ls::SpecError);
    EXPECT_THROW(ls::parse_model(R"({"refresh": {"tick": 60}})"), ls::SpecError);
    EXPECT_THROW(ls::parse_model(R"({"refresh": {"tock": "1 hour"}})"), ls::SpecError);
}

TEST(RefreshPlan, IdleIncrementalFull) {
    auto expo = model(R"({"events": {"v": {"points": 1}}, "decay": {"kind": "exponential", "half_life": "30 days"}})");
    const int64_t t0 = 761922000LL * kSec;  // a tick start
    ls::RefreshFacts f = steady(*expo, t0 + 60 * kSec, t0 + 120 * kSec);
    EXPECT_EQ(ls::plan_refresh(*expo, f).mode, ls::RefreshMode::Idle);
    f.changes_pending = true;
    ls::RefreshPlan p = ls::plan_refresh(*expo, f);
    EXPECT_EQ(p.mode, ls::RefreshMode::Incremental);
    EXPECT_FALSE(p.all_leads);
    f.changes_pending = false;
    f.due = true;
    EXPECT_EQ(ls::plan_refresh(*expo, f).mode, ls::RefreshMode::Incremental);
    // a new tick: exponential decay is rescored from the state, every lead
    f = steady(*expo, t0 + 60 * kSec, t0 + kHour + 1);
    p = ls::plan_refresh(*expo, f);
    EXPECT_EQ(p.mode, ls::RefreshMode::Incremental);
    EXPECT_TRUE(p.all_leads);
    // ... linear decay and windows from the events
    auto lin = model(R"({"events": {"v": {"points": 1}}, "decay": {"kind": "linear", "lifetime": "30 days"}})");
    f = steady(*lin, t0 + 60 * kSec, t0 + kHour + 1);
    EXPECT_EQ(ls::plan_refresh(*lin, f).mode, ls::RefreshMode::Full);
    f = steady(*lin, t0 + 60 * kSec, t0 + 120 * kSec);
    f.changes_pending = true;
    EXPECT_EQ(ls::plan_refresh(*lin, f).mode, ls::RefreshMode::Incremental);  // within a tick
    auto win = model(R"({"events": {"v": {"points": 1}}, "window": "7 days"})");
    f = steady(*win, t0 + 60 * kSec, t0 + kHour + 1);
    EXPECT_EQ(ls::plan_refresh(*win, f).mode, ls::RefreshMode::Full);
    // what forces a full refresh in any tick
    auto check_full = [&](void (*edit)(ls::RefreshFacts*)) {
        ls::RefreshFacts g = steady(*expo, t0 + 60 * kSec, t0 + 120 * kSec);
        edit(&g);
        return ls::plan_refresh(*expo, g).mode == ls::RefreshMode::Full;
    };
    EXPECT_TRUE(check_full([](ls::RefreshFacts* g) { g->want_full = true; }));
    EXPECT_TRUE(check_full([](ls::RefreshFacts* g) { g->has_prev = false; }));
    EXPECT_TRUE(check_full([](ls::RefreshFacts* g) { g->prev_v2 = false; }));
    EXPECT_TRUE(check_full([](ls::RefreshFacts* g) { g->same_spec = false; }));
    EXPECT_TRUE(check_full([](ls::RefreshFacts* g) { g->same_sources = false; }));
    EXPECT_TRUE(check_full([](ls::RefreshFacts* g) { g->target_created = true; }));
    EXPECT_TRUE(check_full([](ls::RefreshFacts* g) { g->capture = "change-capture triggers installed"; }));
    EXPECT_TRUE(check_full([](ls::RefreshFacts* g) { g->state_ok = false; }));
    EXPECT_TRUE(check_full([](ls::RefreshFacts* g) { g->truncated = true; }));
    EXPECT_TRUE(check_full([](ls::RefreshFacts* g) { g->as_of = g->prev_as_of - 1; }));
}

}  // namespace
