// Shared by the order tests: fakes at the PaymentGateway and Mailer ports (the only things not
// real in them), and a fixture with a real SQLite ledger, catalog, holds and order service.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/api.hpp"
#include "catalog/catalog.hpp"
#include "common/crypto.hpp"
#include "common/metrics.hpp"
#include "inventory/hold_service.hpp"
#include "orders/order_service.hpp"
#include "ports/clock.hpp"
#include "ports/mailer.hpp"
#include "ports/payment_gateway.hpp"
#include "store/ledger_conformance.hpp"
#include "store/sqlite/sqlite_ledger.hpp"

namespace boxoffice::order_testing {

// A card processor in memory that behaves as the port promises: one authorization per key,
// repeated calls with a key change nothing. Tokens: tok_visa approves, tok_declined declines,
// tok_error fails retryably, tok_timeout authorizes but answers kUnknown (a lost reply).
class FakeGateway final : public PaymentGateway {
 public:
  struct Payment {
    std::string key;
    std::int64_t amount_cents = 0;
    std::string state;  // "authorized", "captured", "voided", "refunded"
  };

  const std::string& name() const override { return name_; }

  PaymentResult Authorize(const AuthorizeRequest& request) override {
    std::function<void()> hook;
    {
      std::lock_guard lock(mutex_);
      ++authorize_calls_;
      hook = during_authorize_;
    }
    if (hook) hook();
    std::lock_guard lock(mutex_);
    if (request.payment_token == "tok_declined") {
      return PaymentResult{PaymentOutcome::kDeclined, {name_, ""}, "", "card_declined", "no"};
    }
    if (request.payment_token == "tok_error") {
      return PaymentResult{PaymentOutcome::kFailed, {}, "", "", "gateway error"};
    }
    auto [found, inserted] = by_key_.try_emplace(request.idempotency_key);
    if (inserted) {
      found->second = "pi_" + std::to_string(payments_.size() + 1);
      payments_[found->second] =
          Payment{request.idempotency_key, request.amount_cents, "authorized"};
    }
    if (request.payment_token == "tok_timeout") {
      return PaymentResult{PaymentOutcome::kUnknown, {}, "", "", "timed out"};
    }
    return PaymentResult{
        PaymentOutcome::kSucceeded, {name_, found->second}, "requires_capture", "", ""};
  }

  PaymentResult Capture(const PaymentRef& payment, std::int64_t amount_cents,
                        const std::string&) override {
    std::lock_guard lock(mutex_);
    ++capture_calls_;
    if (capture_failures_ > 0) {
      --capture_failures_;
      return PaymentResult{PaymentOutcome::kFailed, payment, "", "", "capture failed"};
    }
    auto found = payments_.find(payment.id);
    if (found == payments_.end() || found->second.state == "voided" ||
        amount_cents > found->second.amount_cents) {
      return PaymentResult{PaymentOutcome::kDeclined, payment, "", "", "cannot capture"};
    }
    found->second.state = "captured";
    return PaymentResult{PaymentOutcome::kSucceeded, payment, "succeeded", "", ""};
  }

  PaymentResult Void(const PaymentRef& payment, const std::string&) override {
    std::lock_guard lock(mutex_);
    auto found = payments_.find(payment.id);
    if (found == payments_.end() || found->second.state == "captured") {
      return PaymentResult{PaymentOutcome::kDeclined, payment, "", "", "cannot void"};
    }
    found->second.state = "voided";
    return PaymentResult{PaymentOutcome::kSucceeded, payment, "canceled", "", ""};
  }

  PaymentResult Refund(const PaymentRef& payment, std::int64_t, const std::string&) override {
    std::lock_guard lock(mutex_);
    auto found = payments_.find(payment.id);
    if (found == payments_.end() || found->second.state != "captured") {
      return PaymentResult{PaymentOutcome::kDeclined, payment, "", "", "cannot refund"};
    }
    found->second.state = "refunded";
    return PaymentResult{PaymentOutcome::kSucceeded, payment, "refunded", "", ""};
  }

  PaymentResult Lookup(const std::string& idempotency_key) override {
    std::lock_guard lock(mutex_);
    auto found = by_key_.find(idempotency_key);
    if (found == by_key_.end()) return PaymentResult{PaymentOutcome::kNotFound, {}, "", "", ""};
    return PaymentResult{PaymentOutcome::kSucceeded, {name_, found->second}, "", "", ""};
  }

  // Runs inside Authorize before it decides (to move a clock or block a thread).
  void DuringAuthorize(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    during_authorize_ = std::move(hook);
  }
  void FailCaptures(int count) {
    std::lock_guard lock(mutex_);
    capture_failures_ = count;
  }
  int authorize_calls() const {
    std::lock_guard lock(mutex_);
    return authorize_calls_;
  }
  int capture_calls() const {
    std::lock_guard lock(mutex_);
    return capture_calls_;
  }
  // Payments by state, e.g. Count("authorized").
  int Count(const std::string& state) const {
    std::lock_guard lock(mutex_);
    int count = 0;
    for (const auto& [id, payment] : payments_) count += payment.state == state ? 1 : 0;
    return count;
  }
  std::size_t payments() const {
    std::lock_guard lock(mutex_);
    return payments_.size();
  }

 private:
  const std::string name_ = "fake";
  mutable std::mutex mutex_;
  std::map<std::string, Payment> payments_;    // by payment id
  std::map<std::string, std::string> by_key_;  // idempotency key -> payment id
  std::function<void()> during_authorize_;
  int authorize_calls_ = 0;
  int capture_calls_ = 0;
  int capture_failures_ = 0;
};

class FakeMailer final : public Mailer {
 public:
  Status Send(const MailMessage& message) override {
    std::lock_guard lock(mutex_);
    if (failures_ > 0) {
      --failures_;
      return Error::Make(ErrorKind::kUnavailable, "smtp_down", "The mail server is down.");
    }
    sent_.push_back(message);
    return {};
  }
  void Fail(int count) {
    std::lock_guard lock(mutex_);
    failures_ = count;
  }
  std::vector<MailMessage> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<MailMessage> sent_;
  int failures_ = 0;
};

// The error code of an answer rendered by the api, "" for one that is no error.
inline std::string ErrorCode(const RenderedAnswer& response) {
  const boost::json::value body = boost::json::parse(response.body);
  if (!body.is_object() || !body.as_object().contains("error")) return "";
  return std::string(body.at("error").at("code").as_string());
}

// A real ledger, catalog and hold service in a temporary directory, and an order service with a
// FakeGateway. `Reopen()` simulates a restart on the same data.
class OrderFixture : public ::testing::Test {
 protected:
  OrderFixture() {
    InitCrypto();
    Open();
  }

  void Open() {
    orders_.reset();
    holds_.reset();
    catalog_.reset();
    ledger_.reset();
    ledger_ = std::move(SqliteLedger::Open({.path = dir_.path() + "/ledger.db"})).value();
    catalog_ = std::make_unique<Catalog>(*ledger_, clock_);
    EXPECT_TRUE(catalog_->Load().ok());
    holds_ = std::make_unique<HoldService>(*catalog_, *ledger_, clock_);
    orders_ = std::make_unique<OrderService>(*catalog_, *holds_, *ledger_, &gateway_, nullptr,
                                             clock_, metrics_, api::MakeOrderRendering(),
                                             OrderServiceOptions{8, 256});
  }

  // Restarts on the same data: sold seats and holds come back as serve restores them.
  void Reopen() {
    Open();
    ASSERT_TRUE(orders_->RestoreSoldSeats().ok());
    ASSERT_TRUE(holds_->Restore().ok());
  }

  std::shared_ptr<Event> CreateEvent(int seats = 10, int per_customer = 8) {
    const std::string body =
        R"({"name": "Shop", "price_tiers": [{"id": "A", "price_cents": 2500}],
            "sections": [{"id": "S", "tier": "A", "rows": [{"label": "A", "seats": )" +
        std::to_string(seats) + R"(}]}], "limits": {"per_order": )" +
        std::to_string(std::min(per_customer, 8)) + R"(, "per_customer": )" +
        std::to_string(per_customer) + "}}";
    Result<EventDefinition> definition = ParseEventDefinition(boost::json::parse(body));
    EXPECT_TRUE(definition.ok());
    std::promise<Result<std::shared_ptr<Event>>> created;
    catalog_->Create(
        std::move(definition).value(),
        [&created](Result<std::shared_ptr<Event>> event) { created.set_value(std::move(event)); });
    Result<std::shared_ptr<Event>> event = created.get_future().get();
    EXPECT_TRUE(event.ok());
    return *event;
  }

  // Holds `quantity` best seats for `session_id`, journaled.
  Hold HoldSeats(const std::shared_ptr<Event>& event, const std::string& session_id,
                 std::uint32_t quantity = 2) {
    HoldTable& table = holds_->TableFor(event);
    Result<Hold> held = table.HoldBestAvailable(HoldOwner{session_id, ""},
                                                BestAvailableRequest{quantity, {}, false});
    EXPECT_TRUE(held.ok()) << (held.ok() ? "" : held.error().code);
    std::promise<Result<Hold>> journaled;
    holds_->Acknowledge(table, std::move(held).value(),
                        [&journaled](Result<Hold> hold) { journaled.set_value(std::move(hold)); });
    Result<Hold> hold = journaled.get_future().get();
    EXPECT_TRUE(hold.ok());
    return *hold;
  }

  PlaceOrderRequest Request(const Hold& hold, std::string token = "tok_visa",
                            std::string key = "") {
    PlaceOrderRequest request;
    request.session_id = hold.session_id;
    request.hold_id = hold.id;
    request.email = "fan@example.com";
    request.payment_token = std::move(token);
    request.idempotency_key = std::move(key);
    request.request_hash = "hash:" + hold.id + ":" + request.payment_token;
    return request;
  }

  RenderedAnswer Place(PlaceOrderRequest request) {
    std::promise<RenderedAnswer> answered;
    orders_->Place(std::move(request), [&answered](RenderedAnswer response) {
      answered.set_value(std::move(response));
    });
    return answered.get_future().get();
  }

  static std::string OrderIdOf(const RenderedAnswer& response) {
    return std::string(boost::json::parse(response.body).at("order_id").as_string());
  }

  ledger_conformance::TempDir dir_;
  FakeClock clock_;
  FakeGateway gateway_;
  MetricsRegistry metrics_;
  std::unique_ptr<SqliteLedger> ledger_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<HoldService> holds_;
  std::unique_ptr<OrderService> orders_;
};

}  // namespace boxoffice::order_testing
