// The router's own cost per authorization (weighted choice, breaker bookkeeping, metrics) over a
// gateway that does nothing, so the number is the overhead added to every real payment.
#include <benchmark/benchmark.h>

#include "payments/payment_router.hpp"

namespace boxoffice {
namespace {

class NoOpGateway final : public PaymentGateway {
 public:
  explicit NoOpGateway(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  PaymentResult Authorize(const AuthorizeRequest&) override {
    return PaymentResult{PaymentOutcome::kSucceeded, {name_, "pi_1"}, "requires_capture", "", ""};
  }
  PaymentResult Capture(const PaymentRef& p, std::int64_t, const std::string&) override {
    return PaymentResult{PaymentOutcome::kSucceeded, p, "succeeded", "", ""};
  }
  PaymentResult Void(const PaymentRef& p, const std::string&) override {
    return PaymentResult{PaymentOutcome::kSucceeded, p, "canceled", "", ""};
  }
  PaymentResult Refund(const PaymentRef& p, std::int64_t, const std::string&) override {
    return PaymentResult{PaymentOutcome::kSucceeded, p, "succeeded", "", ""};
  }
  PaymentResult Lookup(const std::string&) override {
    return PaymentResult{PaymentOutcome::kNotFound, {name_, ""}, "", "", ""};
  }

 private:
  std::string name_;
};

void BM_RouterAuthorize(benchmark::State& state) {
  SystemClock clock;
  MetricsRegistry metrics;
  std::vector<WeightedGateway> gateways;
  gateways.push_back({std::make_unique<NoOpGateway>("primary"), 70});
  gateways.push_back({std::make_unique<NoOpGateway>("secondary"), 20});
  gateways.push_back({std::make_unique<NoOpGateway>("tertiary"), 10});
  PaymentRouter router(std::move(gateways), clock, metrics);
  const AuthorizeRequest request{"order-key", 5000, "USD", "tok_visa", "ord_1"};
  for (auto _ : state) benchmark::DoNotOptimize(router.Authorize(request));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouterAuthorize);

}  // namespace
}  // namespace boxoffice
