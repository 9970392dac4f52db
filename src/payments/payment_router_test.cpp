#include "payments/payment_router.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "support/fake_gateway.hpp"

namespace boxoffice {
namespace {

using std::chrono::seconds;

using test_support::FakeGateway;

// Three fake gateways weighted 70/20/10 behind a router on a fake clock.
struct Fixture {
  Fixture(unsigned a = 70, unsigned b = 20, unsigned c = 10) {
    auto make = [](const char* name, FakeGateway*& raw, unsigned weight) {
      auto gateway = std::make_unique<FakeGateway>(name);
      raw = gateway.get();
      return WeightedGateway{std::move(gateway), weight};
    };
    std::vector<WeightedGateway> gateways;
    gateways.push_back(make("primary", primary, a));
    gateways.push_back(make("secondary", secondary, b));
    gateways.push_back(make("tertiary", tertiary, c));
    router = std::make_unique<PaymentRouter>(std::move(gateways), clock, metrics);
  }

  PaymentResult Authorize(const std::string& key) {
    return router->Authorize(AuthorizeRequest{key, 5000, "USD", "tok_visa", "ord_" + key});
  }

  FakeClock clock;
  MetricsRegistry metrics;
  FakeGateway* primary = nullptr;
  FakeGateway* secondary = nullptr;
  FakeGateway* tertiary = nullptr;
  std::unique_ptr<PaymentRouter> router;
};

// Weights 70/20/10 send exactly 70%, 20% and 10% of authorizations to each gateway.
TEST(PaymentRouterTest, SplitsByWeight) {
  Fixture f;
  EXPECT_EQ(f.router->name(), "router");
  for (int i = 0; i < 1000; ++i) {
    PaymentResult result = f.Authorize("k" + std::to_string(i));
    ASSERT_EQ(result.outcome, PaymentOutcome::kSucceeded);
  }
  EXPECT_EQ(f.primary->authorize_calls(), 700);
  EXPECT_EQ(f.secondary->authorize_calls(), 200);
  EXPECT_EQ(f.tertiary->authorize_calls(), 100);
}

// A weight of 0 is a standby: never chosen first, still a fallback.
TEST(PaymentRouterTest, ZeroWeightIsStandbyOnly) {
  Fixture f(1, 0, 0);
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(f.Authorize("k" + std::to_string(i)).outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(f.primary->authorize_calls(), 10);
  EXPECT_EQ(f.secondary->authorize_calls(), 0);
  f.primary->SetAuthorize(PaymentOutcome::kFailed);
  PaymentResult result = f.Authorize("standby");
  EXPECT_EQ(result.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(result.payment.gateway, "secondary");
}

// A retryable failure fails over to the next gateway, which authorizes.
TEST(PaymentRouterTest, FailsOverOnFailed) {
  Fixture f;
  f.primary->SetAuthorize(PaymentOutcome::kFailed);
  PaymentResult result = f.Authorize("k1");
  EXPECT_EQ(result.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(result.payment.gateway, "secondary");
  EXPECT_EQ(f.primary->authorize_calls(), 1);
  EXPECT_EQ(f.primary->lookup_calls(), 0);
}

// A decline is final: no other gateway is asked.
TEST(PaymentRouterTest, DeclineDoesNotFailOver) {
  Fixture f;
  f.primary->SetAuthorize(PaymentOutcome::kDeclined);
  PaymentResult result = f.Authorize("k1");
  EXPECT_EQ(result.outcome, PaymentOutcome::kDeclined);
  EXPECT_EQ(result.decline_code, "insufficient_funds");
  EXPECT_EQ(f.secondary->authorize_calls() + f.tertiary->authorize_calls(), 0);
}

// Every gateway failing answers kFailed after trying each once.
TEST(PaymentRouterTest, AllFailingIsFailed) {
  Fixture f;
  for (FakeGateway* g : {f.primary, f.secondary, f.tertiary})
    g->SetAuthorize(PaymentOutcome::kFailed);
  EXPECT_EQ(f.Authorize("k1").outcome, PaymentOutcome::kFailed);
  EXPECT_EQ(
      f.primary->authorize_calls() + f.secondary->authorize_calls() + f.tertiary->authorize_calls(),
      3);
}

// A timeout that did take effect is found by the lookup at the same gateway and returned; no
// other gateway authorizes.
TEST(PaymentRouterTest, TimeoutThatTookEffectIsFoundNotRepeated) {
  Fixture f;
  f.primary->Script({PaymentOutcome::kUnknown});
  f.primary->SetUnknownTakesEffect(true);
  PaymentResult result = f.Authorize("k1");
  EXPECT_EQ(result.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(result.payment.gateway, "primary");
  EXPECT_EQ(result.payment.id, "pi_primary_1");
  EXPECT_EQ(f.primary->lookup_calls(), 1);
  EXPECT_EQ(f.secondary->authorize_calls() + f.tertiary->authorize_calls(), 0);
}

// A timeout that did not take effect: the lookup finds nothing, so the next gateway may try.
TEST(PaymentRouterTest, TimeoutThatDidNotTakeEffectFailsOverAfterLookup) {
  Fixture f;
  f.primary->Script({PaymentOutcome::kUnknown});
  PaymentResult result = f.Authorize("k1");
  EXPECT_EQ(result.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(result.payment.gateway, "secondary");
  EXPECT_EQ(f.primary->lookup_calls(), 1);
  EXPECT_EQ(f.primary->authorized_count("k1") + f.secondary->authorized_count("k1"), 1u);
}

// When the lookup cannot say either, the router answers kUnknown and tries nowhere else.
TEST(PaymentRouterTest, TimeoutWithFailedLookupIsUnknownAndStops) {
  Fixture f;
  f.primary->Script({PaymentOutcome::kUnknown});
  f.primary->SetUnknownTakesEffect(true);
  f.primary->SetLookup(PaymentOutcome::kUnknown);
  EXPECT_EQ(f.Authorize("k1").outcome, PaymentOutcome::kUnknown);
  f.primary->Script({PaymentOutcome::kUnknown});
  f.primary->SetLookup(PaymentOutcome::kFailed);
  EXPECT_EQ(f.Authorize("k2").outcome, PaymentOutcome::kUnknown);
  EXPECT_EQ(f.secondary->authorize_calls() + f.tertiary->authorize_calls(), 0);
}

// A gateway failing every call opens its breaker after 20 calls; then it is skipped and every
// authorization still succeeds elsewhere.
TEST(PaymentRouterTest, BreakerOpensAndTrafficMovesElsewhere) {
  Fixture f;
  f.primary->SetAuthorize(PaymentOutcome::kFailed);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(f.Authorize("k" + std::to_string(i)).outcome, PaymentOutcome::kSucceeded);
  }
  EXPECT_EQ(f.primary->authorize_calls(), 20);
  EXPECT_EQ(f.router->breaker_state("primary"), BreakerState::kOpen);
  EXPECT_EQ(f.router->breaker_state("secondary"), BreakerState::kClosed);
  const std::string metrics = f.metrics.Render();
  EXPECT_NE(metrics.find("boxoffice_payment_breaker_state{gateway=\"primary\"} 2"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("boxoffice_payment_gateway_calls_total{gateway=\"primary\","
                         "operation=\"authorize\",outcome=\"failed\"} 20"),
            std::string::npos)
      << metrics;
}

// 10 s after opening the breaker probes the gateway again; a recovered gateway gets its share
// back.
TEST(PaymentRouterTest, HalfOpenProbeAfterTenSecondsCloses) {
  Fixture f;
  f.primary->SetAuthorize(PaymentOutcome::kFailed);
  for (int i = 0; i < 100; ++i) f.Authorize("a" + std::to_string(i));
  ASSERT_EQ(f.router->breaker_state("primary"), BreakerState::kOpen);
  f.primary->SetAuthorize(PaymentOutcome::kSucceeded);
  f.clock.Advance(seconds(9));
  const int before = f.primary->authorize_calls();
  for (int i = 0; i < 10; ++i) f.Authorize("b" + std::to_string(i));
  EXPECT_EQ(f.primary->authorize_calls(), before);
  f.clock.Advance(seconds(1));
  EXPECT_EQ(f.router->breaker_state("primary"), BreakerState::kHalfOpen);
  for (int i = 0; i < 10; ++i) f.Authorize("c" + std::to_string(i));
  EXPECT_EQ(f.router->breaker_state("primary"), BreakerState::kClosed);
  EXPECT_GT(f.primary->authorize_calls(), before);
}

// Health tells each gateway's breaker, the calls and failures of its window, and the latency of
// the calls of the last minute: here each primary call takes 1 ms more than the one before.
TEST(PaymentRouterTest, HealthTellsBreakersWindowsAndLatency) {
  Fixture f(1, 0, 0);
  std::int64_t took_us = 0;
  f.primary->DuringAuthorize([&] {
    took_us += 1000;
    f.clock.Advance(std::chrono::microseconds(took_us));
  });
  for (int i = 0; i < 100; ++i) f.Authorize("k" + std::to_string(i));
  std::vector<GatewayHealth> health = f.router->Health();
  ASSERT_EQ(health.size(), 3u);
  EXPECT_EQ(health[0].name, "primary");
  EXPECT_EQ(health[0].weight, 1u);
  EXPECT_EQ(health[0].breaker, BreakerState::kClosed);
  EXPECT_EQ(health[0].latency_samples, 100u);
  EXPECT_EQ(health[0].latency_p50_us, 50'000);
  EXPECT_EQ(health[0].latency_p99_us, 99'000);
  EXPECT_EQ(health[1].latency_samples, 0u);
  EXPECT_EQ(health[1].latency_p99_us, 0);

  // Failures count in the window until it opens; open, the window is empty.
  f.primary->DuringAuthorize(nullptr);
  f.clock.Advance(seconds(61));  // the latency window has moved past every call above
  f.primary->SetAuthorize(PaymentOutcome::kFailed);
  for (int i = 0; i < 5; ++i) f.Authorize("f" + std::to_string(i));
  health = f.router->Health();
  EXPECT_EQ(health[0].window.calls, 5u);
  EXPECT_EQ(health[0].window.failures, 5u);
  EXPECT_EQ(health[0].latency_samples, 5u);
  EXPECT_EQ(health[0].latency_p99_us, 0);
  EXPECT_EQ(health[1].window.calls, 5u);  // the standby took each one over
  EXPECT_EQ(health[1].window.failures, 0u);
  for (int i = 0; i < 20; ++i) f.Authorize("g" + std::to_string(i));
  health = f.router->Health();
  EXPECT_EQ(health[0].breaker, BreakerState::kOpen);
  EXPECT_EQ(health[0].window.calls, 0u);
}

// No gateway can be tried (all breakers open): kFailed, and no gateway is called.
TEST(PaymentRouterTest, AllOpenIsFailedWithoutCalls) {
  Fixture f;
  for (FakeGateway* g : {f.primary, f.secondary, f.tertiary})
    g->SetAuthorize(PaymentOutcome::kFailed);
  for (int i = 0; i < 30; ++i) f.Authorize("k" + std::to_string(i));
  for (const char* name : {"primary", "secondary", "tertiary"}) {
    ASSERT_EQ(f.router->breaker_state(name), BreakerState::kOpen) << name;
  }
  const int calls =
      f.primary->authorize_calls() + f.secondary->authorize_calls() + f.tertiary->authorize_calls();
  EXPECT_EQ(f.Authorize("last").outcome, PaymentOutcome::kFailed);
  EXPECT_EQ(
      f.primary->authorize_calls() + f.secondary->authorize_calls() + f.tertiary->authorize_calls(),
      calls);
}

// Capture, void and refund go to the gateway that holds the payment; an unknown one fails.
TEST(PaymentRouterTest, MoneyMovesGoToThePaymentsGateway) {
  Fixture f(0, 0, 100);
  const PaymentResult kept = f.Authorize("kept");
  const PaymentResult dropped = f.Authorize("dropped");
  ASSERT_EQ(kept.outcome, PaymentOutcome::kSucceeded);
  ASSERT_EQ(kept.payment.gateway, "tertiary");
  EXPECT_EQ(f.router->Capture(kept.payment, 5000, "k").outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(f.router->Void(dropped.payment, "k").outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(f.router->Refund(kept.payment, 5000, "k").outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(f.tertiary->capture_calls(), 1);
  EXPECT_EQ(f.tertiary->void_calls(), 1);
  EXPECT_EQ(f.tertiary->refund_calls(), 1);
  EXPECT_EQ(f.primary->capture_calls() + f.secondary->capture_calls(), 0);
  EXPECT_EQ(f.router->Capture(PaymentRef{"nowhere", "pi_1"}, 1, "k").outcome,
            PaymentOutcome::kFailed);
}

// Lookup asks every gateway: found anywhere → found; nowhere → not found; a gateway that cannot
// say turns "not found" into its own answer.
TEST(PaymentRouterTest, LookupAsksEveryGateway) {
  Fixture f;
  f.primary->SetAuthorize(PaymentOutcome::kFailed);
  f.secondary->SetAuthorize(PaymentOutcome::kFailed);
  ASSERT_EQ(f.Authorize("k1").payment.gateway, "tertiary");
  PaymentResult found = f.router->Lookup("k1");
  EXPECT_EQ(found.outcome, PaymentOutcome::kSucceeded);
  EXPECT_EQ(found.payment.gateway, "tertiary");
  EXPECT_EQ(f.router->Lookup("nobody").outcome, PaymentOutcome::kNotFound);
  f.secondary->SetLookup(PaymentOutcome::kUnknown);
  EXPECT_EQ(f.router->Lookup("nobody").outcome, PaymentOutcome::kUnknown);
}

// Many threads authorizing through a router whose primary times out now and then: every key
// ends with at most one authorization across all gateways.
TEST(PaymentRouterTest, ConcurrentAuthorizationsNeverAuthorizeTwice) {
  Fixture f;
  std::deque<PaymentOutcome> script;
  for (int i = 0; i < 2000; ++i) {
    script.push_back(i % 7 == 0   ? PaymentOutcome::kUnknown
                     : i % 5 == 0 ? PaymentOutcome::kFailed
                                  : PaymentOutcome::kSucceeded);
  }
  f.primary->Script(std::move(script));
  f.primary->SetUnknownTakesEffect(true);
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&f, &succeeded, t] {
      for (int i = 0; i < 500; ++i) {
        if (f.Authorize(std::to_string(t) + "-" + std::to_string(i)).outcome ==
            PaymentOutcome::kSucceeded) {
          succeeded.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), 2000);
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 500; ++i) {
      const std::string key = std::to_string(t) + "-" + std::to_string(i);
      ASSERT_EQ(f.primary->authorized_count(key) + f.secondary->authorized_count(key) +
                    f.tertiary->authorized_count(key),
                1u)
          << key;
    }
  }
}

}  // namespace
}  // namespace boxoffice
