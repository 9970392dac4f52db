#include "payments/gateways/braintree_gateway.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/crypto.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;

constexpr std::string_view kAuthorizeMutation =
    "mutation Authorize($input: AuthorizePaymentMethodInput!) { "
    "authorizePaymentMethod(input: $input) { transaction { id status statusHistory { "
    "... on ProcessorDeclinedEvent { processorResponse { legacyCode } } } } } }";
constexpr std::string_view kCaptureMutation =
    "mutation Capture($input: CaptureTransactionInput!) { "
    "captureTransaction(input: $input) { transaction { id status } } }";
constexpr std::string_view kReverseMutation =
    "mutation Reverse($input: ReverseTransactionInput!) { reverseTransaction(input: $input) { "
    "reversal { __typename ... on Transaction { id status } ... on Refund { id status } } } }";
constexpr std::string_view kRefundMutation =
    "mutation Refund($input: RefundTransactionInput!) { "
    "refundTransaction(input: $input) { refund { id status } } }";
constexpr std::string_view kSearchQuery =
    "query Search($input: TransactionSearchInput!) { search { transactions(input: $input) { "
    "edges { node { id status } } } } }";
constexpr std::string_view kNodeQuery =
    "query Transaction($id: ID!) { node(id: $id) { ... on Transaction { id status "
    "amount { value } refunds { id status amount { value } } } } }";

// Braintree's transaction statuses in the port's words (ports/payment_gateway.hpp).
std::string BraintreePortStatus(std::string_view status) {
  if (status == "AUTHORIZED" || status == "AUTHORIZING") return "requires_capture";
  if (status == "SUBMITTED_FOR_SETTLEMENT" || status == "SETTLING" ||
      status == "SETTLEMENT_PENDING" || status == "SETTLED" || status == "SETTLEMENT_CONFIRMED") {
    return "succeeded";
  }
  if (status == "PROCESSOR_DECLINED" || status == "GATEWAY_REJECTED") {
    return "requires_payment_method";
  }
  if (status == "VOIDED") return "canceled";
  return "failed";
}

// One parsed answer: the operation's payload (data.<field>) and the first error's class.
struct GraphQlAnswer {
  PaymentOutcome transport = PaymentOutcome::kSucceeded;  // kFailed/kUnknown: no usable answer
  std::string message;
  json::value document;
  std::string field;        // the operation's field under "data"
  std::string error_class;  // "" when the answer has no errors

  // Found in `document` each time, so that a copy of the answer never points into another's.
  const json::object* payload() const {
    return JsonObjectAt(JsonObjectAt(document.if_object(), "data"), field);
  }
};

GraphQlAnswer ParseGraphQl(const GatewayHttpAnswer& http, std::string_view field) {
  GraphQlAnswer answer;
  answer.field = std::string(field);
  if (!http.transport_error.empty()) {
    answer.transport = http.maybe_sent ? PaymentOutcome::kUnknown : PaymentOutcome::kFailed;
    answer.message = "transport: " + http.transport_error;
    return answer;
  }
  boost::system::error_code error;
  answer.document = json::parse(http.body, error);
  if (error || !answer.document.is_object()) {
    // A 2xx we cannot read says nothing about what happened; an error status says it failed.
    answer.transport = http.status >= 200 && http.status < 300 ? PaymentOutcome::kUnknown
                                                               : PaymentOutcome::kFailed;
    answer.message = "http " + std::to_string(http.status) + ": unreadable answer";
    return answer;
  }
  const json::object& root = answer.document.get_object();
  const json::value* errors = root.if_contains("errors");
  if (errors != nullptr && errors->is_array() && !errors->get_array().empty()) {
    const json::object* object = errors->get_array().front().if_object();
    answer.error_class = JsonStringAt(JsonObjectAt(object, "extensions"), "errorClass");
    if (answer.error_class.empty()) answer.error_class = "UNKNOWN";
    answer.message = "http " + std::to_string(http.status) + " " + answer.error_class + ": " +
                     JsonStringAt(object, "message");
  } else if (http.status < 200 || http.status >= 300) {
    answer.error_class = http.status == 500 ? "INTERNAL" : "HTTP";
    answer.message = "http " + std::to_string(http.status);
  }
  return answer;
}

// The outcome of an answer with errors (or an HTTP error status).
PaymentOutcome GraphQlErrorOutcome(const std::string& error_class) {
  // INTERNAL is Braintree's "the ultimate state of the request is uncertain".
  return error_class == "INTERNAL" ? PaymentOutcome::kUnknown : PaymentOutcome::kFailed;
}

// The port's decline code (Stripe's words) for a processor-declined transaction, from the
// processor response code of its newest status event: Braintree's 2001 is insufficient funds,
// 2004 an expired card, 2010 a refused CVV; the rest of the 2000s are the card's refusal.
std::string BraintreeDeclineCode(const json::object* transaction) {
  const json::value* history =
      transaction != nullptr ? transaction->if_contains("statusHistory") : nullptr;
  std::string code;
  if (history != nullptr && history->is_array() && !history->get_array().empty()) {
    code = JsonStringAt(JsonObjectAt(history->get_array().front().if_object(), "processorResponse"),
                        "legacyCode");
  }
  if (code == "2001") return "insufficient_funds";
  if (code == "2004") return "expired_card";
  if (code == "2010") return "incorrect_cvc";
  return "card_declined";
}

// A result for `transaction` (an object with id and status).
PaymentResult ResultOfTransaction(const std::string& gateway, const json::object* transaction) {
  PaymentResult result;
  result.payment.gateway = gateway;
  result.payment.id = JsonStringAt(transaction, "id");
  const std::string status = JsonStringAt(transaction, "status");
  result.status = BraintreePortStatus(status);
  result.message = status;
  if (status == "PROCESSOR_DECLINED" || status == "GATEWAY_REJECTED") {
    result.outcome = PaymentOutcome::kDeclined;
    result.decline_code =
        status == "PROCESSOR_DECLINED" ? BraintreeDeclineCode(transaction) : "gateway_rejected";
  } else if (result.status == "failed" || result.payment.id.empty()) {
    result.outcome = PaymentOutcome::kFailed;
  } else {
    result.outcome = PaymentOutcome::kSucceeded;
  }
  return result;
}

}  // namespace

std::optional<std::int64_t> ParseBraintreeAmount(std::string_view text) {
  const std::size_t point = text.find('.');
  const std::string_view whole = text.substr(0, point);
  const std::string_view fraction = point == std::string_view::npos ? "" : text.substr(point + 1);
  auto digits = [](std::string_view part) {
    return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 12 || !digits(whole) || !digits(fraction) ||
      fraction.size() > 2 || (point != std::string_view::npos && fraction.empty())) {
    return std::nullopt;
  }
  std::int64_t cents = 0;
  for (char c : whole) cents = cents * 10 + (c - '0');
  cents *= 100;
  if (!fraction.empty())
    cents += (fraction[0] - '0') * 10 + (fraction.size() > 1 ? fraction[1] - '0' : 0);
  if (cents <= 0) return std::nullopt;
  return cents;
}

std::string BraintreeAmount(std::int64_t cents) {
  const std::int64_t fraction = cents % 100;
  return std::to_string(cents / 100) + "." + (fraction < 10 ? "0" : "") + std::to_string(fraction);
}

BraintreeGateway::BraintreeGateway(BraintreeGatewayOptions options)
    : options_(std::move(options)),
      http_(std::make_unique<GatewayHttp>(
          GatewayHttpOptions{options_.base_url, options_.connect_timeout, options_.timeout,
                             options_.idle_connections_max})) {}

BraintreeGateway::~BraintreeGateway() = default;

namespace {

// One GraphQL request's body (the document and its variables) and Braintree's headers.
std::string GraphQlBody(std::string_view query, json::object variables) {
  return json::serialize(json::object{{"query", query}, {"variables", std::move(variables)}});
}

std::vector<std::string> GraphQlHeaders(const BraintreeGatewayOptions& options) {
  return {"Authorization: Basic " +
              Base64StandardEncode(options.public_key + ":" + options.private_key),
          std::string("Braintree-Version: ") + kBraintreeVersion, "Content-Type: application/json"};
}

GatewayHttpAnswer SendGraphQl(const BraintreeGatewayOptions& options, GatewayHttp& http,
                              std::string_view query, json::object variables) {
  return http.Send(true, "/graphql", GraphQlHeaders(options),
                   GraphQlBody(query, std::move(variables)));
}

// The answer's transaction at `path` (e.g. "transaction"), or its error, as a result.
PaymentResult TransactionResult(const std::string& gateway, const GraphQlAnswer& answer,
                                std::string_view path) {
  PaymentResult result;
  result.payment.gateway = gateway;
  if (answer.transport != PaymentOutcome::kSucceeded) {
    result.outcome = answer.transport;
    result.message = answer.message;
    return result;
  }
  const json::value* field =
      answer.payload() != nullptr ? answer.payload()->if_contains(path) : nullptr;
  if (field != nullptr && field->is_object())
    return ResultOfTransaction(gateway, &field->get_object());
  result.outcome = answer.error_class.empty() ? PaymentOutcome::kUnknown
                                              : GraphQlErrorOutcome(answer.error_class);
  result.message = answer.error_class.empty() ? "answer without a transaction" : answer.message;
  return result;
}

}  // namespace

PaymentResult BraintreeGateway::Authorize(const AuthorizeRequest& request) {
  return AwaitPayment([&](PaymentDone done) { AuthorizeAsync(request, std::move(done)); });
}

void BraintreeGateway::AuthorizeAsync(const AuthorizeRequest& request, PaymentDone done) {
  json::object transaction{{"amount", BraintreeAmount(request.amount_cents)},
                           {"orderId", request.idempotency_key}};
  if (!options_.merchant_account_id.empty()) {
    transaction["merchantAccountId"] = options_.merchant_account_id;
  }
  json::object input{{"paymentMethodId", request.payment_token},
                     {"apiRequestKey", request.idempotency_key},
                     {"transaction", std::move(transaction)}};
  http_->SendAsync(true, "/graphql", GraphQlHeaders(options_),
                   GraphQlBody(kAuthorizeMutation, {{"input", std::move(input)}}),
                   [gateway = options_.name, done = std::move(done)](GatewayHttpAnswer http) {
                     PaymentResult result = TransactionResult(
                         gateway, ParseGraphQl(http, "authorizePaymentMethod"), "transaction");
                     LogGatewayFailure(gateway, GatewayOperation::kAuthorize, result);
                     done(std::move(result));
                   });
}

// Capture, void and refund: Braintree refuses a repeat of one that took effect (VALIDATION), so
// the transaction is read back and the call succeeds when it is where `done` says it should be.
namespace {

template <typename Done>
PaymentResult CheckDone(const BraintreeGatewayOptions& options, GatewayHttp& http,
                        GatewayOperation operation, const PaymentRef& payment, PaymentResult result,
                        const GraphQlAnswer& answer, Done done) {
  if (result.outcome == PaymentOutcome::kFailed && answer.error_class == "VALIDATION") {
    const GraphQlAnswer node =
        ParseGraphQl(SendGraphQl(options, http, kNodeQuery, {{"id", payment.id}}), "node");
    const json::object* transaction = node.payload();
    if (node.transport == PaymentOutcome::kSucceeded && transaction != nullptr &&
        done(*transaction)) {
      result = ResultOfTransaction(options.name, transaction);
      result.outcome = PaymentOutcome::kSucceeded;
      result.message = "already done: " + result.message;
    }
  }
  result.payment.id = payment.id;
  LogGatewayFailure(options.name, operation, result);
  return result;
}

bool IsCaptured(const json::object& transaction) {
  return BraintreePortStatus(JsonStringAt(&transaction, "status")) == "succeeded";
}

}  // namespace

PaymentResult BraintreeGateway::Capture(const PaymentRef& payment, std::int64_t amount_cents,
                                        const std::string&) {
  json::object input{{"transactionId", payment.id},
                     {"transaction", json::object{{"amount", BraintreeAmount(amount_cents)}}}};
  const GraphQlAnswer answer =
      ParseGraphQl(SendGraphQl(options_, *http_, kCaptureMutation, {{"input", std::move(input)}}),
                   "captureTransaction");
  PaymentResult result = TransactionResult(options_.name, answer, "transaction");
  return CheckDone(options_, *http_, GatewayOperation::kCapture, payment, std::move(result), answer,
                   IsCaptured);
}

PaymentResult BraintreeGateway::Void(const PaymentRef& payment, const std::string&) {
  const GraphQlAnswer answer =
      ParseGraphQl(SendGraphQl(options_, *http_, kReverseMutation,
                               {{"input", json::object{{"transactionId", payment.id}}}}),
                   "reverseTransaction");
  PaymentResult result = TransactionResult(options_.name, answer, "reversal");
  if (result.outcome == PaymentOutcome::kSucceeded && result.status != "canceled") {
    // Reversing a settled transaction refunds it: the money is back, but it was no void.
    result.status = "refunded";
  }
  return CheckDone(options_, *http_, GatewayOperation::kVoid, payment, std::move(result), answer,
                   [](const json::object& transaction) {
                     return JsonStringAt(&transaction, "status") == "VOIDED";
                   });
}

namespace {

// The cents of the refunds a transaction (node's answer) has that did not fail.
std::int64_t BraintreeRefundedCents(const json::object& transaction) {
  std::int64_t refunded = 0;
  const json::value* refunds = transaction.if_contains("refunds");
  if (refunds == nullptr || !refunds->is_array()) return 0;
  for (const json::value& refund : refunds->get_array()) {
    const std::string status = JsonStringAt(refund.if_object(), "status");
    if (status == "FAILED" || status == "PROCESSOR_DECLINED" || status == "GATEWAY_REJECTED" ||
        status == "VOIDED") {
      continue;
    }
    refunded +=
        ParseBraintreeAmount(JsonStringAt(JsonObjectAt(refund.if_object(), "amount"), "value"))
            .value_or(0);
  }
  return refunded;
}

}  // namespace

PaymentResult BraintreeGateway::Refund(const PaymentRef& payment, std::int64_t amount_cents,
                                       const std::string& idempotency_key) {
  json::object input{{"transactionId", payment.id},
                     {"refund", json::object{{"amount", BraintreeAmount(amount_cents)}}}};
  const GraphQlAnswer answer =
      ParseGraphQl(SendGraphQl(options_, *http_, kRefundMutation, {{"input", std::move(input)}}),
                   "refundTransaction");
  PaymentResult result = TransactionResult(options_.name, answer, "refund");
  if (result.outcome == PaymentOutcome::kSucceeded) result.status = "refunded";
  bool unsettled = false;
  result = CheckDone(options_, *http_, GatewayOperation::kRefund, payment, std::move(result),
                     answer, [amount_cents, &unsettled](const json::object& transaction) {
                       const std::string status = JsonStringAt(&transaction, "status");
                       unsettled = status == "SUBMITTED_FOR_SETTLEMENT" || status == "AUTHORIZED";
                       return BraintreeRefundedCents(transaction) >= amount_cents;
                     });
  if (result.outcome == PaymentOutcome::kFailed && unsettled) {
    // Braintree refunds only what has settled; until then the capture is voided instead, and
    // the money never leaves the card.
    PaymentResult voided = Void(payment, idempotency_key);
    if (voided.outcome == PaymentOutcome::kSucceeded) voided.status = "refunded";
    return voided;
  }
  if (result.outcome == PaymentOutcome::kSucceeded) result.status = "refunded";
  return result;
}

namespace {

// The search answer of a lookup, as the port's result.
PaymentResult BraintreeLookupResult(const std::string& gateway, const GatewayHttpAnswer& http) {
  const GraphQlAnswer answer = ParseGraphQl(http, "search");
  PaymentResult result;
  result.payment.gateway = gateway;
  const json::object* transactions = JsonObjectAt(answer.payload(), "transactions");
  const json::value* edges = transactions != nullptr ? transactions->if_contains("edges") : nullptr;
  if (answer.transport != PaymentOutcome::kSucceeded || edges == nullptr || !edges->is_array()) {
    // A lookup changes nothing, so any failure to answer is only "could not say".
    result.outcome =
        answer.transport == PaymentOutcome::kUnknown || answer.error_class == "INTERNAL"
            ? PaymentOutcome::kUnknown
            : PaymentOutcome::kFailed;
    result.message = answer.message.empty() ? "search answer without edges" : answer.message;
    LogGatewayFailure(gateway, GatewayOperation::kLookup, result);
    return result;
  }
  // Several transactions could share an order id only if something else made them; prefer one
  // that holds money, so that it is the one voided or captured.
  for (const json::value& edge : edges->get_array()) {
    const json::object* node = JsonObjectAt(edge.if_object(), "node");
    if (node == nullptr) continue;
    PaymentResult found = ResultOfTransaction(gateway, node);
    const bool holds_money = found.status == "requires_capture" || found.status == "succeeded";
    if (result.payment.id.empty() || holds_money) {
      result = std::move(found);
      if (holds_money) break;
    }
  }
  // Lookup answers kSucceeded for whatever it found, declined or not (the router reads status).
  result.outcome =
      result.payment.id.empty() ? PaymentOutcome::kNotFound : PaymentOutcome::kSucceeded;
  return result;
}

}  // namespace

PaymentResult BraintreeGateway::Lookup(const std::string& idempotency_key) {
  return AwaitPayment([&](PaymentDone done) { LookupAsync(idempotency_key, std::move(done)); });
}

void BraintreeGateway::LookupAsync(const std::string& idempotency_key, PaymentDone done) {
  json::object input{{"orderId", json::object{{"is", idempotency_key}}}};
  http_->SendAsync(true, "/graphql", GraphQlHeaders(options_),
                   GraphQlBody(kSearchQuery, {{"input", std::move(input)}}),
                   [gateway = options_.name, done = std::move(done)](GatewayHttpAnswer http) {
                     done(BraintreeLookupResult(gateway, http));
                   });
}

}  // namespace boxoffice
