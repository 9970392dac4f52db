// The order routes in process, with the real order service, ledger and holds, and a fake at the
// PaymentGateway port: the shapes of API.md, ownership, idempotent replays, card-number refusal.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "api/api.hpp"
#include "api/route_test_support.hpp"
#include "common/crypto.hpp"
#include "common/worker_pool.hpp"
#include "orders/order_test_support.hpp"
#include "orders/outbox_worker.hpp"
#include "store/memory/memory_ledger.hpp"
#include "support/fake_admission.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;

using test_support::FakeAdmission;

class OrderRoutesTest : public ::testing::Test {
 protected:
  OrderRoutesTest()
      : ledger_((InitCrypto(), std::make_unique<MemoryLedger>())),
        catalog_(*ledger_, clock_),
        pool_(1, 16),
        accounts_(*ledger_, clock_, "test secret", std::chrono::hours(1), pool_),
        holds_(catalog_, *ledger_, clock_),
        defense_(*ledger_, clock_, DefenseOptions{1024, CidrList{}, true}),
        signer_("test secret"),
        orders_(catalog_, holds_, *ledger_, &gateway_, &admission_, clock_, metrics_,
                MakeOrderRendering(), OrderServiceOptions{4, 64, kOrdersInFlightMax}),
        check_in_(*ledger_, signer_, clock_),
        context_{catalog_, accounts_, defense_,   metrics_, {"admin"}, [] { return true; },
                 "",       &holds_,   &admission_} {
    context_.orders = &orders_;
    context_.tickets = &signer_;
    context_.check_in = &check_in_;
    RegisterRoutes(router_, context_);
  }

  http::Response Call(http::Method method, std::string path, std::string body, Headers headers) {
    return CallRoute(router_, method, std::move(path), std::move(body), std::move(headers));
  }

  std::string CreateEvent(bool queue_enabled = false) {
    const std::string body =
        std::string(R"({"name": "Night", "price_tiers": [{"id": "A", "price_cents": 1500}],
        "sections": [{"id": "S", "tier": "A", "rows": [{"label": "A", "seats": 6}]}],
        "queue": {"enabled": )") +
        (queue_enabled ? "true" : "false") + "}}";
    http::Response created =
        Call(http::Method::kPost, "/v1/events", body, {{"authorization", "Bearer admin"}});
    EXPECT_EQ(created.status, 201) << created.body;
    return std::string(json::parse(created.body).at("id").get_string());
  }

  // A session holding `quantity` seats: (authorization header, hold id).
  std::pair<std::pair<std::string, std::string>, std::string> Holding(const std::string& event_id,
                                                                      int quantity,
                                                                      Headers extra = {}) {
    const IssuedSession session = accounts_.CreateGuestSession();
    std::pair<std::string, std::string> auth{"authorization", "Bearer " + session.token};
    Headers headers = extra;
    headers.push_back(auth);
    http::Response held =
        Call(http::Method::kPost, "/v1/events/" + event_id + "/holds",
             R"({"best_available": {"quantity": )" + std::to_string(quantity) + "}}", headers);
    EXPECT_EQ(held.status, 201) << held.body;
    return {auth, std::string(json::parse(held.body).at("hold_id").get_string())};
  }

  static std::string OrderBody(const std::string& hold_id, const std::string& token = "tok_visa") {
    return R"({"hold_id": ")" + hold_id +
           R"(", "email": "fan@example.com", "payment": {"token": ")" + token + R"("}})";
  }

  static std::string Header(const http::Response& response, std::string_view name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return "";
  }

  FakeClock clock_;
  std::unique_ptr<MemoryLedger> ledger_;
  Catalog catalog_;
  WorkerPool pool_;
  Accounts accounts_;
  HoldService holds_;
  Defense defense_;
  MetricsRegistry metrics_;
  FakeAdmission admission_;
  test_support::FakeGateway gateway_;
  TicketSigner signer_;
  OrderService orders_;
  CheckInService check_in_;
  http::Router router_;
  ApiContext context_;
};

// POST /v1/orders answers 201 in the shape of API.md; the same key and body replay it.
TEST_F(OrderRoutesTest, PlacedOrderHasTheApiShapeAndReplays) {
  const std::string event_id = CreateEvent();
  auto [auth, hold_id] = Holding(event_id, 2);
  const Headers headers = {auth, {"idempotency-key", "k-1"}};
  http::Response placed = Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id), headers);
  ASSERT_EQ(placed.status, 201) << placed.body;
  const json::value body = json::parse(placed.body);
  EXPECT_TRUE(body.at("order_id").as_string().starts_with("ord_"));
  EXPECT_EQ(body.at("status").as_string(), "confirmed");
  EXPECT_EQ(body.at("total_cents").as_int64(), 3'000);
  EXPECT_EQ(body.at("payment").at("status").as_string(), "authorized");
  EXPECT_EQ(body.at("payment").at("gateway").as_string(), "fake");
  ASSERT_EQ(body.at("tickets").as_array().size(), 2u);
  EXPECT_TRUE(body.at("tickets").at(0).at("id").as_string().starts_with("tkt_"));
  EXPECT_TRUE(body.at("tickets").at(0).at("seat_id").is_string());

  http::Response replay = Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id), headers);
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.body, placed.body);
  EXPECT_EQ(Header(replay, "Idempotent-Replayed"), "true");
  http::Response reused =
      Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id, "tok_other"), headers);
  EXPECT_EQ(reused.status, 422);
  EXPECT_NE(reused.body.find("idempotency_key_reused"), std::string::npos);
  EXPECT_EQ(gateway_.authorize_calls(), 1);
}

// GET /v1/orders/{id}: the owner and the operator see it; another session gets 404.
TEST_F(OrderRoutesTest, OrderIsVisibleToItsOwnerAndTheOperator) {
  const std::string event_id = CreateEvent();
  auto [auth, hold_id] = Holding(event_id, 1);
  http::Response placed = Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id), {auth});
  ASSERT_EQ(placed.status, 201) << placed.body;
  const std::string path =
      "/v1/orders/" + std::string(json::parse(placed.body).at("order_id").as_string());
  http::Response mine = Call(http::Method::kGet, path, "", {auth});
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(json::parse(mine.body).at("status").as_string(), "confirmed");
  EXPECT_EQ(Call(http::Method::kGet, path, "", {{"authorization", "Bearer admin"}}).status, 200);
  const IssuedSession stranger = accounts_.CreateGuestSession();
  http::Response theirs =
      Call(http::Method::kGet, path, "", {{"authorization", "Bearer " + stranger.token}});
  EXPECT_EQ(theirs.status, 404);
  EXPECT_EQ(Call(http::Method::kGet, path, "", {}).status, 401);
}

// A declined card is 402 payment_declined with the decline code; another session's hold 409.
TEST_F(OrderRoutesTest, DeclineIs402AndAStrangersHoldIs409) {
  const std::string event_id = CreateEvent();
  auto [auth, hold_id] = Holding(event_id, 1);
  http::Response declined =
      Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id, "tok_declined"), {auth});
  EXPECT_EQ(declined.status, 402);
  const json::value error = json::parse(declined.body).at("error");
  EXPECT_EQ(error.at("code").as_string(), "payment_declined");
  EXPECT_EQ(error.at("details").at("decline_code").as_string(), "card_declined");
  const IssuedSession stranger = accounts_.CreateGuestSession();
  http::Response not_theirs = Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id),
                                   {{"authorization", "Bearer " + stranger.token}});
  EXPECT_EQ(not_theirs.status, 409);
  EXPECT_NE(not_theirs.body.find("hold_expired"), std::string::npos);
}

// A card number anywhere in the body is 400 raw_card_number, and no log line carries it.
TEST_F(OrderRoutesTest, RawCardNumberIsRefusedAndNeverLogged) {
  const std::string event_id = CreateEvent();
  auto [auth, hold_id] = Holding(event_id, 1);
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  http::Response refused =
      Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id, "4111 1111 1111 1111"), {auth});
  http::Response in_email =
      Call(http::Method::kPost, "/v1/orders",
           R"({"hold_id": ")" + hold_id +
               R"(", "email": "4111-1111-1111-1111@x.io", "payment": {"token": "tok_visa"}})",
           {auth});
  spdlog::set_default_logger(previous);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("raw_card_number"), std::string::npos);
  EXPECT_NE(refused.body.find("payment.token"), std::string::npos);
  EXPECT_EQ(refused.body.find("4111"), std::string::npos);
  EXPECT_EQ(in_email.status, 400);
  const std::string log = captured.str();
  EXPECT_NE(log.find("card number"), std::string::npos) << "the refusal is logged";
  EXPECT_EQ(log.find("4111"), std::string::npos) << log;
  EXPECT_EQ(gateway_.authorize_calls(), 0);
}

// A queue-enabled event's order needs the waiting room's access token, as its holds do.
TEST_F(OrderRoutesTest, QueueEnabledOrderNeedsTheAccessToken) {
  const std::string event_id = CreateEvent(true);
  auto [auth, hold_id] = Holding(event_id, 1, {{"x-access-token", "good"}});
  http::Response without = Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id), {auth});
  EXPECT_EQ(without.status, 401);
  http::Response with = Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id),
                             {auth, {"x-access-token", "good"}});
  EXPECT_EQ(with.status, 201) << with.body;
}

// Bad bodies are 422 validation_failed naming the field; a bad Idempotency-Key is 400.
TEST_F(OrderRoutesTest, InvalidRequestsNameTheField) {
  const std::string event_id = CreateEvent();
  auto [auth, hold_id] = Holding(event_id, 1);
  http::Response no_email =
      Call(http::Method::kPost, "/v1/orders",
           R"({"hold_id": ")" + hold_id + R"(", "payment": {"token": "tok_visa"}})", {auth});
  EXPECT_EQ(no_email.status, 422);
  EXPECT_NE(no_email.body.find("\"email\""), std::string::npos);
  http::Response no_token = Call(http::Method::kPost, "/v1/orders",
                                 R"({"hold_id": ")" + hold_id + R"(", "email": "a@b.c"})", {auth});
  EXPECT_EQ(no_token.status, 422);
  http::Response bad_key = Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id),
                                {auth, {"idempotency-key", std::string(300, 'k')}});
  EXPECT_EQ(bad_key.status, 400);
  EXPECT_EQ(gateway_.authorize_calls(), 0);
}

// An email the mailer would refuse (a header smuggled in, a display name, a list) is 422
// validation_failed naming `email` before the card is charged; the hold stays for a retry.
TEST_F(OrderRoutesTest, EmailTheMailerWouldRefuseIs422BeforePaying) {
  const std::string event_id = CreateEvent();
  auto [auth, hold_id] = Holding(event_id, 1);
  for (const char* email :
       {"fan@example.com\r\nBcc: x@y", "\"x\" <a@b>, c@d", "Fan <fan@example.com>",
        " fan@example.com", "f\xc3\xa4n@example.com"}) {
    const std::string body = json::serialize(
        json::object{{"hold_id", hold_id}, {"email", email}, {"payment", {{"token", "tok_visa"}}}});
    http::Response refused = Call(http::Method::kPost, "/v1/orders", body, {auth});
    ASSERT_EQ(refused.status, 422) << email;
    const json::value error = json::parse(refused.body).at("error");
    EXPECT_EQ(error.at("code").as_string(), "validation_failed") << email;
    EXPECT_EQ(error.at("details").at("field").as_string(), "email") << email;
  }
  EXPECT_EQ(gateway_.authorize_calls(), 0) << "nobody paid for tickets that cannot be mailed";
  EXPECT_EQ(Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id), {auth}).status, 201);
}

// A card number in Idempotency-Key (which the ledger stores, in two tables) is refused as one in
// the body is: 400 raw_card_number naming the header, never the value, and nothing is stored.
TEST_F(OrderRoutesTest, CardNumberInIdempotencyKeyIsRefusedAndNeverLogged) {
  const std::string event_id = CreateEvent();
  auto [auth, hold_id] = Holding(event_id, 1);
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  std::vector<http::Response> refused;
  for (const char* key : {"4111111111111111", "order-4111-1111-1111-1111", "k_4242424242424242"}) {
    refused.push_back(Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id),
                           {auth, {"idempotency-key", key}}));
  }
  http::Response refund =
      Call(http::Method::kPost, "/v1/orders/ord_x/refund", "",
           {{"authorization", "Bearer admin"}, {"idempotency-key", "4111111111111111"}});
  spdlog::set_default_logger(previous);
  refused.push_back(refund);
  for (const http::Response& response : refused) {
    ASSERT_EQ(response.status, 400) << response.body;
    const json::value error = json::parse(response.body).at("error");
    EXPECT_EQ(error.at("code").as_string(), "raw_card_number");
    EXPECT_EQ(error.at("details").at("field").as_string(), "Idempotency-Key");
    EXPECT_EQ(response.body.find("1111"), std::string::npos) << response.body;
    EXPECT_EQ(response.body.find("4242"), std::string::npos) << response.body;
  }
  const std::string log = captured.str();
  EXPECT_NE(log.find("card number"), std::string::npos) << "the refusal is logged";
  EXPECT_EQ(log.find("1111"), std::string::npos) << log;
  EXPECT_EQ(log.find("4242"), std::string::npos) << log;
  EXPECT_EQ(gateway_.authorize_calls(), 0);
  // A key of digits that is no card number (Luhn fails, or too short) is still a key.
  http::Response placed = Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id),
                               {auth, {"idempotency-key", "4111111111111112"}});
  EXPECT_EQ(placed.status, 201) << placed.body;
}

// GET /v1/events/{id} publishes the event's ticket key; the stats carry an orders block.
TEST_F(OrderRoutesTest, EventShowsTicketKeyAndStatsShowOrders) {
  const std::string event_id = CreateEvent();
  http::Response event = Call(http::Method::kGet, "/v1/events/" + event_id, "", {});
  ASSERT_EQ(event.status, 200);
  EXPECT_EQ(json::parse(event.body).at("ticket_public_key").as_string(),
            signer_.PublicKeyBase64(event_id));
  auto [auth, hold_id] = Holding(event_id, 2);
  ASSERT_EQ(Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id), {auth}).status, 201);
  http::Response stats = Call(http::Method::kGet, "/v1/events/" + event_id + "/stats", "",
                              {{"authorization", "Bearer admin"}});
  ASSERT_EQ(stats.status, 200) << stats.body;
  const json::value orders = json::parse(stats.body).at("orders");
  EXPECT_EQ(orders.at("confirmed").as_int64(), 1);
  EXPECT_EQ(orders.at("tickets_sold").as_int64(), 2);
  EXPECT_EQ(orders.at("revenue_cents").as_int64(), 3'000);
  EXPECT_EQ(json::parse(stats.body).at("inventory").at("sold").as_int64(), 2);
}

class CheckInRoutesTest : public OrderRoutesTest {
 protected:
  // Places and completes an order of `quantity` seats; returns (order id, codes).
  std::pair<std::string, std::vector<std::string>> CompletedOrder(const std::string& event_id,
                                                                  int quantity) {
    auto [auth, hold_id] = Holding(event_id, quantity);
    http::Response placed = Call(http::Method::kPost, "/v1/orders", OrderBody(hold_id), {auth});
    EXPECT_EQ(placed.status, 201) << placed.body;
    const std::string id(json::parse(placed.body).at("order_id").as_string());
    OutboxWorker worker(*ledger_, &gateway_, nullptr, signer_, clock_, metrics_);
    worker.RunDue();
    http::Response order = Call(http::Method::kGet, "/v1/orders/" + id, "", {auth});
    EXPECT_EQ(order.status, 200);
    const json::value body = json::parse(order.body);
    EXPECT_EQ(body.at("status").as_string(), "completed");
    std::vector<std::string> codes;
    for (const json::value& ticket : body.at("tickets").as_array()) {
      codes.emplace_back(ticket.at("code").as_string());
    }
    return {id, codes};
  }

  http::Response Scan(const std::string& event_id, const std::string& code,
                      const std::string& key = "admin") {
    return Call(http::Method::kPost, "/v1/events/" + event_id + "/checkin",
                json::serialize(json::object{{"code", code}}),
                {{"authorization", "Bearer " + key}});
  }
};

// First scan 200 with ticket and seat; the second 409 already_checked_in with the first time.
TEST_F(CheckInRoutesTest, TicketChecksInOnce) {
  const std::string event_id = CreateEvent();
  auto [order_id, codes] = CompletedOrder(event_id, 2);
  ASSERT_EQ(codes.size(), 2u);
  http::Response first = Scan(event_id, codes[0]);
  ASSERT_EQ(first.status, 200) << first.body;
  const json::value body = json::parse(first.body);
  EXPECT_EQ(body.at("order_id").as_string(), order_id);
  EXPECT_TRUE(body.at("seat_id").is_string());
  EXPECT_TRUE(body.at("ticket_id").as_string().starts_with("tkt_"));
  http::Response second = Scan(event_id, codes[0]);
  EXPECT_EQ(second.status, 409);
  const json::value error = json::parse(second.body).at("error");
  EXPECT_EQ(error.at("code").as_string(), "already_checked_in");
  EXPECT_EQ(error.at("details").at("first_checked_in_at").as_string(),
            body.at("checked_in_at").as_string());
  EXPECT_EQ(Scan(event_id, codes[1]).status, 200) << "the other ticket is its own";
}

// A tampered code, another event's ticket and a refunded order's ticket are 422 invalid_ticket.
TEST_F(CheckInRoutesTest, BadOtherEventAndRevokedTicketsAreInvalid) {
  const std::string event_id = CreateEvent();
  const std::string other_event = CreateEvent();
  auto [order_id, codes] = CompletedOrder(event_id, 2);
  std::string tampered = codes[0];
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Scan(event_id, tampered).status, 422);
  http::Response elsewhere = Scan(other_event, codes[0]);
  EXPECT_EQ(elsewhere.status, 422);
  EXPECT_NE(elsewhere.body.find("invalid_ticket"), std::string::npos);
  ASSERT_EQ(Scan(event_id, codes[0]).status, 200);
  http::Response refunded = Call(http::Method::kPost, "/v1/orders/" + order_id + "/refund", "",
                                 {{"authorization", "Bearer admin"}});
  ASSERT_EQ(refunded.status, 200) << refunded.body;
  EXPECT_EQ(json::parse(refunded.body).at("status").as_string(), "refunded");
  EXPECT_EQ(gateway_.Count("refunded"), 1);
  http::Response revoked = Scan(event_id, codes[1]);
  EXPECT_EQ(revoked.status, 422);
  EXPECT_NE(revoked.body.find("invalid_ticket"), std::string::npos);
  // The refunded seats are on sale again.
  http::Response stats = Call(http::Method::kGet, "/v1/events/" + event_id + "/stats", "",
                              {{"authorization", "Bearer admin"}});
  EXPECT_EQ(json::parse(stats.body).at("inventory").at("sold").as_int64(), 0);
}

// A scanner key checks in for its event only; fans and strangers cannot check in; only the
// operator creates keys, and the key is shown once, in the 201.
TEST_F(CheckInRoutesTest, ScannerKeysCheckInForTheirEventOnly) {
  const std::string event_id = CreateEvent();
  const std::string other_event = CreateEvent();
  auto [order_id, codes] = CompletedOrder(event_id, 1);
  const IssuedSession fan = accounts_.CreateGuestSession();
  EXPECT_EQ(Call(http::Method::kPost, "/v1/events/" + event_id + "/scanner-keys", "",
                 {{"authorization", "Bearer " + fan.token}})
                .status,
            401);
  http::Response created = Call(http::Method::kPost, "/v1/events/" + event_id + "/scanner-keys", "",
                                {{"authorization", "Bearer admin"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string key(json::parse(created.body).at("key").as_string());
  http::Response other_created =
      Call(http::Method::kPost, "/v1/events/" + other_event + "/scanner-keys", "",
           {{"authorization", "Bearer admin"}});
  const std::string other_key(json::parse(other_created.body).at("key").as_string());

  EXPECT_EQ(Scan(event_id, codes[0], fan.token).status, 401);
  EXPECT_EQ(Scan(event_id, codes[0], "sk_made_up").status, 401);
  EXPECT_EQ(Scan(event_id, codes[0], other_key).status, 403);
  EXPECT_EQ(Scan(event_id, codes[0], key).status, 200);
  // A scanner key may only check in: it is not an operator key.
  EXPECT_EQ(Call(http::Method::kGet, "/v1/events/" + event_id + "/stats", "",
                 {{"authorization", "Bearer " + key}})
                .status,
            401);
  EXPECT_EQ(Call(http::Method::kPost, "/v1/orders/" + order_id + "/refund", "",
                 {{"authorization", "Bearer " + key}})
                .status,
            401);
}

}  // namespace
}  // namespace boxoffice::api
