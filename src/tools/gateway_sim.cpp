#include "tools/gateway_sim.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/json_text.hpp"
#include "common/listen_address.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "tools/gateway_sim_braintree.hpp"
#include "tools/gateway_sim_support.hpp"

namespace boxoffice::tools {
namespace {

using Clock = SimClock;
using Params = http::QueryPairs;

// Bounds: the simulator refuses new payment intents past this (503) instead of growing forever.
constexpr std::size_t kIntentsMax = 2'000'000;
constexpr std::size_t kIdempotencyKeysMax = 4 * kIntentsMax;
constexpr std::size_t kFormParamsMax = 64;
constexpr std::size_t kSearchResultsMax = 100;
// A stopping simulator waits this long for the answers it is still writing.
constexpr auto kDrainTimeout = std::chrono::seconds(2);

// application/x-www-form-urlencoded, decoded by the same code as the server's query strings. A
// pair without a name is refused here: no gateway field is nameless, so one is a client's mistake.
std::optional<Params> ParseForm(std::string_view body) {
  Params params;
  if (!http::ParseFormUrlEncoded(body, params, kFormParamsMax)) return std::nullopt;
  for (const auto& [name, value] : params) {
    if (name.empty()) return std::nullopt;
  }
  return params;
}

const std::string* Find(const Params& params, std::string_view key) {
  for (const auto& [name, value] : params) {
    if (name == key) return &value;
  }
  return nullptr;
}

std::optional<std::int64_t> ParseAmount(const std::string* text) {
  if (text == nullptr || text->empty()) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value <= 0) {
    return std::nullopt;
  }
  return value;
}

http::Response Json(int status, const boost::json::object& body) {
  http::Response response;
  response.status = status;
  response.body = SerializeJson(body);
  return response;
}

// Stripe's error body: {"error": {"type", "code", "message", ...}}.
http::Response StripeError(int status, std::string_view type, std::string_view code,
                           std::string_view message, boost::json::object extra = {}) {
  boost::json::object error = std::move(extra);
  error["type"] = type;
  if (!code.empty()) error["code"] = code;
  error["message"] = message;
  return Json(status, boost::json::object{{"error", std::move(error)}});
}

// What a test card does, under each name a client may send it by: a card token (tok_...) in
// payment_method_data[card][token], or one of Stripe's test PaymentMethods (pm_card_...) in
// payment_method. tok_error stands for a gateway outage and has no PaymentMethod.
struct TestCard {
  std::string_view token;
  std::string_view payment_method;  // empty: none
  std::string_view decline_code;    // empty: approves
  bool fails = false;               // answers 500 api_error, doing nothing
};

constexpr TestCard kTestCards[] = {
    {"tok_visa", "pm_card_visa", "", false},
    {"tok_declined", "pm_card_chargeDeclined", "generic_decline", false},
    {"tok_insufficient_funds", "pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds",
     false},
    {"tok_error", "", "", true},
};

const TestCard* CardByToken(std::string_view token) {
  for (const TestCard& card : kTestCards) {
    if (card.token == token) return &card;
  }
  return nullptr;
}

const TestCard* CardByPaymentMethod(std::string_view payment_method) {
  for (const TestCard& card : kTestCards) {
    if (!card.payment_method.empty() && card.payment_method == payment_method) return &card;
  }
  return nullptr;
}

struct Intent {
  std::string id;
  std::string client_secret;
  std::int64_t amount = 0;
  std::int64_t amount_received = 0;
  std::int64_t amount_refunded = 0;
  std::string currency;
  // requires_payment_method (none yet, or declined), requires_confirmation, requires_capture,
  // succeeded, canceled
  std::string status;
  const TestCard* card = nullptr;  // the card confirmed or to confirm with
  std::string payment_method;      // the PaymentMethod's id, once there is one
  std::string latest_charge;       // the last charge attempt's id, once confirmed
  std::string decline_code;
  std::string idempotency_key;  // the create's Idempotency-Key header, if any
  boost::json::object metadata;
  std::int64_t created = 0;
  std::int64_t canceled_at = 0;  // 0 while not canceled
  std::string cancellation_reason;
};

// A string field, or JSON null when empty (as Stripe writes fields that are not set).
boost::json::value OrNull(const std::string& text) {
  return text.empty() ? boost::json::value(nullptr) : boost::json::value(text);
}

boost::json::object IntentJson(const Intent& intent) {
  boost::json::object json{
      {"id", intent.id},
      {"object", "payment_intent"},
      {"amount", intent.amount},
      {"amount_capturable", intent.status == "requires_capture" ? intent.amount : 0},
      {"amount_received", intent.amount_received},
      {"canceled_at", intent.canceled_at == 0 ? boost::json::value(nullptr)
                                              : boost::json::value(intent.canceled_at)},
      {"cancellation_reason", OrNull(intent.cancellation_reason)},
      {"capture_method", "manual"},
      {"client_secret", intent.client_secret},
      {"confirmation_method", "automatic"},
      {"created", intent.created},
      {"currency", intent.currency},
      {"latest_charge", OrNull(intent.latest_charge)},
      {"livemode", false},
      {"metadata", intent.metadata},
      {"payment_method", OrNull(intent.payment_method)},
      {"status", intent.status},
  };
  if (!intent.decline_code.empty()) {
    json["last_payment_error"] = boost::json::object{
        {"type", "card_error"}, {"code", "card_declined"}, {"decline_code", intent.decline_code}};
  }
  return json;
}

// One stored answer per Idempotency-Key, as Stripe keeps them.
struct IdempotencyEntry {
  std::string fingerprint;  // method, path and sorted parameters of the first request
  bool in_flight = true;
  http::Response response;
};

}  // namespace

void AddGatewaySimOptions(CLI::App& command, GatewaySimOptions& options) {
  command.add_option("--listen", options.listen, "Address to listen on, host:port (port 0: any)")
      ->capture_default_str();
  command.add_option("--api", options.api, "The API it speaks: stripe or braintree")
      ->check(CLI::IsMember({"stripe", "braintree"}))
      ->capture_default_str();
  command
      .add_option("--public-key", options.public_key,
                  "Braintree: the public key that goes with --api-key (the private key)")
      ->capture_default_str();
  command
      .add_option("--api-key", options.api_key,
                  "Stripe: the secret key clients send as 'Authorization: Bearer KEY'; Braintree: "
                  "the private key")
      ->envname("BOXOFFICE_GATEWAY_SIM_API_KEY")
      ->capture_default_str();
  command.add_option("--latency-ms", options.latency_ms, "Added to every API answer")
      ->check(CLI::Range(0u, 60'000u))
      ->capture_default_str();
  command
      .add_option("--answer-together", options.answer_together,
                  "Hold API answers until this many wait, then send them all (0: off); proves "
                  "that a client keeps that many calls open at once")
      ->check(CLI::Range(0u, 10'000u))
      ->capture_default_str();
  command
      .add_option("--error-rate", options.error_rate,
                  "Share (0..1) of API requests answered 500 api_error without effect")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  command
      .add_option("--timeout-rate", options.timeout_rate,
                  "Share (0..1) of POSTs that take effect, then hang --timeout-hang-ms")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  command
      .add_option("--decline-rate", options.decline_rate,
                  "Share (0..1) of tok_visa payments declined (generic_decline)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  command
      .add_option("--timeout-hang-ms", options.timeout_hang_ms,
                  "How long a timed-out request hangs before it answers after all")
      ->check(CLI::Range(1u, 600'000u))
      ->capture_default_str();
  command.add_option("--seed", options.seed, "Seeds the fault dice and ids (repeatable runs)")
      ->capture_default_str();
  command.add_option("--threads", options.threads, "I/O threads")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
}

struct GatewaySim::Impl {
  explicit Impl(GatewaySimOptions sim_options)
      : options(std::move(sim_options)), random(options.seed) {
    Result<std::pair<std::string, std::uint16_t>> listen = ParseListen(options.listen);
    if (!listen) throw std::invalid_argument(listen.error().message);
    for (double rate : {options.error_rate, options.timeout_rate, options.decline_rate}) {
      if (!(rate >= 0.0 && rate <= 1.0)) throw std::invalid_argument("rates must be in 0..1");
    }
    if (options.api_key.empty()) throw std::invalid_argument("--api-key must not be empty");
    if (options.api != "stripe" && options.api != "braintree") {
      throw std::invalid_argument("--api must be stripe or braintree");
    }
    if (options.api == "braintree") braintree = std::make_unique<BraintreeSim>(options, delays);
    http::ServerOptions server_options;
    server_options.listen_host = listen->first;
    server_options.listen_port = listen->second;
    server_options.threads = options.threads;
    server_options.stop_on_signals = options.stop_on_signals;
    server_options.drain_timeout_s =
        std::chrono::duration_cast<std::chrono::seconds>(kDrainTimeout);
    AddRoutes();
    server.emplace(server_options, router, metrics);
  }

  void AddRoutes() {
    if (braintree) {
      router.Add(http::Method::kPost, "/graphql",
                 [this](const http::Request& request, http::Respond respond) {
                   braintree->Handle(request, std::move(respond));
                 });
      router.Add(
          http::Method::kGet, "/_sim/transactions",
          [this](const http::Request&, http::Respond respond) { respond(braintree->Records()); });
      router.Add(
          http::Method::kPost, "/_sim/settle",
          [this](const http::Request&, http::Respond respond) { respond(braintree->Settle()); });
      return;
    }
    auto api = [this](auto operation) {
      return [this, operation](const http::Request& request, http::Respond respond) {
        Handle(request, std::move(respond), operation);
      };
    };
    router.Add(http::Method::kPost, "/v1/payment_intents",
               api([this](const http::Request& request, const Params& params) {
                 return Create(request, params);
               }));
    router.Add(http::Method::kPost, "/v1/payment_intents/{id}/capture",
               api([this](const http::Request& request, const Params& params) {
                 return Capture(std::string(request.PathParam("id")), params);
               }));
    router.Add(http::Method::kPost, "/v1/payment_intents/{id}/confirm",
               api([this](const http::Request& request, const Params& params) {
                 return Confirm(std::string(request.PathParam("id")), params);
               }));
    router.Add(http::Method::kPost, "/v1/payment_intents/{id}/cancel",
               api([this](const http::Request& request, const Params& params) {
                 return Cancel(std::string(request.PathParam("id")), params);
               }));
    router.Add(http::Method::kPost, "/v1/refunds",
               api([this](const http::Request&, const Params& params) { return Refund(params); }));
    router.Add(
        http::Method::kGet, "/v1/payment_intents/search",
        api([this](const http::Request& request, const Params&) { return Search(request); }));
    router.Add(http::Method::kGet, "/v1/payment_intents/{id}",
               api([this](const http::Request& request, const Params&) {
                 return Retrieve(std::string(request.PathParam("id")));
               }));
    router.Add(http::Method::kGet, "/_sim/payment_intents",
               [this](const http::Request&, http::Respond respond) { respond(Records()); });
    // What Stripe answers for a path or method it does not know, in its own error shape.
    router.SetFallback([this](const http::Request& request, http::Respond respond) {
      http::Response response =
          StripeError(404, "invalid_request_error", "",
                      "Unrecognized request URL (" + std::string(http::MethodName(request.method)) +
                          ": " + request.path + ").");
      response.SetHeader("Request-Id", NewRequestId());
      respond(std::move(response));
    });
  }

  // "req_" and 14 characters, as Stripe names the request in every answer's Request-Id.
  std::string NewRequestId() {
    std::lock_guard lock(mutex);
    return NewId("req_", 14);
  }

  // Authentication, idempotency and faults around every API operation. The operation runs after
  // the latency (so a concurrent request with the same key meets the first one in flight), and a
  // timeout fault hangs only after the operation took effect: the ambiguous case.
  template <typename Operation>
  void Handle(const http::Request& request, http::Respond respond_as_is, Operation operation) {
    // Every answer names its request, as Stripe's do; a replay keeps the first answer's id.
    http::Respond respond = [respond_as_is = std::move(respond_as_is),
                             id = NewRequestId()](http::Response response) {
      const bool named =
          std::any_of(response.headers.begin(), response.headers.end(),
                      [](const auto& header) { return header.first == "Request-Id"; });
      if (!named) response.SetHeader("Request-Id", id);
      respond_as_is(std::move(response));
    };
    const std::optional<std::string_view> authorization = request.Header("authorization");
    if (!authorization || *authorization != "Bearer " + options.api_key) {
      respond(StripeError(401, "invalid_request_error", "",
                          "Invalid API Key provided. Send 'Authorization: Bearer sk_...'."));
      return;
    }
    std::optional<Params> params = Params{};
    if (request.method == http::Method::kPost) params = ParseForm(request.body);
    if (!params) {
      respond(StripeError(400, "invalid_request_error", "parameter_invalid",
                          "The body is not valid application/x-www-form-urlencoded."));
      return;
    }
    std::string key;
    if (request.method == http::Method::kPost) {
      key = std::string(request.Header("idempotency-key").value_or(""));
    }
    Fault fault = Fault::kNone;
    {
      std::lock_guard lock(mutex);
      if (request.path == "/v1/payment_intents" && !key.empty()) ++create_attempts[key];
      if (!key.empty()) {
        std::string fingerprint = Fingerprint(request, *params);
        if (idempotency.size() >= kIdempotencyKeysMax && !idempotency.contains(key)) {
          respond(StripeError(503, "api_error", "",
                              "The simulator holds its maximum of idempotency keys."));
          return;
        }
        auto [entry, inserted] = idempotency.try_emplace(key);
        if (!inserted) {
          std::optional<http::Response> early;
          if (entry->second.fingerprint != fingerprint) {
            early = StripeError(400, "idempotency_error", "",
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with.");
          } else if (entry->second.in_flight) {
            early = StripeError(409, "idempotency_error", "idempotency_key_in_use",
                                "There is currently another in-progress request using this "
                                "Idempotent Key. Try again later.");
          } else {
            early = entry->second.response;
            early->SetHeader("Idempotent-Replayed", "true");
          }
          Later(std::move(respond), std::move(*early));
          return;
        }
        entry->second.fingerprint = std::move(fingerprint);
      }
      fault = RollFault(request.method == http::Method::kPost);
    }
    auto run = [this, request_copy = request, params = std::move(*params), key = std::move(key),
                fault, operation, respond = std::move(respond)]() mutable {
      http::Response response;
      {
        std::lock_guard lock(mutex);
        if (fault == Fault::kError) {
          // Stands for a failure before the request reached the API: nothing is done, nothing is
          // stored, and a retry with the same key may succeed.
          if (!key.empty()) idempotency.erase(key);
          response = StripeError(500, "api_error", "", "An error occurred with our API.");
        } else {
          response = operation(request_copy, params);
          if (!key.empty()) {
            IdempotencyEntry& entry = idempotency[key];
            entry.in_flight = false;
            entry.response = response;
          }
        }
      }
      if (fault == Fault::kTimeout) {
        delays.Schedule(Clock::now() + std::chrono::milliseconds(options.timeout_hang_ms),
                        [respond = std::move(respond), response = std::move(response)]() mutable {
                          respond(std::move(response));
                        });
      } else {
        respond(std::move(response));
      }
    };
    delays.Answer(std::chrono::milliseconds(options.latency_ms), std::move(run));
  }

  void Later(http::Respond respond, http::Response response) {
    delays.Answer(std::chrono::milliseconds(options.latency_ms),
                  [respond = std::move(respond), response = std::move(response)]() mutable {
                    respond(std::move(response));
                  });
  }

  static std::string Fingerprint(const http::Request& request, Params params) {
    std::sort(params.begin(), params.end());
    std::string fingerprint = request.path;
    for (const auto& [name, value] : params) {
      fingerprint += '\n';
      fingerprint += name;
      fingerprint += '=';
      fingerprint += value;
    }
    return fingerprint;
  }

  // Under `mutex`.
  Fault RollFault(bool post) { return RollSimFault(options, random, post); }
  // Under `mutex`.
  std::string NewId(std::string_view prefix, int length = 24) {
    return RandomSimId(random, prefix, length);
  }

  // The test card a request names, by either documented form (see TestCard); `card` stays null
  // when it names none.
  static std::optional<http::Response> ReadCard(const Params& params, const TestCard*& card) {
    card = nullptr;
    const std::string* payment_method = Find(params, "payment_method");
    const std::string* token = Find(params, "payment_method_data[card][token]");
    const std::string* type = Find(params, "payment_method_data[type]");
    if (payment_method != nullptr && (token != nullptr || type != nullptr)) {
      return StripeError(400, "invalid_request_error", "parameter_unknown",
                         "Send payment_method or payment_method_data, not both.",
                         {{"param", "payment_method_data"}});
    }
    if (token != nullptr || type != nullptr) {
      if (type == nullptr || *type != "card" || token == nullptr) {
        return StripeError(400, "invalid_request_error", "parameter_missing",
                           "payment_method_data needs type=card and card[token].",
                           {{"param", "payment_method_data[card][token]"}});
      }
      card = CardByToken(*token);
      if (card == nullptr) {
        return StripeError(400, "invalid_request_error", "resource_missing",
                           "No such token: '" + *token +
                               "'; the simulator knows tok_visa, tok_declined, "
                               "tok_insufficient_funds and tok_error.",
                           {{"param", "payment_method_data[card][token]"}});
      }
      return std::nullopt;
    }
    if (payment_method == nullptr) return std::nullopt;
    card = CardByPaymentMethod(*payment_method);
    if (card == nullptr) {
      const bool token_given = payment_method->starts_with("tok_");
      return StripeError(
          400, "invalid_request_error", "resource_missing",
          "No such PaymentMethod: '" + *payment_method + "'" +
              (token_given ? "; a card token goes in payment_method_data[card][token]."
                           : "; the simulator knows pm_card_visa, pm_card_chargeDeclined and "
                             "pm_card_chargeDeclinedInsufficientFunds."),
          {{"param", "payment_method"}});
    }
    return std::nullopt;
  }

  // The card's authorization: the intent holds the amount (requires_capture) or is declined.
  // Under `mutex`.
  http::Response Authorize(Intent& intent, const TestCard& card) {
    if (card.fails) return StripeError(500, "api_error", "", "An error occurred with our API.");
    intent.card = &card;
    intent.payment_method = NewId("pm_");
    intent.latest_charge = NewId("ch_");
    intent.decline_code = std::string(card.decline_code);
    if (intent.decline_code.empty() &&
        std::uniform_real_distribution<double>(0.0, 1.0)(random) < options.decline_rate) {
      intent.decline_code = "generic_decline";
    }
    intent.status = intent.decline_code.empty() ? "requires_capture" : "requires_payment_method";
    if (!intent.decline_code.empty()) {
      return StripeError(
          402, "card_error", "card_declined",
          intent.decline_code == "insufficient_funds" ? "Your card has insufficient funds."
                                                      : "Your card was declined.",
          {{"decline_code", intent.decline_code}, {"payment_intent", IntentJson(intent)}});
    }
    return Json(200, IntentJson(intent));
  }

  // Under `mutex`.
  http::Response Create(const http::Request& request, const Params& params) {
    const std::optional<std::int64_t> amount = ParseAmount(Find(params, "amount"));
    if (!amount) {
      return StripeError(400, "invalid_request_error", "parameter_invalid_integer",
                         "amount must be a positive integer (in the smallest currency unit).",
                         {{"param", "amount"}});
    }
    const std::string* currency = Find(params, "currency");
    if (currency == nullptr || currency->size() != 3) {
      return StripeError(400, "invalid_request_error", "parameter_missing",
                         "currency must be a three-letter ISO code.", {{"param", "currency"}});
    }
    const std::string* confirm_text = Find(params, "confirm");
    const std::string* capture_method = Find(params, "capture_method");
    if (capture_method == nullptr || *capture_method != "manual" ||
        (confirm_text != nullptr && *confirm_text != "true" && *confirm_text != "false")) {
      return StripeError(400, "invalid_request_error", "parameter_invalid_empty",
                         "The simulator supports capture_method=manual only, confirmed at once "
                         "(confirm=true) or later (POST .../confirm).");
    }
    const bool confirm = confirm_text != nullptr && *confirm_text == "true";
    const TestCard* card = nullptr;
    if (std::optional<http::Response> refused = ReadCard(params, card)) return *refused;
    if (confirm && card == nullptr) {
      return StripeError(400, "invalid_request_error", "parameter_missing",
                         "confirm=true needs payment_method or payment_method_data.",
                         {{"param", "payment_method"}});
    }
    if (confirm && card->fails) {
      return StripeError(500, "api_error", "", "An error occurred with our API.");
    }
    if (intents.size() >= kIntentsMax) {
      return StripeError(503, "api_error", "", "The simulator holds its maximum of intents.");
    }
    Intent intent;
    intent.id = NewId("pi_");
    intent.client_secret = intent.id + "_secret_" + NewId("");
    intent.amount = *amount;
    intent.currency = *currency;
    std::transform(intent.currency.begin(), intent.currency.end(), intent.currency.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    intent.idempotency_key = std::string(request.Header("idempotency-key").value_or(""));
    intent.created = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    for (const auto& [name, value] : params) {
      if (name.size() > 10 && name.starts_with("metadata[") && name.back() == ']') {
        intent.metadata[name.substr(9, name.size() - 10)] = value;
      }
    }
    intent.card = card;
    intent.status = card == nullptr ? "requires_payment_method" : "requires_confirmation";
    Intent& stored = Store(std::move(intent));
    if (!confirm) return Json(200, IntentJson(stored));
    return Authorize(stored, *card);
  }

  // Under `mutex`.
  http::Response Confirm(const std::string& id, const Params& params) {
    Intent* intent = nullptr;
    if (auto missing = Missing(id, intent)) return *missing;
    if (intent->status != "requires_confirmation" && intent->status != "requires_payment_method") {
      return UnexpectedState(*intent, "confirm");
    }
    const TestCard* card = nullptr;
    if (std::optional<http::Response> refused = ReadCard(params, card)) return *refused;
    if (card == nullptr) card = intent->card;
    if (card == nullptr) {
      return StripeError(400, "invalid_request_error", "payment_intent_unexpected_state",
                         "The PaymentIntent has no payment method to confirm with; send "
                         "payment_method or payment_method_data.",
                         {{"payment_intent", IntentJson(*intent)}});
    }
    return Authorize(*intent, *card);
  }

  // Under `mutex`.
  Intent& Store(Intent intent) {
    const std::string id = intent.id;
    for (const auto& [name, value] : intent.metadata) {
      metadata_index[std::string(name) + '\0' + std::string(value.as_string())].push_back(id);
    }
    order.push_back(id);
    return intents.emplace(id, std::move(intent)).first->second;
  }

  // Under `mutex`.
  std::optional<http::Response> Missing(const std::string& id, Intent*& intent) {
    auto found = intents.find(id);
    if (found == intents.end()) {
      return StripeError(404, "invalid_request_error", "resource_missing",
                         "No such payment_intent: '" + id + "'", {{"param", "id"}});
    }
    intent = &found->second;
    return std::nullopt;
  }

  static http::Response UnexpectedState(const Intent& intent, std::string_view action) {
    return StripeError(400, "invalid_request_error", "payment_intent_unexpected_state",
                       "You cannot " + std::string(action) +
                           " this PaymentIntent because it has a "
                           "status of " +
                           intent.status + ".",
                       {{"payment_intent", IntentJson(intent)}});
  }

  // Under `mutex`.
  http::Response Capture(const std::string& id, const Params& params) {
    Intent* intent = nullptr;
    if (auto missing = Missing(id, intent)) return *missing;
    if (intent->status != "requires_capture") return UnexpectedState(*intent, "capture");
    std::int64_t amount = intent->amount;
    if (const std::string* text = Find(params, "amount_to_capture")) {
      const std::optional<std::int64_t> parsed = ParseAmount(text);
      if (!parsed || *parsed > intent->amount) {
        return StripeError(400, "invalid_request_error", "amount_too_large",
                           "amount_to_capture must be positive and at most the amount.",
                           {{"param", "amount_to_capture"}});
      }
      amount = *parsed;
    }
    intent->status = "succeeded";
    intent->amount_received = amount;
    return Json(200, IntentJson(*intent));
  }

  // Under `mutex`.
  http::Response Cancel(const std::string& id, const Params& params) {
    Intent* intent = nullptr;
    if (auto missing = Missing(id, intent)) return *missing;
    if (intent->status != "requires_capture" && intent->status != "requires_payment_method" &&
        intent->status != "requires_confirmation") {
      return UnexpectedState(*intent, "cancel");
    }
    std::string reason;
    if (const std::string* given = Find(params, "cancellation_reason")) {
      constexpr std::string_view kReasons[] = {"duplicate", "fraudulent", "requested_by_customer",
                                               "abandoned"};
      if (std::find(std::begin(kReasons), std::end(kReasons), *given) == std::end(kReasons)) {
        return StripeError(400, "invalid_request_error", "parameter_invalid_string",
                           "cancellation_reason must be duplicate, fraudulent, "
                           "requested_by_customer or abandoned.",
                           {{"param", "cancellation_reason"}});
      }
      reason = *given;
    }
    intent->status = "canceled";
    intent->canceled_at = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    intent->cancellation_reason = std::move(reason);
    return Json(200, IntentJson(*intent));
  }

  // Under `mutex`.
  http::Response Refund(const Params& params) {
    const std::string* id = Find(params, "payment_intent");
    if (id == nullptr) {
      return StripeError(400, "invalid_request_error", "parameter_missing",
                         "payment_intent is required.", {{"param", "payment_intent"}});
    }
    Intent* intent = nullptr;
    if (auto missing = Missing(*id, intent)) return *missing;
    if (intent->status != "succeeded") return UnexpectedState(*intent, "refund");
    const std::int64_t left = intent->amount_received - intent->amount_refunded;
    if (left == 0) {
      return StripeError(400, "invalid_request_error", "charge_already_refunded",
                         "This PaymentIntent has already been refunded.");
    }
    std::int64_t amount = left;
    if (const std::string* text = Find(params, "amount")) {
      const std::optional<std::int64_t> parsed = ParseAmount(text);
      if (!parsed || *parsed > left) {
        return StripeError(400, "invalid_request_error", "amount_too_large",
                           "The refund amount is larger than what is left to refund.",
                           {{"param", "amount"}});
      }
      amount = *parsed;
    }
    intent->amount_refunded += amount;
    ++refunds;
    return Json(200, boost::json::object{{"id", NewId("re_")},
                                         {"object", "refund"},
                                         {"amount", amount},
                                         {"currency", intent->currency},
                                         {"payment_intent", intent->id},
                                         {"status", "succeeded"}});
  }

  // Under `mutex`.
  http::Response Retrieve(const std::string& id) {
    Intent* intent = nullptr;
    if (auto missing = Missing(id, intent)) return *missing;
    return Json(200, IntentJson(*intent));
  }

  // Stripe's search query language, the one clause the adapter sends:
  // metadata['NAME']:'VALUE' (a quote inside VALUE escaped as \').
  static std::optional<std::pair<std::string, std::string>> ParseMetadataQuery(
      std::string_view query) {
    constexpr std::string_view kPrefix = "metadata['";
    if (!query.starts_with(kPrefix)) return std::nullopt;
    query.remove_prefix(kPrefix.size());
    const std::size_t name_end = query.find("']:'");
    if (name_end == std::string_view::npos || name_end == 0) return std::nullopt;
    std::string name(query.substr(0, name_end));
    query.remove_prefix(name_end + 4);
    std::string value;
    for (std::size_t i = 0; i < query.size(); ++i) {
      if (query[i] == '\\' && i + 1 < query.size()) {
        value += query[++i];
      } else if (query[i] == '\'') {
        if (i + 1 != query.size()) return std::nullopt;
        return std::make_pair(std::move(name), std::move(value));
      } else {
        value += query[i];
      }
    }
    return std::nullopt;
  }

  // Under `mutex`.
  http::Response Search(const http::Request& request) {
    const std::optional<std::string_view> query = request.Query("query");
    std::optional<std::pair<std::string, std::string>> clause;
    if (query) clause = ParseMetadataQuery(*query);
    if (!clause) {
      return StripeError(400, "invalid_request_error", "parameter_invalid_string",
                         "The simulator's search understands query=metadata['NAME']:'VALUE' only.",
                         {{"param", "query"}});
    }
    boost::json::array data;
    auto found = metadata_index.find(clause->first + '\0' + clause->second);
    if (found != metadata_index.end()) {
      for (const std::string& id : found->second) {
        if (data.size() == kSearchResultsMax) break;
        data.push_back(IntentJson(intents.at(id)));
      }
    }
    return Json(200, boost::json::object{{"object", "search_result"},
                                         {"url", "/v1/payment_intents/search"},
                                         {"has_more", false},
                                         {"data", std::move(data)}});
  }

  // The operator view for tests: every intent, and create attempts per Idempotency-Key.
  http::Response Records() {
    std::lock_guard lock(mutex);
    boost::json::array list;
    list.reserve(order.size());
    for (const std::string& id : order) {
      const Intent& intent = intents.at(id);
      boost::json::object item = IntentJson(intent);
      item["idempotency_key"] = intent.idempotency_key;
      auto attempts = create_attempts.find(intent.idempotency_key);
      item["create_attempts"] = attempts == create_attempts.end() ? 0 : attempts->second;
      list.push_back(std::move(item));
    }
    boost::json::object attempts;
    for (const auto& [key, count] : create_attempts) attempts[key] = count;
    return Json(200, boost::json::object{{"payment_intents", std::move(list)},
                                         {"create_attempts", std::move(attempts)},
                                         {"refunds", refunds}});
  }

  const GatewaySimOptions options;
  http::Router router;
  MetricsRegistry metrics;
  DelayQueue delays{options.answer_together};

  std::mutex mutex;  // guards everything below
  std::mt19937_64 random;
  std::unordered_map<std::string, Intent> intents;
  std::vector<std::string> order;  // intent ids in creation order
  std::unordered_map<std::string, std::vector<std::string>> metadata_index;
  std::unordered_map<std::string, IdempotencyEntry> idempotency;
  std::map<std::string, std::int64_t> create_attempts;
  std::int64_t refunds = 0;
  std::unique_ptr<BraintreeSim> braintree;  // set when it speaks Braintree's API

  std::optional<http::Server> server;  // last: destroyed first, while the rest is whole
  std::thread runner;
  bool started = false;
  bool stopped = false;
};

GatewaySim::GatewaySim(GatewaySimOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

GatewaySim::~GatewaySim() { Stop(); }

void GatewaySim::Start() {
  if (impl_->started) throw std::logic_error("GatewaySim::Start called twice");
  impl_->server->Listen();
  impl_->started = true;
  impl_->runner = std::thread([this] { impl_->server->Run(); });
}

void GatewaySim::Run() {
  if (impl_->started) throw std::logic_error("GatewaySim::Run after Start");
  impl_->server->Listen();
  impl_->started = true;
  std::cout << "boxoffice gateway-sim: listening on " << base_url() << std::endl;
  impl_->server->Run();
  impl_->delays.Stop();
}

void GatewaySim::Stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->server->Stop();
  // Answers still waiting on a timer go out now, so the server's drain ends at once.
  impl_->delays.Stop();
  if (impl_->runner.joinable()) impl_->runner.join();
}

std::uint16_t GatewaySim::port() const { return impl_->server->port(); }

void GatewaySim::SettleCaptures() {
  if (impl_->braintree) impl_->braintree->Settle();
}

std::string GatewaySim::RecordsJson() const {
  return impl_->braintree ? impl_->braintree->Records().body : impl_->Records().body;
}

std::string GatewaySim::base_url() const {
  Result<std::pair<std::string, std::uint16_t>> listen = ParseListen(impl_->options.listen);
  std::string host = listen ? listen->first : "127.0.0.1";
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port());
}

std::span<const std::string_view> GatewaySimTestCards() {
  static const std::vector<std::string_view> tokens = [] {
    std::vector<std::string_view> names;
    for (const TestCard& card : kTestCards) names.push_back(card.token);
    return names;
  }();
  return tokens;
}

int RunGatewaySim(const GatewaySimOptions& options) {
  try {
    GatewaySim sim(options);
    sim.Run();
  } catch (const std::exception& error) {
    LogError("gateway_sim_failed", {{"error", error.what()}});
    return 1;
  }
  return 0;
}

}  // namespace boxoffice::tools
