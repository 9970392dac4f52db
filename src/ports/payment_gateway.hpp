// The `PaymentGateway` port: one card processor (or the router that spreads payments over
// several). Orders authorize a card while the fan waits, and the outbox worker later captures;
// voids undo an authorization that never became a sale, refunds undo a sale.
//
// Every call is idempotent by its key: repeating a call with the same key never moves money
// twice, which is what makes retries after a timeout safe. The blocking calls wait for at most
// the adapter's timeout and therefore run on worker threads, never on an I/O thread. The order
// path authorizes (and looks up after a timeout) without waiting: AuthorizeAsync and LookupAsync
// return at once and call back when the gateway answers, so a slow gateway costs memory per
// order in flight, not a thread. Adapters never see, log or return card numbers: requests carry
// the gateway's card tokens only.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace boxoffice {

enum class PaymentOutcome {
  kSucceeded,  // the call took effect (or had already, for a repeated key), or Lookup found it
  kDeclined,   // the card was refused: final, never retried at another gateway
  kFailed,     // the gateway answered with an error and did nothing: safe to retry or fail over
  kUnknown,    // timeout or broken connection: it may or may not have taken effect
  kNotFound,   // Lookup only: nothing was authorized with this key
};

inline std::string_view PaymentOutcomeName(PaymentOutcome outcome) {
  switch (outcome) {
    case PaymentOutcome::kSucceeded:
      return "succeeded";
    case PaymentOutcome::kDeclined:
      return "declined";
    case PaymentOutcome::kFailed:
      return "failed";
    case PaymentOutcome::kUnknown:
      return "unknown";
    case PaymentOutcome::kNotFound:
      return "not_found";
  }
  return "unknown";
}

// Names one payment at one gateway.
struct PaymentRef {
  std::string gateway;  // the configured gateway name, e.g. "stripe-eu"
  std::string id;       // the gateway's own id, e.g. "pi_3Nk..."
};

struct PaymentResult {
  PaymentOutcome outcome = PaymentOutcome::kFailed;
  PaymentRef payment;  // filled when the gateway named the payment
  // The payment's state in the port's words, which are Stripe's (the first adapter's), each
  // adapter translating its gateway's into them: "requires_capture" (authorized, not captured),
  // "succeeded" (captured), "requires_payment_method" (declined), "canceled" (voided),
  // "refunded". The router's lookup decides by them.
  std::string status;
  std::string decline_code;  // when declined: "card_declined", "insufficient_funds", ...
  std::string message;       // for logs and operators; never holds card data
};

struct AuthorizeRequest {
  std::string idempotency_key;  // one authorization per key, whatever the number of attempts
  std::int64_t amount_cents = 0;
  std::string currency;       // ISO 4217, e.g. "USD"
  std::string payment_token;  // the gateway's card token, e.g. "tok_visa"
  std::string reference;      // the order id, kept by the gateway as metadata
};

// Receives an asynchronous call's result. It runs once, on the adapter's own thread (or on the
// caller's, before the call returns), so it must be quick: real work goes to a worker.
using PaymentDone = std::function<void(PaymentResult)>;

class PaymentGateway {
 public:
  virtual ~PaymentGateway() = default;

  // The configured name of this gateway (the router's own name when it is the router).
  virtual const std::string& name() const = 0;

  // Reserves the amount on the card (manual capture).
  virtual PaymentResult Authorize(const AuthorizeRequest& request) = 0;
  virtual PaymentResult Capture(const PaymentRef& payment, std::int64_t amount_cents,
                                const std::string& idempotency_key) = 0;
  // Cancels an authorization that was not captured.
  virtual PaymentResult Void(const PaymentRef& payment, const std::string& idempotency_key) = 0;
  virtual PaymentResult Refund(const PaymentRef& payment, std::int64_t amount_cents,
                               const std::string& idempotency_key) = 0;
  // The authorization made with `idempotency_key`: kSucceeded with its ref and status, kNotFound
  // when there is none, kFailed/kUnknown when the gateway could not say.
  virtual PaymentResult Lookup(const std::string& idempotency_key) = 0;

  // Authorize and Lookup without waiting. An adapter that speaks to a gateway overrides both;
  // these defaults (for in-process gateways) answer on the caller's thread.
  virtual void AuthorizeAsync(const AuthorizeRequest& request, PaymentDone done) {
    done(Authorize(request));
  }
  virtual void LookupAsync(const std::string& idempotency_key, PaymentDone done) {
    done(Lookup(idempotency_key));
  }
};

// Waits for the result of `call` (which starts an asynchronous call with the PaymentDone it is
// given): how an adapter's blocking calls are made of its asynchronous ones. Never from a
// PaymentDone: the thread that would answer would be the one waiting.
template <typename Call>
PaymentResult AwaitPayment(Call call) {
  // Shared: the answering thread may still be inside set_value when this one wakes and returns.
  auto answered = std::make_shared<std::promise<PaymentResult>>();
  std::future<PaymentResult> answer = answered->get_future();
  call(PaymentDone([answered](PaymentResult result) { answered->set_value(std::move(result)); }));
  return answer.get();
}

}  // namespace boxoffice
