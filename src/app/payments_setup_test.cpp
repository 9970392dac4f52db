// The configured payment stack end to end in one process: Stripe adapters behind the router,
// talking HTTP to real gateway simulators, one of which fails.
#include "app/payments_setup.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <map>

#include "payments/payment_router.hpp"
#include "tools/gateway_sim.hpp"

namespace boxoffice::app {
namespace {

using tools::GatewaySim;
using tools::GatewaySimOptions;

std::unique_ptr<GatewaySim> StartSim(double error_rate, double timeout_rate, std::uint64_t seed,
                                     std::string api = "stripe") {
  GatewaySimOptions options;
  options.api = std::move(api);
  options.api_key = "sk_test_setup";
  options.error_rate = error_rate;
  options.timeout_rate = timeout_rate;
  options.timeout_hang_ms = 3'000;
  options.seed = seed;
  auto sim = std::make_unique<GatewaySim>(options);
  sim->Start();
  return sim;
}

GatewayConfig Config(const std::string& name, const GatewaySim& sim, unsigned weight,
                     std::string api = "stripe") {
  GatewayConfig config;
  config.name = name;
  config.api = std::move(api);
  config.url = sim.base_url();
  config.api_key = "sk_test_setup";
  if (config.api == "braintree") config.public_key = GatewaySimOptions{}.public_key;
  config.weight = weight;
  config.timeout_ms = 300;
  config.connect_timeout_ms = 1'000;
  return config;
}

// Authorizations holding money per idempotency key, in a simulator's records of either API.
void CountHolding(const GatewaySim& sim, std::map<std::string, int>& holding) {
  const boost::json::value records = boost::json::parse(sim.RecordsJson());
  if (const boost::json::value* transactions = records.as_object().if_contains("transactions")) {
    for (const boost::json::value& transaction : transactions->as_array()) {
      if (transaction.at("status").as_string() == "AUTHORIZED") {
        ++holding[std::string(transaction.at("orderId").as_string())];
      }
    }
    return;
  }
  for (const boost::json::value& intent : records.at("payment_intents").as_array()) {
    if (intent.at("status").as_string() == "requires_capture") {
      ++holding[std::string(intent.at("metadata").at("idempotency_key").as_string())];
    }
  }
}

// No gateways is a configuration error, not a router that fails every payment.
TEST(PaymentsSetupTest, NoGatewaysIsAnError) {
  FakeClock clock;
  MetricsRegistry metrics;
  auto router = BuildPaymentRouter({}, clock, metrics);
  ASSERT_FALSE(router);
  EXPECT_EQ(router.error().code, "no_gateways");
}

// A primary failing 30% of calls and timing out on 5% opens its breaker; every authorization
// still succeeds through the others, and no key is authorized at two gateways (checked in the
// simulators' own records).
TEST(PaymentsSetupTest, FailingPrimaryIsRoutedAroundWithoutDoubleAuthorization) {
  auto primary = StartSim(0.30, 0.05, 7);
  auto secondary = StartSim(0.0, 0.0, 8);
  auto tertiary = StartSim(0.0, 0.0, 9);
  FakeClock clock;
  MetricsRegistry metrics;
  auto built =
      BuildPaymentRouter({Config("primary", *primary, 70), Config("secondary", *secondary, 20),
                          Config("tertiary", *tertiary, 10)},
                         clock, metrics);
  ASSERT_TRUE(built) << built.error().message;
  PaymentGateway& router = **built;
  constexpr int kOrders = 200;
  int succeeded = 0;
  for (int i = 0; i < kOrders; ++i) {
    PaymentResult result = router.Authorize(
        AuthorizeRequest{"order-" + std::to_string(i), 1000, "EUR", "tok_visa", "ord"});
    if (result.outcome == PaymentOutcome::kSucceeded) ++succeeded;
  }
  EXPECT_GE(succeeded, kOrders - 1);
  auto* payment_router = dynamic_cast<PaymentRouter*>(&router);
  ASSERT_NE(payment_router, nullptr);
  EXPECT_EQ(payment_router->breaker_state("primary"), BreakerState::kOpen);

  std::map<std::string, int> holding;  // idempotency key → intents holding money, all gateways
  for (const GatewaySim* sim : {primary.get(), secondary.get(), tertiary.get()}) {
    CountHolding(*sim, holding);
  }
  EXPECT_GE(holding.size(), static_cast<std::size_t>(succeeded));
  for (const auto& [key, count] : holding) EXPECT_EQ(count, 1) << key;
  EXPECT_NE(metrics.Render().find("boxoffice_payment_breaker_state{gateway=\"primary\"} 2"),
            std::string::npos);
}

// The design's three gateways at 70/20/10 with two APIs: a failing Stripe primary, a Braintree
// second and a Stripe third. Every authorization succeeds somewhere, some at Braintree, and no key
// holds money at two gateways.
TEST(PaymentsSetupTest, StripeAndBraintreeShareTheRouter) {
  auto primary = StartSim(0.30, 0.05, 17);
  auto secondary = StartSim(0.0, 0.0, 18, "braintree");
  auto tertiary = StartSim(0.0, 0.0, 19);
  FakeClock clock;
  MetricsRegistry metrics;
  auto built = BuildPaymentRouter(
      {Config("primary", *primary, 70), Config("secondary", *secondary, 20, "braintree"),
       Config("tertiary", *tertiary, 10)},
      clock, metrics);
  ASSERT_TRUE(built) << built.error().message;
  constexpr int kOrders = 200;
  int succeeded = 0;
  std::map<std::string, int> by_gateway;
  for (int i = 0; i < kOrders; ++i) {
    PaymentResult result = (*built)->Authorize(
        AuthorizeRequest{"mixed-" + std::to_string(i), 1000, "USD", "tok_visa", "ord"});
    if (result.outcome != PaymentOutcome::kSucceeded) continue;
    ++succeeded;
    ++by_gateway[result.payment.gateway];
  }
  EXPECT_GE(succeeded, kOrders - 1);
  EXPECT_GT(by_gateway["secondary"], 0) << "Braintree took its share";
  std::map<std::string, int> holding;
  for (const GatewaySim* sim : {primary.get(), secondary.get(), tertiary.get()}) {
    CountHolding(*sim, holding);
  }
  EXPECT_GE(holding.size(), static_cast<std::size_t>(succeeded));
  for (const auto& [key, count] : holding) EXPECT_EQ(count, 1) << key;
}

}  // namespace
}  // namespace boxoffice::app
