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
#include "store/memory/memory_ledger.hpp"
#include "support/fake_gateway.hpp"

namespace boxoffice::order_testing {

using test_support::FakeGateway;

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

// A ledger (in memory), catalog and hold service, and an order service with a FakeGateway.
// `Reopen()` simulates a restart on the same data.
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
    ledger_ = std::make_unique<MemoryLedger>(data_);
    catalog_ = std::make_unique<Catalog>(*ledger_, clock_);
    EXPECT_TRUE(catalog_->Load().ok());
    holds_ = std::make_unique<HoldService>(*catalog_, *ledger_, clock_);
    orders_ = std::make_unique<OrderService>(*catalog_, *holds_, *ledger_, &gateway_, nullptr,
                                             clock_, metrics_, api::MakeOrderRendering(),
                                             OrderServiceOptions{8, 256, kOrdersInFlightMax});
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
    SeatInventory& table = holds_->InventoryFor(event);
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

  // Outlives each ledger, so Reopen() is a restart on the same data.
  std::shared_ptr<MemoryLedgerData> data_ = MemoryLedger::NewData();
  FakeClock clock_;
  FakeGateway gateway_;
  MetricsRegistry metrics_;
  std::unique_ptr<MemoryLedger> ledger_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<HoldService> holds_;
  std::unique_ptr<OrderService> orders_;
};

}  // namespace boxoffice::order_testing
