// The Stripe adapter of the `PaymentGateway` port: PaymentIntents with manual capture over HTTPS
// (plain HTTP for `boxoffice gateway-sim`), through GatewayHttp's keep-alive connections.
//
// A card is sent in the form Stripe documents for it (PaymentMethodForm). Every POST carries an
// Idempotency-Key: the caller's key for the authorization, and keys derived
// from it for capture, void and refund, so a retry never moves money twice. The authorization
// also stores the key in metadata[idempotency_key], which is how Lookup finds it again through
// the search API. Answers map to outcomes as follows: 2xx → kSucceeded; 402 card_error →
// kDeclined; 429, 5xx, 4xx and a connection that failed before the request was sent → kFailed;
// a timeout or a connection lost after the request may have been sent, and 409 (a request with
// the same key still in flight) → kUnknown. Lookup answers kSucceeded with the intent's Stripe
// status, which is "requires_capture" for a live authorization but may also be
// "requires_payment_method" (declined) or "canceled" (voided). Card tokens, keys and bodies are
// never logged.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "payments/gateways/gateway_http.hpp"
#include "ports/payment_gateway.hpp"

namespace boxoffice {

struct StripeGatewayOptions {
  std::string name;      // the configured gateway name, e.g. "primary"
  std::string base_url;  // "https://api.stripe.com", or a gateway-sim's "http://127.0.0.1:9001"
  std::string api_key;   // the secret key, sent as Authorization: Bearer
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds timeout{10'000};  // the whole call, connect included
  std::size_t idle_connections_max = 32;      // kept-alive connections kept for reuse
};

class StripeGateway final : public PaymentGateway {
 public:
  explicit StripeGateway(StripeGatewayOptions options);
  ~StripeGateway() override;
  StripeGateway(const StripeGateway&) = delete;
  StripeGateway& operator=(const StripeGateway&) = delete;

  const std::string& name() const override { return options_.name; }
  PaymentResult Authorize(const AuthorizeRequest& request) override;
  PaymentResult Capture(const PaymentRef& payment, std::int64_t amount_cents,
                        const std::string& idempotency_key) override;
  PaymentResult Void(const PaymentRef& payment, const std::string& idempotency_key) override;
  PaymentResult Refund(const PaymentRef& payment, std::int64_t amount_cents,
                       const std::string& idempotency_key) override;
  PaymentResult Lookup(const std::string& idempotency_key) override;
  void AuthorizeAsync(const AuthorizeRequest& request, PaymentDone done) override;
  void LookupAsync(const std::string& idempotency_key, PaymentDone done) override;

 private:
  const StripeGatewayOptions options_;
  std::unique_ptr<GatewayHttp> http_;
};

// The card's fields of a PaymentIntent's form, in the form Stripe documents for what the card
// element gave: a PaymentMethod id ("pm_...") as payment_method, a card token ("tok_...") as
// payment_method_data[type]=card&payment_method_data[card][token]. Starts with '&'; for tests.
std::string PaymentMethodForm(std::string_view token);

// Form encoding as Stripe expects it (application/x-www-form-urlencoded, %XX for all but
// unreserved characters); exposed for tests.
std::string FormEncode(std::string_view text);

}  // namespace boxoffice
