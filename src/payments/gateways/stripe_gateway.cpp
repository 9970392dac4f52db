#include "payments/gateways/stripe_gateway.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "common/json_text.hpp"
#include "common/log.hpp"

namespace boxoffice {
namespace {

// Stripe's search query string for a metadata value; quotes and backslashes are escaped.
std::string MetadataQuery(std::string_view name, std::string_view value) {
  std::string query = "metadata['" + std::string(name) + "']:'";
  for (char c : value) {
    if (c == '\'' || c == '\\') query += '\\';
    query += c;
  }
  return query + "'";
}

}  // namespace

std::string PaymentMethodForm(std::string_view token) {
  if (token.starts_with("tok_")) {
    return "&payment_method_data%5Btype%5D=card&payment_method_data%5Bcard%5D%5Btoken%5D=" +
           FormEncode(token);
  }
  return "&payment_method=" + FormEncode(token);
}

std::string FormEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

// Maps one answer to the port's outcome.
PaymentResult ToResult(const std::string& gateway, GatewayOperation operation,
                       const GatewayHttpAnswer& answer) {
  PaymentResult result;
  result.payment.gateway = gateway;
  if (!answer.transport_error.empty()) {
    result.outcome = answer.maybe_sent ? PaymentOutcome::kUnknown : PaymentOutcome::kFailed;
    result.message = "transport: " + answer.transport_error;
    return result;
  }
  boost::system::error_code parse_error;
  boost::json::value json = boost::json::parse(answer.body, parse_error);
  const boost::json::object* object = json.if_object();
  if (parse_error || object == nullptr) {
    // An answer we cannot read says nothing about what happened.
    result.outcome = answer.status >= 200 && answer.status < 300 ? PaymentOutcome::kUnknown
                                                                 : PaymentOutcome::kFailed;
    result.message = "http " + std::to_string(answer.status) + ": unreadable answer";
    return result;
  }
  if (answer.status >= 200 && answer.status < 300) {
    result.outcome = PaymentOutcome::kSucceeded;
    if (operation == GatewayOperation::kRefund) {
      result.payment.id = JsonStringAt(object, "payment_intent");
    } else {
      result.payment.id = JsonStringAt(object, "id");
    }
    result.status = JsonStringAt(object, "status");
    return result;
  }
  const boost::json::object empty;
  const boost::json::value* error_value = object->if_contains("error");
  const boost::json::object& error =
      error_value != nullptr && error_value->is_object() ? error_value->get_object() : empty;
  const std::string type = JsonStringAt(&error, "type");
  const std::string code = JsonStringAt(&error, "code");
  result.message =
      "http " + std::to_string(answer.status) + " " + type + (code.empty() ? "" : " " + code);
  const boost::json::value* intent_value = error.if_contains("payment_intent");
  const boost::json::object* intent = intent_value != nullptr ? intent_value->if_object() : nullptr;
  if (intent != nullptr) {
    result.payment.id = JsonStringAt(intent, "id");
    result.status = JsonStringAt(intent, "status");
  }
  if (answer.status == 402 || type == "card_error") {
    result.outcome = PaymentOutcome::kDeclined;
    result.decline_code = JsonStringAt(&error, "decline_code");
    if (result.decline_code.empty()) result.decline_code = code;
    return result;
  }
  if (answer.status == 409) {
    // Another request with this key is still being processed: it may yet take effect.
    result.outcome = PaymentOutcome::kUnknown;
    return result;
  }
  if (code == "payment_intent_unexpected_state" &&
      ((operation == GatewayOperation::kCapture && result.status == "succeeded") ||
       (operation == GatewayOperation::kVoid && result.status == "canceled"))) {
    // Already where the call wanted it: captured or voided by an earlier attempt.
    result.outcome = PaymentOutcome::kSucceeded;
    return result;
  }
  result.outcome = PaymentOutcome::kFailed;
  return result;
}

}  // namespace

StripeGateway::StripeGateway(StripeGatewayOptions options)
    : options_(std::move(options)),
      http_(std::make_unique<GatewayHttp>(
          GatewayHttpOptions{options_.base_url, options_.connect_timeout, options_.timeout,
                             options_.idle_connections_max})) {}

StripeGateway::~StripeGateway() = default;

namespace {

// Stripe's headers: the Bearer key, and on a POST the form's type and the key.
std::vector<std::string> StripeHeaders(const StripeGatewayOptions& options, bool post,
                                       const std::string& idempotency_key) {
  std::vector<std::string> headers{"Authorization: Bearer " + options.api_key};
  if (post) {
    headers.push_back("Content-Type: application/x-www-form-urlencoded");
    if (!idempotency_key.empty()) headers.push_back("Idempotency-Key: " + idempotency_key);
  }
  return headers;
}

PaymentResult Perform(const StripeGatewayOptions& options, GatewayHttp& http,
                      GatewayOperation operation, const std::string& path, const std::string& form,
                      const std::string& idempotency_key) {
  PaymentResult result =
      ToResult(options.name, operation,
               http.Send(true, path, StripeHeaders(options, true, idempotency_key), form));
  LogGatewayFailure(options.name, operation, result);
  return result;
}

// The search answer of a lookup, as the port's result.
PaymentResult StripeLookupResult(const std::string& gateway, const GatewayHttpAnswer& answer) {
  PaymentResult result = ToResult(gateway, GatewayOperation::kLookup, answer);
  if (result.outcome != PaymentOutcome::kSucceeded) {
    // A lookup changes nothing, so any failure to answer is only "could not say".
    if (result.outcome == PaymentOutcome::kDeclined) result.outcome = PaymentOutcome::kFailed;
    LogGatewayFailure(gateway, GatewayOperation::kLookup, result);
    return result;
  }
  boost::system::error_code parse_error;
  const boost::json::value json = boost::json::parse(answer.body, parse_error);
  const boost::json::value* data =
      json.is_object() ? json.get_object().if_contains("data") : nullptr;
  if (data == nullptr || !data->is_array()) {
    result.outcome = PaymentOutcome::kUnknown;
    result.message = "search answer without data";
    return result;
  }
  result.payment.id.clear();
  result.status.clear();
  // Several intents could share a key only if something else created them; prefer the one that
  // holds money, so that it is the one voided or captured.
  for (const boost::json::value& item : data->get_array()) {
    if (!item.is_object()) continue;
    const std::string status = JsonStringAt(item.if_object(), "status");
    const bool holds_money =
        status == "requires_capture" || status == "succeeded" || status == "processing";
    if (result.payment.id.empty() || holds_money) {
      result.payment.id = JsonStringAt(item.if_object(), "id");
      result.status = status;
      if (holds_money) break;
    }
  }
  if (result.payment.id.empty()) result.outcome = PaymentOutcome::kNotFound;
  return result;
}

}  // namespace

PaymentResult StripeGateway::Authorize(const AuthorizeRequest& request) {
  return AwaitPayment([&](PaymentDone done) { AuthorizeAsync(request, std::move(done)); });
}

void StripeGateway::AuthorizeAsync(const AuthorizeRequest& request, PaymentDone done) {
  std::string currency = request.currency;
  for (char& c : currency) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string form =
      "amount=" + std::to_string(request.amount_cents) + "&currency=" + FormEncode(currency) +
      PaymentMethodForm(request.payment_token) + "&confirm=true&capture_method=manual" +
      "&metadata%5Bidempotency_key%5D=" + FormEncode(request.idempotency_key) +
      "&metadata%5Breference%5D=" + FormEncode(request.reference);
  http_->SendAsync(true, "/v1/payment_intents",
                   StripeHeaders(options_, true, request.idempotency_key), std::move(form),
                   [gateway = options_.name, done = std::move(done)](GatewayHttpAnswer answer) {
                     PaymentResult result = ToResult(gateway, GatewayOperation::kAuthorize, answer);
                     LogGatewayFailure(gateway, GatewayOperation::kAuthorize, result);
                     done(std::move(result));
                   });
}

PaymentResult StripeGateway::Capture(const PaymentRef& payment, std::int64_t amount_cents,
                                     const std::string& idempotency_key) {
  return Perform(options_, *http_, GatewayOperation::kCapture,
                 "/v1/payment_intents/" + FormEncode(payment.id) + "/capture",
                 "amount_to_capture=" + std::to_string(amount_cents), idempotency_key + ":capture");
}

PaymentResult StripeGateway::Void(const PaymentRef& payment, const std::string& idempotency_key) {
  return Perform(options_, *http_, GatewayOperation::kVoid,
                 "/v1/payment_intents/" + FormEncode(payment.id) + "/cancel", "",
                 idempotency_key + ":void");
}

PaymentResult StripeGateway::Refund(const PaymentRef& payment, std::int64_t amount_cents,
                                    const std::string& idempotency_key) {
  return Perform(
      options_, *http_, GatewayOperation::kRefund, "/v1/refunds",
      "payment_intent=" + FormEncode(payment.id) + "&amount=" + std::to_string(amount_cents),
      idempotency_key + ":refund");
}

PaymentResult StripeGateway::Lookup(const std::string& idempotency_key) {
  return AwaitPayment([&](PaymentDone done) { LookupAsync(idempotency_key, std::move(done)); });
}

void StripeGateway::LookupAsync(const std::string& idempotency_key, PaymentDone done) {
  std::string path = "/v1/payment_intents/search?query=" +
                     FormEncode(MetadataQuery("idempotency_key", idempotency_key));
  http_->SendAsync(false, std::move(path), StripeHeaders(options_, false, ""), "",
                   [gateway = options_.name, done = std::move(done)](GatewayHttpAnswer answer) {
                     done(StripeLookupResult(gateway, answer));
                   });
}

}  // namespace boxoffice
