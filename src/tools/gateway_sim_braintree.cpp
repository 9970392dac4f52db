#include "tools/gateway_sim_braintree.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/crypto.hpp"
#include "common/json_text.hpp"
#include "payments/gateways/braintree_gateway.hpp"

namespace boxoffice::tools {
namespace {

namespace json = boost::json;

// Bounds: past these the simulator refuses new transactions instead of growing forever.
constexpr std::size_t kBtTransactionsMax = 2'000'000;
constexpr std::size_t kBtSearchResultsMax = 100;

enum class BtOperation { kAuthorize, kCapture, kReverse, kRefund, kSearch, kNode };

// The field a document names decides the operation; the first one found wins.
struct BtKnown {
  std::string_view field;
  BtOperation operation;
  bool mutation;
};
constexpr BtKnown kBtKnown[] = {
    {"authorizePaymentMethod(", BtOperation::kAuthorize, true},
    {"captureTransaction(", BtOperation::kCapture, true},
    {"reverseTransaction(", BtOperation::kReverse, true},
    {"refundTransaction(", BtOperation::kRefund, true},
    {"transactions(", BtOperation::kSearch, false},
    {"node(", BtOperation::kNode, false},
};

// The test cards, by the names a client may send them as paymentMethodId.
struct BtCard {
  std::string_view id;
  std::string_view declines_with;  // the processor's response code of its decline; "" approves
  bool fails;                      // answers 503 as an outage would, doing nothing
};
constexpr BtCard kBtCards[] = {
    {"tok_visa", "", false},
    {"fake-valid-nonce", "", false},
    {"tok_declined", "2000", false},
    {"tok_insufficient_funds", "2001", false},
    {"fake-processor-declined-visa-nonce", "2000", false},
    {"tok_error", "", true},
};
constexpr std::string_view kBtDoNotHonor = "2000";  // --decline-rate's declines

// The text Braintree gives with a processor response code the simulator uses.
std::string_view BtProcessorMessage(std::string_view code) {
  return code == "2001" ? "Insufficient Funds" : "Do Not Honor";
}

struct BtRefund {
  std::string id;
  std::int64_t amount = 0;
};

struct BtTransaction {
  std::string id;
  std::string status;  // AUTHORIZED, PROCESSOR_DECLINED, SUBMITTED_FOR_SETTLEMENT, SETTLED, VOIDED
  std::int64_t amount = 0;
  std::string order_id;
  std::string api_request_key;
  std::string processor_code;  // a declined transaction's processor response code
  std::vector<BtRefund> refunds;
};

struct BtKeyEntry {
  std::string fingerprint;  // the authorization's input, serialized
  bool in_flight = true;
  std::string transaction_id;
};

http::Response BtAnswer(int status, json::object body) {
  http::Response response;
  response.status = status;
  response.body = SerializeJson(body);
  return response;
}

http::Response BtData(std::string_view field, json::value payload) {
  return BtAnswer(200, json::object{{"data", json::object{{field, std::move(payload)}}}});
}

// Braintree's error shape: data null, the error with its class in extensions.
http::Response BtError(int status, std::string_view error_class, std::string_view message) {
  return BtAnswer(
      status,
      json::object{{"data", nullptr},
                   {"errors", json::array{json::object{
                                  {"message", message},
                                  {"extensions", json::object{{"errorClass", error_class}}}}}}});
}

http::Response BtValidation(std::string_view message) {
  return BtError(200, "VALIDATION", message);
}

json::object BtTransactionJson(const BtTransaction& transaction) {
  json::array refunds;
  for (const BtRefund& refund : transaction.refunds) {
    refunds.push_back(
        json::object{{"id", refund.id},
                     {"status", "SUBMITTED_FOR_SETTLEMENT"},
                     {"amount", json::object{{"value", BraintreeAmount(refund.amount)}}}});
  }
  // The newest status first, as Braintree's statusHistory; a decline says why.
  json::object event{{"status", transaction.status}};
  if (!transaction.processor_code.empty()) {
    event["__typename"] = "ProcessorDeclinedEvent";
    event["processorResponse"] =
        json::object{{"legacyCode", transaction.processor_code},
                     {"message", BtProcessorMessage(transaction.processor_code)}};
  }
  return json::object{{"id", transaction.id},
                      {"status", transaction.status},
                      {"statusHistory", json::array{std::move(event)}},
                      {"orderId", transaction.order_id},
                      {"amount", json::object{{"value", BraintreeAmount(transaction.amount)},
                                              {"currencyCode", "USD"}}},
                      {"refunds", std::move(refunds)}};
}

}  // namespace

struct BraintreeSim::State {
  explicit State(std::uint64_t seed) : random(seed) {}

  // Under `mutex`. A GraphQL global id, as Braintree's are (base64 of the type and the id).
  std::string NewId(std::string_view type) {
    return Base64StandardEncode(std::string(type) + "_" + RandomSimId(random, "", 8));
  }

  // Under `mutex`. `made` is the id of the transaction it made, if any.
  http::Response Authorize(const json::object& input, double decline_rate, std::string& made) {
    const std::string card_id = JsonStringAt(&input, "paymentMethodId");
    const auto card = std::find_if(std::begin(kBtCards), std::end(kBtCards),
                                   [&](const BtCard& known) { return known.id == card_id; });
    if (card == std::end(kBtCards)) {
      return BtValidation(
          "Unknown or expired payment method ID; the simulator knows tok_visa, "
          "tok_declined, tok_insufficient_funds, tok_error and the fake nonces.");
    }
    const json::object* details = JsonObjectAt(&input, "transaction");
    const std::optional<std::int64_t> amount =
        ParseBraintreeAmount(JsonStringAt(details, "amount"));
    if (!amount)
      return BtValidation("transaction.amount must be a positive Amount, e.g. \"25.00\".");
    if (card->fails) {
      return BtError(503, "SERVICE_AVAILABILITY", "The service is unavailable.");
    }
    if (transactions.size() >= kBtTransactionsMax) {
      return BtError(503, "RESOURCE_LIMIT", "The simulator holds its most transactions.");
    }
    BtTransaction transaction;
    transaction.id = NewId("transaction");
    transaction.amount = *amount;
    transaction.order_id = JsonStringAt(details, "orderId");
    transaction.api_request_key = JsonStringAt(&input, "apiRequestKey");
    if (!card->declines_with.empty()) {
      transaction.processor_code = std::string(card->declines_with);
    } else if (std::uniform_real_distribution<double>(0.0, 1.0)(random) < decline_rate) {
      transaction.processor_code = std::string(kBtDoNotHonor);
    }
    transaction.status = transaction.processor_code.empty() ? "AUTHORIZED" : "PROCESSOR_DECLINED";
    order.push_back(transaction.id);
    made = transaction.id;
    const BtTransaction& stored =
        transactions.emplace(transaction.id, std::move(transaction)).first->second;
    return BtData("authorizePaymentMethod",
                  json::object{{"transaction", BtTransactionJson(stored)}});
  }

  // Under `mutex`. The transaction `input.transactionId` names, or the error to answer.
  std::optional<http::Response> Find(const json::object* input, BtTransaction*& found) {
    const auto at = transactions.find(JsonStringAt(input, "transactionId"));
    if (at == transactions.end()) return BtError(200, "NOT_FOUND", "No transaction has this id.");
    found = &at->second;
    return std::nullopt;
  }

  // Under `mutex`.
  http::Response Capture(const json::object& input) {
    BtTransaction* transaction = nullptr;
    if (auto missing = Find(&input, transaction)) return *missing;
    if (transaction->status != "AUTHORIZED") {
      return BtValidation("Transaction can only be captured if its status is AUTHORIZED; it is " +
                          transaction->status + ".");
    }
    const std::string given = JsonStringAt(JsonObjectAt(&input, "transaction"), "amount");
    if (!given.empty()) {
      const std::optional<std::int64_t> amount = ParseBraintreeAmount(given);
      if (!amount || *amount > transaction->amount) {
        return BtValidation("The capture amount must be positive and at most the authorized one.");
      }
      transaction->amount = *amount;
    }
    transaction->status = "SUBMITTED_FOR_SETTLEMENT";
    return BtData("captureTransaction",
                  json::object{{"transaction", BtTransactionJson(*transaction)}});
  }

  // Under `mutex`.
  http::Response Reverse(const json::object& input) {
    BtTransaction* transaction = nullptr;
    if (auto missing = Find(&input, transaction)) return *missing;
    json::object reversal;
    if (transaction->status == "AUTHORIZED" || transaction->status == "SUBMITTED_FOR_SETTLEMENT") {
      transaction->status = "VOIDED";
      reversal = BtTransactionJson(*transaction);
      reversal["__typename"] = "Transaction";
    } else if (transaction->status == "SETTLED" && Refundable(*transaction) > 0) {
      reversal = RefundJson(*transaction, Refundable(*transaction));
    } else {
      return BtValidation("Transaction cannot be reversed: its status is " + transaction->status +
                          ".");
    }
    return BtData("reverseTransaction", json::object{{"reversal", std::move(reversal)}});
  }

  // Under `mutex`.
  http::Response Refund(const json::object& input) {
    BtTransaction* transaction = nullptr;
    if (auto missing = Find(&input, transaction)) return *missing;
    if (transaction->status != "SETTLED") {
      return BtValidation("Cannot refund a transaction unless it is settled; it is " +
                          transaction->status + ".");
    }
    std::int64_t amount = Refundable(*transaction);
    const std::string given = JsonStringAt(JsonObjectAt(&input, "refund"), "amount");
    if (!given.empty()) {
      const std::optional<std::int64_t> parsed = ParseBraintreeAmount(given);
      if (!parsed) return BtValidation("refund.amount must be a positive Amount.");
      amount = *parsed;
    }
    if (amount == 0 || amount > Refundable(*transaction)) {
      return BtValidation("Refund amount is too large: more than is left to refund.");
    }
    json::object refund = RefundJson(*transaction, amount);
    refund.erase("__typename");
    return BtData("refundTransaction", json::object{{"refund", std::move(refund)}});
  }

  static std::int64_t Refundable(const BtTransaction& transaction) {
    std::int64_t refunded = 0;
    for (const BtRefund& refund : transaction.refunds) refunded += refund.amount;
    return transaction.amount - refunded;
  }

  // Under `mutex`. Records a refund of `amount` and answers it.
  json::object RefundJson(BtTransaction& transaction, std::int64_t amount) {
    transaction.refunds.push_back(BtRefund{NewId("refund"), amount});
    ++refunds_made;
    return json::object{{"__typename", "Refund"},
                        {"id", transaction.refunds.back().id},
                        {"status", "SUBMITTED_FOR_SETTLEMENT"},
                        {"amount", json::object{{"value", BraintreeAmount(amount)}}}};
  }

  // Under `mutex`.
  http::Response Search(const json::object* variables) {
    const std::string order_id =
        JsonStringAt(JsonObjectAt(JsonObjectAt(variables, "input"), "orderId"), "is");
    if (order_id.empty()) {
      return BtValidation("The simulator's search takes input.orderId.is only.");
    }
    json::array edges;
    for (const std::string& id : order) {
      const BtTransaction& transaction = transactions.at(id);
      if (transaction.order_id != order_id) continue;
      if (edges.size() == kBtSearchResultsMax) break;
      edges.push_back(json::object{{"node", BtTransactionJson(transaction)}});
    }
    return BtData("search",
                  json::object{{"transactions", json::object{{"edges", std::move(edges)}}}});
  }

  // Under `mutex`.
  http::Response Node(const json::object* variables) {
    const auto at = transactions.find(JsonStringAt(variables, "id"));
    if (at == transactions.end()) return BtData("node", nullptr);
    return BtData("node", BtTransactionJson(at->second));
  }

  mutable std::mutex mutex;  // guards everything below
  std::mt19937_64 random;
  std::unordered_map<std::string, BtTransaction> transactions;
  std::vector<std::string> order;                          // transaction ids in creation order
  std::unordered_map<std::string, BtKeyEntry> keys;        // by apiRequestKey
  std::map<std::string, std::int64_t> authorize_attempts;  // by apiRequestKey
  std::int64_t refunds_made = 0;
};

BraintreeSim::BraintreeSim(const GatewaySimOptions& options, DelayQueue& delays)
    : options_(options), delays_(delays), state_(std::make_unique<State>(options.seed)) {}

BraintreeSim::~BraintreeSim() = default;

void BraintreeSim::Handle(const http::Request& request, http::Respond respond) {
  const std::string expected =
      "Basic " + Base64StandardEncode(options_.public_key + ":" + options_.api_key);
  if (request.Header("authorization") != std::optional<std::string_view>(expected)) {
    respond(BtError(401, "AUTHENTICATION", "Authentication credentials are invalid."));
    return;
  }
  if (!request.Header("braintree-version")) {
    respond(BtValidation("The Braintree-Version header is required, e.g. 2019-01-01."));
    return;
  }
  std::error_code parse_error;
  const json::value body = json::parse(request.body, parse_error);
  const json::object* document = body.if_object();
  const json::value* query = document != nullptr ? document->if_contains("query") : nullptr;
  if (parse_error || query == nullptr || !query->is_string()) {
    respond(BtError(400, "VALIDATION", "The body must be {\"query\": ..., \"variables\": ...}."));
    return;
  }
  const std::string_view text = query->get_string();
  const auto known = std::find_if(std::begin(kBtKnown), std::end(kBtKnown), [&](const BtKnown& k) {
    return text.find(k.field) != std::string_view::npos;
  });
  if (known == std::end(kBtKnown)) {
    respond(
        BtValidation("The simulator knows authorizePaymentMethod, captureTransaction, "
                     "reverseTransaction, refundTransaction, search.transactions and node."));
    return;
  }
  const json::object variables = [&] {
    const json::value* given = document->if_contains("variables");
    return given != nullptr && given->is_object() ? given->get_object() : json::object{};
  }();
  const BtOperation operation = known->operation;
  std::string key;
  Fault fault = Fault::kNone;
  {
    std::lock_guard lock(state_->mutex);
    const json::object* input = JsonObjectAt(&variables, "input");
    if (operation == BtOperation::kAuthorize && input != nullptr) {
      key = JsonStringAt(input, "apiRequestKey");
    }
    if (!key.empty()) {
      ++state_->authorize_attempts[key];
      const std::string fingerprint = SerializeJson(*input);
      auto [entry, inserted] = state_->keys.try_emplace(key);
      if (!inserted) {
        http::Response early;
        if (entry->second.fingerprint != fingerprint) {
          early = BtValidation("apiRequestKey was used with other input values.");
        } else if (entry->second.in_flight) {
          early = BtValidation("A request with this apiRequestKey is still in flight.");
        } else {
          // The same transaction, in its current status.
          early = BtData("authorizePaymentMethod",
                         json::object{{"transaction", BtTransactionJson(state_->transactions.at(
                                                          entry->second.transaction_id))}});
        }
        respond(std::move(early));
        return;
      }
      entry->second.fingerprint = fingerprint;
    }
    fault = RollSimFault(options_, state_->random, known->mutation);
  }
  auto run = [this, operation, variables, key, fault, respond = std::move(respond)]() mutable {
    http::Response response;
    {
      std::lock_guard lock(state_->mutex);
      const json::object* input = JsonObjectAt(&variables, "input");
      if (fault == Fault::kError) {
        // Stands for an outage before the request reached the API: nothing is done or kept.
        if (!key.empty()) state_->keys.erase(key);
        response = BtError(503, "SERVICE_AVAILABILITY", "The service is unavailable.");
      } else {
        const json::object empty;
        std::string made;
        switch (operation) {
          case BtOperation::kAuthorize:
            response =
                state_->Authorize(input != nullptr ? *input : empty, options_.decline_rate, made);
            break;
          case BtOperation::kCapture:
            response = state_->Capture(input != nullptr ? *input : empty);
            break;
          case BtOperation::kReverse:
            response = state_->Reverse(input != nullptr ? *input : empty);
            break;
          case BtOperation::kRefund:
            response = state_->Refund(input != nullptr ? *input : empty);
            break;
          case BtOperation::kSearch:
            response = state_->Search(&variables);
            break;
          case BtOperation::kNode:
            response = state_->Node(&variables);
            break;
        }
        if (!key.empty() && made.empty()) {
          // Only an authorization that made a transaction keeps its key, as at Braintree.
          state_->keys.erase(key);
        } else if (!key.empty()) {
          BtKeyEntry& entry = state_->keys[key];
          entry.in_flight = false;
          entry.transaction_id = std::move(made);
        }
      }
    }
    if (fault == Fault::kTimeout) {
      delays_.Schedule(SimClock::now() + std::chrono::milliseconds(options_.timeout_hang_ms),
                       [respond = std::move(respond), response = std::move(response)]() mutable {
                         respond(std::move(response));
                       });
    } else {
      respond(std::move(response));
    }
  };
  delays_.Answer(std::chrono::milliseconds(options_.latency_ms), std::move(run));
}

http::Response BraintreeSim::Records() const {
  std::lock_guard lock(state_->mutex);
  json::array list;
  for (const std::string& id : state_->order) {
    const BtTransaction& transaction = state_->transactions.at(id);
    json::object item = BtTransactionJson(transaction);
    item["apiRequestKey"] = transaction.api_request_key;
    const auto attempts = state_->authorize_attempts.find(transaction.api_request_key);
    item["authorize_attempts"] =
        attempts == state_->authorize_attempts.end() ? 0 : attempts->second;
    list.push_back(std::move(item));
  }
  json::object attempts;
  for (const auto& [key, count] : state_->authorize_attempts) attempts[key] = count;
  return BtAnswer(200, json::object{{"transactions", std::move(list)},
                                    {"authorize_attempts", std::move(attempts)},
                                    {"refunds", state_->refunds_made}});
}

http::Response BraintreeSim::Settle() {
  std::lock_guard lock(state_->mutex);
  std::int64_t settled = 0;
  for (auto& [id, transaction] : state_->transactions) {
    if (transaction.status == "SUBMITTED_FOR_SETTLEMENT") {
      transaction.status = "SETTLED";
      ++settled;
    }
  }
  return BtAnswer(200, json::object{{"settled", settled}});
}

}  // namespace boxoffice::tools
