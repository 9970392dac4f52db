#include "payments/gateways/stripe_gateway.hpp"

#include <curl/curl.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "common/log.hpp"

namespace boxoffice {
namespace {

// A gateway's answer larger than this is refused (the call then counts as unknown).
constexpr std::size_t kAnswerBytesMax = 1 << 20;

enum class Operation { kAuthorize, kCapture, kVoid, kRefund, kLookup };

std::string_view OperationName(Operation operation) {
  switch (operation) {
    case Operation::kAuthorize:
      return "authorize";
    case Operation::kCapture:
      return "capture";
    case Operation::kVoid:
      return "void";
    case Operation::kRefund:
      return "refund";
    case Operation::kLookup:
      return "lookup";
  }
  return "unknown";
}

struct HttpAnswer {
  CURLcode code = CURLE_OK;
  long status = 0;
  bool maybe_sent = false;  // the request may have reached the gateway
  bool too_large = false;
  std::string body;
};

std::size_t Collect(char* data, std::size_t size, std::size_t count, void* user) {
  auto* answer = static_cast<HttpAnswer*>(user);
  const std::size_t bytes = size * count;
  if (answer->body.size() + bytes > kAnswerBytesMax) {
    answer->too_large = true;
    return 0;  // aborts the transfer
  }
  answer->body.append(data, bytes);
  return bytes;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Errors that prove the request never left: the connection was never made.
bool FailedBeforeSending(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
      return true;
    default:
      return false;
  }
}

std::string StringField(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

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

// Idle curl handles; a handle keeps its connections alive between calls.
struct StripeGateway::Pool {
  std::mutex mutex;
  std::vector<CURL*> idle;

  ~Pool() {
    for (CURL* handle : idle) curl_easy_cleanup(handle);
  }
};

namespace {

class Call {
 public:
  Call(const StripeGatewayOptions& options, std::vector<CURL*>& idle, std::mutex& mutex)
      : options_(options), idle_(idle), mutex_(mutex) {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        handle_ = idle_.back();
        idle_.pop_back();
      }
    }
    if (handle_ == nullptr) {
      handle_ = curl_easy_init();
    } else {
      curl_easy_reset(handle_);  // keeps the live connections
    }
  }
  ~Call() {
    if (headers_ != nullptr) curl_slist_free_all(headers_);
    if (handle_ == nullptr) return;
    std::lock_guard lock(mutex_);
    if (idle_.size() < options_.idle_connections_max) {
      idle_.push_back(handle_);
    } else {
      curl_easy_cleanup(handle_);
    }
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // `form` empty with `post` false: a GET.
  HttpAnswer Send(bool post, const std::string& path, const std::string& form,
                  const std::string& idempotency_key) {
    HttpAnswer answer;
    if (handle_ == nullptr) {
      answer.code = CURLE_FAILED_INIT;
      return answer;
    }
    const std::string url = options_.base_url + path;
    curl_easy_setopt(handle_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(handle_, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &Collect);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &answer);
    const std::string authorization = "Authorization: Bearer " + options_.api_key;
    headers_ = curl_slist_append(headers_, authorization.c_str());
    headers_ = curl_slist_append(headers_, "Expect:");
    if (post) {
      headers_ = curl_slist_append(headers_, "Content-Type: application/x-www-form-urlencoded");
      if (!idempotency_key.empty()) {
        const std::string header = "Idempotency-Key: " + idempotency_key;
        headers_ = curl_slist_append(headers_, header.c_str());
      }
      curl_easy_setopt(handle_, CURLOPT_POST, 1L);
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, form.c_str());
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
    } else {
      curl_easy_setopt(handle_, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers_);
    answer.code = curl_easy_perform(handle_);
    curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &answer.status);
    if (answer.code != CURLE_OK) {
      // Once the connection is up the request may be on the wire: from then on a failure is
      // ambiguous, unless the error itself proves that no connection was made.
      curl_off_t pretransfer_us = 0;
      curl_easy_getinfo(handle_, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
      answer.maybe_sent = !FailedBeforeSending(answer.code) && pretransfer_us > 0;
      // A broken connection must not be offered to the next call.
      curl_easy_cleanup(handle_);
      handle_ = nullptr;
    }
    return answer;
  }

 private:
  const StripeGatewayOptions& options_;
  std::vector<CURL*>& idle_;
  std::mutex& mutex_;
  CURL* handle_ = nullptr;
  curl_slist* headers_ = nullptr;
};

// Maps one answer to the port's outcome.
PaymentResult ToResult(const std::string& gateway, Operation operation, const HttpAnswer& answer) {
  PaymentResult result;
  result.payment.gateway = gateway;
  if (answer.code != CURLE_OK) {
    result.outcome = answer.maybe_sent ? PaymentOutcome::kUnknown : PaymentOutcome::kFailed;
    result.message = std::string("transport: ") + curl_easy_strerror(answer.code);
    if (answer.too_large) result.message = "transport: answer larger than 1 MiB";
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
    if (operation == Operation::kRefund) {
      result.payment.id = StringField(*object, "payment_intent");
    } else {
      result.payment.id = StringField(*object, "id");
    }
    result.status = StringField(*object, "status");
    return result;
  }
  const boost::json::object empty;
  const boost::json::value* error_value = object->if_contains("error");
  const boost::json::object& error =
      error_value != nullptr && error_value->is_object() ? error_value->get_object() : empty;
  const std::string type = StringField(error, "type");
  const std::string code = StringField(error, "code");
  result.message =
      "http " + std::to_string(answer.status) + " " + type + (code.empty() ? "" : " " + code);
  const boost::json::value* intent_value = error.if_contains("payment_intent");
  const boost::json::object* intent = intent_value != nullptr ? intent_value->if_object() : nullptr;
  if (intent != nullptr) {
    result.payment.id = StringField(*intent, "id");
    result.status = StringField(*intent, "status");
  }
  if (answer.status == 402 || type == "card_error") {
    result.outcome = PaymentOutcome::kDeclined;
    result.decline_code = StringField(error, "decline_code");
    if (result.decline_code.empty()) result.decline_code = code;
    return result;
  }
  if (answer.status == 409) {
    // Another request with this key is still being processed: it may yet take effect.
    result.outcome = PaymentOutcome::kUnknown;
    return result;
  }
  if (code == "payment_intent_unexpected_state" &&
      ((operation == Operation::kCapture && result.status == "succeeded") ||
       (operation == Operation::kVoid && result.status == "canceled"))) {
    // Already where the call wanted it: captured or voided by an earlier attempt.
    result.outcome = PaymentOutcome::kSucceeded;
    return result;
  }
  result.outcome = PaymentOutcome::kFailed;
  return result;
}

}  // namespace

namespace {

StripeGatewayOptions WithoutTrailingSlash(StripeGatewayOptions options) {
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  return options;
}

}  // namespace

StripeGateway::StripeGateway(StripeGatewayOptions options)
    : options_(WithoutTrailingSlash(std::move(options))), pool_(std::make_unique<Pool>()) {
  InitCurlOnce();
}

StripeGateway::~StripeGateway() = default;

namespace {

PaymentResult Perform(const StripeGatewayOptions& options, std::vector<CURL*>& idle,
                      std::mutex& mutex, Operation operation, bool post, const std::string& path,
                      const std::string& form, const std::string& idempotency_key) {
  HttpAnswer answer = Call(options, idle, mutex).Send(post, path, form, idempotency_key);
  PaymentResult result = ToResult(options.name, operation, answer);
  if (result.outcome == PaymentOutcome::kFailed || result.outcome == PaymentOutcome::kUnknown) {
    LogWarn("payment_gateway_call_failed", {{"gateway", options.name},
                                            {"operation", OperationName(operation)},
                                            {"outcome", PaymentOutcomeName(result.outcome)},
                                            {"detail", result.message}});
  }
  return result;
}

}  // namespace

PaymentResult StripeGateway::Authorize(const AuthorizeRequest& request) {
  std::string currency = request.currency;
  for (char& c : currency) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string form =
      "amount=" + std::to_string(request.amount_cents) + "&currency=" + FormEncode(currency) +
      PaymentMethodForm(request.payment_token) + "&confirm=true&capture_method=manual" +
      "&metadata%5Bidempotency_key%5D=" + FormEncode(request.idempotency_key) +
      "&metadata%5Breference%5D=" + FormEncode(request.reference);
  return Perform(options_, pool_->idle, pool_->mutex, Operation::kAuthorize, true,
                 "/v1/payment_intents", form, request.idempotency_key);
}

PaymentResult StripeGateway::Capture(const PaymentRef& payment, std::int64_t amount_cents,
                                     const std::string& idempotency_key) {
  return Perform(options_, pool_->idle, pool_->mutex, Operation::kCapture, true,
                 "/v1/payment_intents/" + FormEncode(payment.id) + "/capture",
                 "amount_to_capture=" + std::to_string(amount_cents), idempotency_key + ":capture");
}

PaymentResult StripeGateway::Void(const PaymentRef& payment, const std::string& idempotency_key) {
  return Perform(options_, pool_->idle, pool_->mutex, Operation::kVoid, true,
                 "/v1/payment_intents/" + FormEncode(payment.id) + "/cancel", "",
                 idempotency_key + ":void");
}

PaymentResult StripeGateway::Refund(const PaymentRef& payment, std::int64_t amount_cents,
                                    const std::string& idempotency_key) {
  return Perform(
      options_, pool_->idle, pool_->mutex, Operation::kRefund, true, "/v1/refunds",
      "payment_intent=" + FormEncode(payment.id) + "&amount=" + std::to_string(amount_cents),
      idempotency_key + ":refund");
}

PaymentResult StripeGateway::Lookup(const std::string& idempotency_key) {
  const std::string path = "/v1/payment_intents/search?query=" +
                           FormEncode(MetadataQuery("idempotency_key", idempotency_key));
  HttpAnswer answer = Call(options_, pool_->idle, pool_->mutex).Send(false, path, "", "");
  PaymentResult result = ToResult(options_.name, Operation::kLookup, answer);
  if (result.outcome != PaymentOutcome::kSucceeded) {
    // A lookup changes nothing, so any failure to answer is only "could not say".
    if (result.outcome == PaymentOutcome::kDeclined) result.outcome = PaymentOutcome::kFailed;
    LogWarn("payment_gateway_call_failed", {{"gateway", options_.name},
                                            {"operation", "lookup"},
                                            {"outcome", PaymentOutcomeName(result.outcome)},
                                            {"detail", result.message}});
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
    const std::string status = StringField(item.get_object(), "status");
    const bool holds_money =
        status == "requires_capture" || status == "succeeded" || status == "processing";
    if (result.payment.id.empty() || holds_money) {
      result.payment.id = StringField(item.get_object(), "id");
      result.status = status;
      if (holds_money) break;
    }
  }
  if (result.payment.id.empty()) result.outcome = PaymentOutcome::kNotFound;
  return result;
}

}  // namespace boxoffice
