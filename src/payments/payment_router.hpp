// The payment router: one `PaymentGateway` (named "router") in front of several configured
// gateways. It spreads authorizations by weight, keeps a circuit breaker per gateway, and fails
// over without ever authorizing a fan twice.
//
// Choosing: smooth weighted round-robin (as nginx does) picks the first gateway for each
// authorization, so 70/20/10 weights give exactly 7, 2 and 1 of every 10; the others follow as
// fallbacks by weight, highest first (a weight of 0 makes a standby that is only a fallback).
// Gateways whose breaker is open are skipped.
//
// Authorize, gateway by gateway (asynchronously: each gateway's answer, on its own thread, starts
// the next step; the blocking Authorize waits for the same steps): kSucceeded and kDeclined end the
// search (a decline is the card's answer, final everywhere); kFailed (nothing happened) moves on to
// the next gateway; kUnknown (a timeout: it may have happened) first asks that gateway to Lookup
// the idempotency key: found and holding money → that authorization is the answer; found but
// declined → the decline is the answer; not found → move on; the lookup cannot say either → answer
// kUnknown and stop, because trying elsewhere could authorize the fan twice. No gateway could be
// tried (all open) → kFailed.
//
// Capture, Void and Refund go to the gateway named in the payment; Lookup asks every gateway.
// Metrics: boxoffice_payment_breaker_state{gateway} (0 closed, 1 half-open, 2 open),
// boxoffice_payment_gateway_calls_total{gateway,operation,outcome} and
// boxoffice_payment_breaker_rejections_total{gateway}.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.hpp"
#include "payments/circuit_breaker.hpp"
#include "ports/clock.hpp"
#include "ports/payment_gateway.hpp"

namespace boxoffice {

struct WeightedGateway {
  std::unique_ptr<PaymentGateway> gateway;
  unsigned weight = 1;
};

// How one gateway is doing, for the operator (GET /v1/payments/gateways): its breaker, the calls
// in the breaker's window, and how long its recent calls took.
struct GatewayHealth {
  std::string name;
  unsigned weight = 0;
  BreakerState breaker = BreakerState::kClosed;
  BreakerWindow window;  // the breaker's sliding window as of now
  // Every call to the gateway (any operation, any outcome) that ended within the latency window:
  // how many, and their median and 99th percentile (nearest rank), in microseconds; 0 when none.
  std::uint32_t latency_samples = 0;
  std::int64_t latency_p50_us = 0;
  std::int64_t latency_p99_us = 0;
};

class PaymentRouter final : public PaymentGateway {
 public:
  static constexpr std::size_t kGatewaysMax = 16;
  static constexpr std::size_t kOperations = 5;  // authorize, capture, void, refund, lookup
  static constexpr std::size_t kOutcomes = 5;    // PaymentOutcome's values
  // Latency is told over the calls that ended in the last minute, at most the latest this many
  // per gateway (a fixed ring: 64 KB a gateway, whatever the rate).
  static constexpr std::chrono::seconds kLatencyWindow{60};
  static constexpr std::size_t kLatencySamplesMax = 4096;

  // `gateways` must be non-empty (at most kGatewaysMax) with distinct names and at least one
  // positive weight; `clock` and `metrics` must outlive the router.
  PaymentRouter(std::vector<WeightedGateway> gateways, const Clock& clock, MetricsRegistry& metrics,
                CircuitBreakerOptions breaker_options = {});
  ~PaymentRouter() override;

  const std::string& name() const override { return name_; }
  PaymentResult Authorize(const AuthorizeRequest& request) override;
  PaymentResult Capture(const PaymentRef& payment, std::int64_t amount_cents,
                        const std::string& idempotency_key) override;
  PaymentResult Void(const PaymentRef& payment, const std::string& idempotency_key) override;
  PaymentResult Refund(const PaymentRef& payment, std::int64_t amount_cents,
                       const std::string& idempotency_key) override;
  PaymentResult Lookup(const std::string& idempotency_key) override;
  void AuthorizeAsync(const AuthorizeRequest& request, PaymentDone done) override;

  // The breaker state of the gateway named `gateway` (kClosed for an unknown name).
  BreakerState breaker_state(const std::string& gateway) const;
  // Every gateway's health as of now, in the configured order.
  std::vector<GatewayHealth> Health() const;

 private:
  class LatencyRing;
  struct Route;
  struct Attempt;

  // The order in which to try gateways for one authorization.
  std::vector<Route*> Order();
  Route* Find(const std::string& gateway);
  void Count(Route& route, std::size_t operation, PaymentOutcome outcome);
  // Passes one call's outcome to the route's breaker (and the breaker gauge).
  void Judge(Route& route, PaymentOutcome outcome);
  // Sends the attempt to its next gateway whose breaker lets it through; answers `last` when
  // none is left.
  void TryNext(std::shared_ptr<Attempt> attempt);
  // After a timeout at `route`: its lookup of the key decides between answering and moving on.
  void LookUpAfterTimeout(std::shared_ptr<Attempt> attempt, Route& route, PaymentResult timed_out);
  // Keeps how long a call to the route's gateway took, for Health().
  void Took(Route& route, TimePoint started);
  // Runs `call` on the route's gateway and keeps how long it took for Health().
  template <typename Call>
  PaymentResult Timed(Route& route, Call call);
  // Capture, void and refund: `call(gateway)` on the gateway that authorized the payment,
  // counted as `operation` and judged by its breaker.
  template <typename Call>
  PaymentResult OnAuthorizingGateway(const PaymentRef& payment, std::size_t operation, Call call);

  const Clock& clock_;
  const std::string name_ = "router";
  std::vector<std::unique_ptr<Route>> routes_;
  std::mutex order_mutex_;  // guards the round-robin's running weights
};

}  // namespace boxoffice
