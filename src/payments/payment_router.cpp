#include "payments/payment_router.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <utility>

#include "common/check.hpp"
#include "common/log.hpp"

namespace boxoffice {
namespace {

enum OperationIndex : std::size_t { kAuthorize, kCapture, kVoid, kRefund, kLookup };
constexpr std::array<const char*, PaymentRouter::kOperations> kOperationNames = {
    "authorize", "capture", "void", "refund", "lookup"};
constexpr std::array<PaymentOutcome, PaymentRouter::kOutcomes> kAllOutcomes = {
    PaymentOutcome::kSucceeded, PaymentOutcome::kDeclined, PaymentOutcome::kFailed,
    PaymentOutcome::kUnknown, PaymentOutcome::kNotFound};

// Whether the gateway misbehaved: a decline or a "not found" is a healthy answer.
bool IsGatewayFailure(PaymentOutcome outcome) {
  return outcome == PaymentOutcome::kFailed || outcome == PaymentOutcome::kUnknown;
}

// Statuses of a payment intent that hold (or took) the fan's money.
bool HoldsMoney(const std::string& status) {
  return status == "requires_capture" || status == "succeeded" || status == "processing";
}

// The value at rank ⌈p·n⌉ of `values` (the nearest-rank percentile); reorders them.
std::int64_t NearestRank(std::vector<std::int64_t>& values, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  const auto nth = values.begin() + static_cast<std::ptrdiff_t>(std::max<std::size_t>(rank, 1) - 1);
  std::nth_element(values.begin(), nth, values.end());
  return *nth;
}

}  // namespace

// The latest calls' durations, newest overwriting oldest; 16 bytes a call.
class PaymentRouter::LatencyRing {
 public:
  void Record(TimePoint ended, std::chrono::microseconds took) {
    std::lock_guard lock(mutex_);
    samples_[next_] = Sample{ended, std::max<std::int64_t>(took.count(), 0)};
    next_ = (next_ + 1) % samples_.size();
    size_ = std::min(size_ + 1, samples_.size());
  }

  // The durations, in microseconds, of the calls that ended at `since` or later.
  std::vector<std::int64_t> Since(TimePoint since) const {
    std::vector<std::int64_t> recent;
    std::lock_guard lock(mutex_);
    recent.reserve(size_);
    for (std::size_t i = 0; i < size_; ++i) {
      if (samples_[i].ended >= since) recent.push_back(samples_[i].micros);
    }
    return recent;
  }

 private:
  struct Sample {
    TimePoint ended;
    std::int64_t micros = 0;
  };
  mutable std::mutex mutex_;
  std::array<Sample, kLatencySamplesMax> samples_{};
  std::size_t next_ = 0;
  std::size_t size_ = 0;
};

struct PaymentRouter::Route {
  Route(WeightedGateway weighted, const Clock& clock, MetricsRegistry& metrics,
        CircuitBreakerOptions options)
      : gateway(std::move(weighted.gateway)),
        weight(weighted.weight),
        breaker(clock, options),
        breaker_gauge(
            metrics.GetGauge("boxoffice_payment_breaker_state",
                             "Circuit breaker per gateway: 0 closed, 1 half-open, 2 open.",
                             {{"gateway", gateway->name()}})),
        rejections(
            metrics.GetCounter("boxoffice_payment_breaker_rejections_total",
                               "Authorizations not sent to a gateway because its breaker was open.",
                               {{"gateway", gateway->name()}})) {
    for (std::size_t operation = 0; operation < kOperations; ++operation) {
      for (std::size_t outcome = 0; outcome < kOutcomes; ++outcome) {
        calls[operation][outcome] = &metrics.GetCounter(
            "boxoffice_payment_gateway_calls_total",
            "Calls to each payment gateway, by operation and outcome.",
            {{"gateway", gateway->name()},
             {"operation", kOperationNames[operation]},
             {"outcome", std::string(PaymentOutcomeName(kAllOutcomes[outcome]))}});
      }
    }
  }

  std::unique_ptr<PaymentGateway> gateway;
  const unsigned weight;
  long long current_weight = 0;  // smooth weighted round-robin; under order_mutex_
  CircuitBreaker breaker;
  Gauge& breaker_gauge;
  Counter& rejections;
  std::array<std::array<Counter*, kOutcomes>, kOperations> calls{};
  LatencyRing latencies;
};

PaymentRouter::PaymentRouter(std::vector<WeightedGateway> gateways, const Clock& clock,
                             MetricsRegistry& metrics, CircuitBreakerOptions breaker_options)
    : clock_(clock) {
  BOXOFFICE_CHECK(!gateways.empty() && gateways.size() <= kGatewaysMax,
                  "a router has between one and kGatewaysMax gateways");
  routes_.reserve(gateways.size());
  for (WeightedGateway& weighted : gateways) {
    BOXOFFICE_CHECK(weighted.gateway != nullptr, "every routed gateway exists");
    routes_.push_back(
        std::make_unique<Route>(std::move(weighted), clock, metrics, breaker_options));
  }
}

PaymentRouter::~PaymentRouter() = default;

std::vector<PaymentRouter::Route*> PaymentRouter::Order() {
  std::vector<Route*> order;
  order.reserve(routes_.size());
  {
    std::lock_guard lock(order_mutex_);
    long long total = 0;
    Route* best = nullptr;
    for (const auto& route : routes_) {
      if (route->weight == 0) continue;
      route->current_weight += route->weight;
      total += route->weight;
      if (best == nullptr || route->current_weight > best->current_weight) best = route.get();
    }
    if (best != nullptr) {
      best->current_weight -= total;
      order.push_back(best);
    }
  }
  // The fallbacks: by weight, highest first; stable, so equal weights keep the configured order.
  std::vector<Route*> rest;
  for (const auto& route : routes_) {
    if (order.empty() || route.get() != order.front()) rest.push_back(route.get());
  }
  std::stable_sort(rest.begin(), rest.end(),
                   [](const Route* a, const Route* b) { return a->weight > b->weight; });
  order.insert(order.end(), rest.begin(), rest.end());
  return order;
}

PaymentRouter::Route* PaymentRouter::Find(const std::string& gateway) {
  for (const auto& route : routes_) {
    if (route->gateway->name() == gateway) return route.get();
  }
  return nullptr;
}

void PaymentRouter::Count(Route& route, std::size_t operation, PaymentOutcome outcome) {
  route.calls[operation][static_cast<std::size_t>(outcome)]->Inc();
}

void PaymentRouter::Judge(Route& route, PaymentOutcome outcome) {
  const BreakerState before = route.breaker.state();
  route.breaker.Record(!IsGatewayFailure(outcome));
  const BreakerState after = route.breaker.state();
  route.breaker_gauge.Set(static_cast<double>(after));
  if (before != after) {
    LogWarn("payment_breaker_changed", {{"gateway", route.gateway->name()},
                                        {"from", BreakerStateName(before)},
                                        {"to", BreakerStateName(after)}});
  }
}

// One authorization on its way through the gateways, kept alive by the callbacks it waits on.
struct PaymentRouter::Attempt {
  AuthorizeRequest request;
  PaymentDone done;
  std::vector<Route*> order;
  std::size_t next = 0;  // the next gateway of `order` to try
  PaymentResult last;    // what to answer when no gateway is left
};

PaymentResult PaymentRouter::Authorize(const AuthorizeRequest& request) {
  return AwaitPayment([&](PaymentDone done) { AuthorizeAsync(request, std::move(done)); });
}

void PaymentRouter::AuthorizeAsync(const AuthorizeRequest& request, PaymentDone done) {
  auto attempt = std::make_shared<Attempt>();
  attempt->request = request;
  attempt->done = std::move(done);
  attempt->order = Order();
  attempt->last.outcome = PaymentOutcome::kFailed;
  attempt->last.message = "every gateway's circuit breaker is open";
  TryNext(std::move(attempt));
}

void PaymentRouter::TryNext(std::shared_ptr<Attempt> attempt) {
  while (attempt->next < attempt->order.size()) {
    Route* route = attempt->order[attempt->next++];
    if (!route->breaker.Allow()) {
      route->rejections.Inc();
      route->breaker_gauge.Set(static_cast<double>(route->breaker.state()));
      continue;
    }
    const TimePoint started = clock_.Now();
    route->gateway->AuthorizeAsync(
        attempt->request, [this, attempt, route, started](PaymentResult result) {
          Took(*route, started);
          result.payment.gateway = route->gateway->name();
          Count(*route, kAuthorize, result.outcome);
          Judge(*route, result.outcome);
          switch (result.outcome) {
            case PaymentOutcome::kSucceeded:
            case PaymentOutcome::kDeclined:
              return attempt->done(std::move(result));
            case PaymentOutcome::kFailed:
            case PaymentOutcome::kNotFound:  // not an answer Authorize gives: nothing was done
              attempt->last = std::move(result);
              return TryNext(attempt);
            case PaymentOutcome::kUnknown:
              return LookUpAfterTimeout(attempt, *route, std::move(result));
          }
        });
    return;
  }
  attempt->done(std::move(attempt->last));
}

void PaymentRouter::LookUpAfterTimeout(std::shared_ptr<Attempt> attempt, Route& route,
                                       PaymentResult timed_out) {
  // The authorization may have happened: ask before going anywhere else.
  const TimePoint started = clock_.Now();
  const std::string& key = attempt->request.idempotency_key;
  route.gateway->LookupAsync(key, [this, attempt, &route, started,
                                   timed_out = std::move(timed_out)](PaymentResult found) mutable {
    Took(route, started);
    found.payment.gateway = route.gateway->name();
    Count(route, kLookup, found.outcome);
    if (found.outcome == PaymentOutcome::kNotFound) {
      attempt->last = std::move(timed_out);
      return TryNext(attempt);
    }
    if (found.outcome == PaymentOutcome::kSucceeded && HoldsMoney(found.status)) {
      return attempt->done(std::move(found));
    }
    if (found.outcome == PaymentOutcome::kSucceeded && found.status == "requires_payment_method") {
      found.outcome = PaymentOutcome::kDeclined;
      if (found.decline_code.empty()) found.decline_code = "card_declined";
      return attempt->done(std::move(found));
    }
    // The lookup could not say, or found something neither authorized nor declined: a second
    // authorization elsewhere could charge the fan twice, so the caller gets kUnknown.
    timed_out.message = "timed out, and the lookup could not tell: " + found.message;
    attempt->done(std::move(timed_out));
  });
}

void PaymentRouter::Took(Route& route, TimePoint started) {
  const TimePoint ended = clock_.Now();
  route.latencies.Record(ended,
                         std::chrono::duration_cast<std::chrono::microseconds>(ended - started));
}

template <typename Call>
PaymentResult PaymentRouter::Timed(Route& route, Call call) {
  const TimePoint started = clock_.Now();
  PaymentResult result = call(*route.gateway);
  Took(route, started);
  return result;
}

template <typename Call>
PaymentResult PaymentRouter::OnAuthorizingGateway(const PaymentRef& payment, std::size_t operation,
                                                  Call call) {
  Route* route = Find(payment.gateway);
  if (route == nullptr) {
    return PaymentResult{PaymentOutcome::kFailed, payment, "", "", "unknown gateway"};
  }
  PaymentResult result = Timed(*route, call);
  result.payment.gateway = route->gateway->name();
  Count(*route, operation, result.outcome);
  Judge(*route, result.outcome);
  return result;
}

PaymentResult PaymentRouter::Capture(const PaymentRef& payment, std::int64_t amount_cents,
                                     const std::string& idempotency_key) {
  return OnAuthorizingGateway(payment, kCapture, [&](PaymentGateway& gateway) {
    return gateway.Capture(payment, amount_cents, idempotency_key);
  });
}

PaymentResult PaymentRouter::Void(const PaymentRef& payment, const std::string& idempotency_key) {
  return OnAuthorizingGateway(payment, kVoid, [&](PaymentGateway& gateway) {
    return gateway.Void(payment, idempotency_key);
  });
}

PaymentResult PaymentRouter::Refund(const PaymentRef& payment, std::int64_t amount_cents,
                                    const std::string& idempotency_key) {
  return OnAuthorizingGateway(payment, kRefund, [&](PaymentGateway& gateway) {
    return gateway.Refund(payment, amount_cents, idempotency_key);
  });
}

PaymentResult PaymentRouter::Lookup(const std::string& idempotency_key) {
  PaymentResult answer;
  answer.outcome = PaymentOutcome::kNotFound;
  std::optional<PaymentResult> found;
  bool unsure = false;
  for (const auto& route : routes_) {
    PaymentResult result =
        Timed(*route, [&](PaymentGateway& gateway) { return gateway.Lookup(idempotency_key); });
    result.payment.gateway = route->gateway->name();
    Count(*route, kLookup, result.outcome);
    if (result.outcome == PaymentOutcome::kSucceeded) {
      // An authorization holding money wins over a declined or voided attempt elsewhere.
      if (HoldsMoney(result.status)) return result;
      if (!found) found = std::move(result);
    } else if (result.outcome != PaymentOutcome::kNotFound) {
      // One gateway could not say: "not found" would be a guess, so report what it said.
      if (!unsure || result.outcome == PaymentOutcome::kUnknown) answer = std::move(result);
      unsure = true;
    }
  }
  if (found && !unsure) return *found;
  return answer;
}

BreakerState PaymentRouter::breaker_state(const std::string& gateway) const {
  for (const auto& route : routes_) {
    if (route->gateway->name() == gateway) return route->breaker.state();
  }
  return BreakerState::kClosed;
}

std::vector<GatewayHealth> PaymentRouter::Health() const {
  const TimePoint since = clock_.Now() - kLatencyWindow;
  std::vector<GatewayHealth> health;
  health.reserve(routes_.size());
  for (const auto& route : routes_) {
    GatewayHealth& one = health.emplace_back();
    one.name = route->gateway->name();
    one.weight = route->weight;
    one.breaker = route->breaker.state();
    one.window = route->breaker.window();
    std::vector<std::int64_t> recent = route->latencies.Since(since);
    if (recent.empty()) continue;
    one.latency_samples = static_cast<std::uint32_t>(recent.size());
    one.latency_p50_us = NearestRank(recent, 0.50);
    one.latency_p99_us = NearestRank(recent, 0.99);
  }
  return health;
}

}  // namespace boxoffice
