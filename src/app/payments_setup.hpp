// Builds the payment side from configuration: a Stripe adapter per configured gateway, all behind
// the router (weights, circuit breakers, failover). serve.cpp hands the result to the orders.
#pragma once

#include <memory>
#include <vector>

#include "app/config.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "payments/circuit_breaker.hpp"
#include "payments/payment_router.hpp"
#include "ports/clock.hpp"
#include "ports/payment_gateway.hpp"

namespace boxoffice::app {

// The router over `gateways` (from ParseGateways); 422 no_gateways when the list is empty.
// `clock` and `metrics` must outlive the result.
Result<std::unique_ptr<PaymentRouter>> BuildPaymentRouter(
    const std::vector<GatewayConfig>& gateways, const Clock& clock, MetricsRegistry& metrics,
    CircuitBreakerOptions breaker_options = {});

}  // namespace boxoffice::app
