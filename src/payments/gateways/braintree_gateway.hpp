// The Braintree adapter of the `PaymentGateway` port: Braintree's GraphQL API over HTTPS (plain
// HTTP for `boxoffice gateway-sim --api braintree`), through GatewayHttp's kept-alive connections,
// with HTTP basic authentication (public key : private key) and a `Braintree-Version` header.
//
//   Authorize  authorizePaymentMethod: the card token as paymentMethodId, the idempotency key as
//              apiRequestKey (Braintree's duplicate guard) and as the transaction's orderId
//              (which is how Lookup finds it; boxoffice's payment key is the order's id).
//   Capture    captureTransaction with the amount.
//   Void       reverseTransaction, which voids an authorization not yet settled.
//   Refund     refundTransaction with the amount.
//   Lookup     search.transactions by orderId.
//
// Braintree has no idempotency key for capture, reverse and refund: a repeat after an answer that
// was lost is refused as a VALIDATION error, and the adapter then reads the transaction back
// (node) and answers kSucceeded when it is already where the call wanted it (submitted for
// settlement or beyond, voided, refunded for the amount).
//
// Outcomes: a transaction AUTHORIZED (or as the call wanted) → kSucceeded; PROCESSOR_DECLINED,
// GATEWAY_REJECTED → kDeclined; an INTERNAL error or a 500, a timeout or a connection lost after
// sending → kUnknown; anything else (FAILED, VALIDATION, AUTHENTICATION, other 4xx/5xx, a
// connection never made) → kFailed. Statuses are translated into the port's words
// (ports/payment_gateway.hpp). Amounts are sent in major units with two decimals, as the
// merchant account's currency has them. Card tokens, keys and bodies are never logged.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "payments/gateways/gateway_http.hpp"
#include "ports/payment_gateway.hpp"

namespace boxoffice {

inline constexpr const char* kBraintreeVersion = "2019-01-01";

struct BraintreeGatewayOptions {
  std::string name;      // the configured gateway name, e.g. "backup"
  std::string base_url;  // "https://payments.braintree-api.com", or a gateway-sim's URL
  std::string public_key;
  std::string private_key;
  std::string merchant_account_id;  // empty: the merchant's default account
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds timeout{10'000};
  std::size_t idle_connections_max = 32;
};

class BraintreeGateway final : public PaymentGateway {
 public:
  explicit BraintreeGateway(BraintreeGatewayOptions options);
  ~BraintreeGateway() override;
  BraintreeGateway(const BraintreeGateway&) = delete;
  BraintreeGateway& operator=(const BraintreeGateway&) = delete;

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
  const BraintreeGatewayOptions options_;
  std::unique_ptr<GatewayHttp> http_;
};

// Minor units as Braintree's Amount scalar writes them: 2500 → "25.00". The simulator shares it.
std::string BraintreeAmount(std::int64_t cents);
// An Amount read back: digits, optionally a point and one or two more, above zero; nullopt for
// anything else.
std::optional<std::int64_t> ParseBraintreeAmount(std::string_view text);

}  // namespace boxoffice
