#include "app/payments_setup.hpp"

#include <set>

#include "common/log.hpp"
#include "payments/gateways/braintree_gateway.hpp"
#include "payments/gateways/stripe_gateway.hpp"
#include "payments/payment_router.hpp"

namespace boxoffice::app {

namespace {

// The adapter of the gateway's API (ParseGatewaySpec has checked it is one boxoffice speaks).
std::unique_ptr<PaymentGateway> MakeGateway(const GatewayConfig& gateway) {
  const auto connect_timeout = std::chrono::milliseconds(gateway.connect_timeout_ms);
  const auto timeout = std::chrono::milliseconds(gateway.timeout_ms);
  if (gateway.api == "braintree") {
    return std::make_unique<BraintreeGateway>(BraintreeGatewayOptions{
        .name = gateway.name,
        .base_url = gateway.url,
        .public_key = gateway.public_key,
        .private_key = gateway.api_key,
        .merchant_account_id = gateway.merchant_account,
        .connect_timeout = connect_timeout,
        .timeout = timeout,
    });
  }
  return std::make_unique<StripeGateway>(StripeGatewayOptions{
      .name = gateway.name,
      .base_url = gateway.url,
      .api_key = gateway.api_key,
      .connect_timeout = connect_timeout,
      .timeout = timeout,
  });
}

}  // namespace

Result<std::unique_ptr<PaymentRouter>> BuildPaymentRouter(
    const std::vector<GatewayConfig>& gateways, const Clock& clock, MetricsRegistry& metrics,
    CircuitBreakerOptions breaker_options) {
  if (gateways.empty()) {
    return Error::Make(ErrorKind::kUnprocessable, "no_gateways",
                       "No card gateway is configured (--gateway or BOXOFFICE_GATEWAYS).");
  }
  if (gateways.size() > PaymentRouter::kGatewaysMax) {
    return Error::Make(ErrorKind::kUnprocessable, "invalid_gateway",
                       "At most " + std::to_string(PaymentRouter::kGatewaysMax) + " gateways.");
  }
  std::set<std::string> names;
  unsigned weight_total = 0;
  std::vector<WeightedGateway> routed;
  for (const GatewayConfig& gateway : gateways) {
    if (!names.insert(gateway.name).second) {
      return Error::Make(ErrorKind::kUnprocessable, "invalid_gateway",
                         "Gateway name '" + gateway.name + "' is used twice.");
    }
    weight_total += gateway.weight;
    routed.push_back(WeightedGateway{MakeGateway(gateway), gateway.weight});
    // The key stays out of the log; the URL and weight are what an operator checks.
    LogInfo("payment_gateway_configured", {{"gateway", gateway.name},
                                           {"api", gateway.api},
                                           {"url", gateway.url},
                                           {"weight", gateway.weight}});
  }
  if (weight_total == 0) {
    return Error::Make(ErrorKind::kUnprocessable, "invalid_gateway",
                       "At least one gateway needs a weight above 0.");
  }
  return std::make_unique<PaymentRouter>(std::move(routed), clock, metrics, breaker_options);
}

}  // namespace boxoffice::app
