// The operator's keys, scopes and audit log in process, on the real services and the in-memory
// ledger: what a viewer key may read and the 403 it gets on every control, the 401s, and the
// audit entry each control leaves.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "api/api.hpp"
#include "api/route_test_support.hpp"
#include "common/crypto.hpp"
#include "common/worker_pool.hpp"
#include "http/request_target.hpp"
#include "orders/outbox_worker.hpp"
#include "store/ledger_queue_store.hpp"
#include "store/memory/memory_ledger.hpp"
#include "support/fake_admission.hpp"
#include "support/fake_gateway.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;

constexpr std::string_view kSecret = "test secret";

class OperatorRoutesTest : public ::testing::Test {
 protected:
  OperatorRoutesTest()
      : ledger_((InitCrypto(), std::make_unique<MemoryLedger>())),
        catalog_(*ledger_, clock_),
        pool_(1, 16),
        accounts_(*ledger_, clock_, kSecret, std::chrono::hours(1), pool_),
        holds_(catalog_, *ledger_, clock_),
        defense_(*ledger_, clock_, DefenseOptions{1024, CidrList{}, true}),
        signer_(std::string(kSecret)),
        orders_(catalog_, holds_, *ledger_, &gateway_, &admission_, clock_, metrics_,
                MakeOrderRendering(), OrderServiceOptions{2, 64, kOrdersInFlightMax}),
        check_in_(*ledger_, signer_, clock_),
        queue_store_(*ledger_),
        room_(queue_store_, clock_, kSecret),
        keys_(*ledger_, clock_, kSecret),
        audit_(*ledger_, clock_, metrics_),
        context_{catalog_, accounts_, defense_,   metrics_, {"admin"}, [] { return true; },
                 "",       &holds_,   &admission_} {
    context_.waiting_room = &room_;
    context_.orders = &orders_;
    context_.tickets = &signer_;
    context_.check_in = &check_in_;
    context_.operator_keys = &keys_;
    context_.audit = &audit_;
    RegisterRoutes(router_, context_);
  }

  // `target` may carry a query, decoded as the server decodes it.
  http::Response Call(Method method, const std::string& target, std::string body,
                      const std::string& key) {
    Headers headers;
    if (!key.empty()) headers.emplace_back("authorization", "Bearer " + key);
    std::string path;
    http::QueryPairs query;
    EXPECT_TRUE(http::ParseRequestTarget(target, path, query)) << target;
    return CallRoute(router_, method, std::move(path), std::move(body), std::move(headers),
                     std::move(query));
  }

  std::string CreateEvent() {
    http::Response created = Call(Method::kPost, "/v1/events", R"({"name": "Night",
        "price_tiers": [{"id": "A", "price_cents": 1500}],
        "sections": [{"id": "S", "tier": "A", "rows": [{"label": "A", "seats": 6}]}],
        "queue": {"enabled": false}})",
                                  "admin");
    EXPECT_EQ(created.status, 201) << created.body;
    return std::string(json::parse(created.body).at("id").as_string());
  }

  // A viewer key's (id, key).
  std::pair<std::string, std::string> MintViewer(std::string label = "wall") {
    http::Response minted =
        Call(Method::kPost, "/v1/operator-keys",
             json::serialize(json::object{{"scope", "viewer"}, {"label", label}}), "admin");
    EXPECT_EQ(minted.status, 201) << minted.body;
    const json::value body = json::parse(minted.body);
    return {std::string(body.at("id").as_string()), std::string(body.at("key").as_string())};
  }

  // A completed order of two seats: (order id, first ticket id).
  std::pair<std::string, std::string> CompletedOrder(const std::string& event_id) {
    const IssuedSession fan = accounts_.CreateGuestSession();
    http::Response held = Call(Method::kPost, "/v1/events/" + event_id + "/holds",
                               R"({"best_available": {"quantity": 2}})", fan.token);
    EXPECT_EQ(held.status, 201) << held.body;
    const std::string hold_id(json::parse(held.body).at("hold_id").as_string());
    http::Response placed =
        Call(Method::kPost, "/v1/orders",
             R"({"hold_id": ")" + hold_id +
                 R"(", "email": "fan@example.com", "payment": {"token": "tok_visa"}})",
             fan.token);
    EXPECT_EQ(placed.status, 201) << placed.body;
    const json::value order = json::parse(placed.body);
    OutboxWorker worker(*ledger_, &gateway_, nullptr, signer_, clock_, metrics_);
    worker.RunDue();
    return {std::string(order.at("order_id").as_string()),
            std::string(order.at("tickets").at(0).at("id").as_string())};
  }

  json::array AuditItems(const std::string& query = "") {
    http::Response page = Call(Method::kGet, "/v1/audit" + query, "", "admin");
    EXPECT_EQ(page.status, 200) << page.body;
    return json::parse(page.body).at("items").as_array();
  }

  static std::string ErrorCode(const http::Response& response) {
    return std::string(json::parse(response.body).at("error").at("code").as_string());
  }

  FakeClock clock_;
  std::unique_ptr<MemoryLedger> ledger_;
  Catalog catalog_;
  WorkerPool pool_;
  Accounts accounts_;
  HoldService holds_;
  Defense defense_;
  MetricsRegistry metrics_;
  test_support::FakeAdmission admission_;
  test_support::FakeGateway gateway_;
  TicketSigner signer_;
  OrderService orders_;
  CheckInService check_in_;
  LedgerQueueStore queue_store_;
  WaitingRoom room_;
  OperatorKeys keys_;
  AuditTrail audit_;
  http::Router router_;
  ApiContext context_;
};

// A viewer key reads every read-only operator route and gets 403 insufficient_scope on every
// control, before the control looks at its input (so made-up ids and bodies do).
TEST_F(OperatorRoutesTest, ViewerKeyReadsAndIsRefusedEveryControl) {
  const std::string event_id = CreateEvent();
  const auto [order_id, ticket_id] = CompletedOrder(event_id);
  const auto [viewer_id, viewer] = MintViewer();

  for (const std::string& path :
       {std::string("/v1/defense/blocklist"), std::string("/v1/defense/allowlist"),
        std::string("/v1/defense/decisions"),
        std::string("/v1/defense/decisions?decision=challenged&client=203.0.113.0/24"),
        std::string("/v1/audit"), std::string("/v1/payments/gateways"), "/v1/orders/" + order_id,
        "/v1/events/" + event_id + "/stats", "/v1/events/" + event_id + "/stats/clients"}) {
    http::Response read = Call(Method::kGet, path, "", viewer);
    EXPECT_EQ(read.status, 200) << path << ": " << read.body;
  }
  // This server has no gateway router: the list is empty, not an error.
  EXPECT_EQ(json::parse(Call(Method::kGet, "/v1/payments/gateways", "", viewer).body),
            json::parse(R"({"items": [], "next_cursor": null})"));

  const std::vector<std::tuple<Method, std::string, std::string>> controls = {
      {Method::kPatch, "/v1/events/" + event_id + "/queue", R"({"paused": true})"},
      {Method::kPatch, "/v1/events/" + event_id + "/queue", R"({"closed": true})"},
      {Method::kPost, "/v1/events", "{}"},
      {Method::kPost, "/v1/orders/" + order_id + "/refund", ""},
      {Method::kPost, "/v1/defense/blocklist", R"({"cidr": "203.0.113.0/24"})"},
      {Method::kDelete, "/v1/defense/blocklist?cidr=203.0.113.0/24", ""},
      {Method::kPost, "/v1/defense/allowlist", R"({"cidr": "198.51.100.0/24"})"},
      {Method::kDelete, "/v1/defense/allowlist?cidr=198.51.100.0/24", ""},
      {Method::kPost, "/v1/events/" + event_id + "/scanner-keys", ""},
      {Method::kPost, "/v1/events/" + event_id + "/checkin", R"({"code": "AQdldnRfeHl6"})"},
      {Method::kPost, "/v1/operator-keys", R"({"scope": "viewer"})"},
      {Method::kGet, "/v1/operator-keys", ""},
      {Method::kDelete, "/v1/operator-keys/" + viewer_id, ""},
      {Method::kGet, "/v1/tickets/" + ticket_id + "/qr.svg", ""},
  };
  for (const auto& [method, path, body] : controls) {
    http::Response refused = Call(method, path, body, viewer);
    EXPECT_EQ(refused.status, 403) << path << ": " << refused.body;
    if (refused.status != 403) continue;
    const json::value error = json::parse(refused.body).at("error");
    EXPECT_EQ(error.at("code").as_string(), "insufficient_scope") << path;
    EXPECT_EQ(error.at("details").at("required").as_string(), "operator") << path;
    EXPECT_EQ(error.at("details").at("scope").as_string(), "viewer") << path;
  }
  // Nothing the viewer tried changed anything, and the key still works.
  EXPECT_FALSE(room_.Settings(event_id)->paused);
  EXPECT_FALSE(room_.Settings(event_id)->closed);
  EXPECT_EQ(json::parse(Call(Method::kGet, "/v1/orders/" + order_id, "", "admin").body)
                .at("status")
                .as_string(),
            "completed");
  EXPECT_EQ(Call(Method::kGet, "/v1/defense/blocklist", "", viewer).status, 200);
}

// Ticket codes admit their bearer: the operator key reads an order with them, a viewer without.
TEST_F(OperatorRoutesTest, ViewerReadsOrdersWithoutTicketCodes) {
  const std::string event_id = CreateEvent();
  const auto [order_id, ticket_id] = CompletedOrder(event_id);
  const auto [viewer_id, viewer] = MintViewer();
  const json::value full =
      json::parse(Call(Method::kGet, "/v1/orders/" + order_id, "", "admin").body);
  const json::value seen =
      json::parse(Call(Method::kGet, "/v1/orders/" + order_id, "", viewer).body);
  ASSERT_EQ(full.at("tickets").as_array().size(), 2u);
  ASSERT_EQ(seen.at("tickets").as_array().size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(full.at("tickets").at(i).as_object().contains("code"));
    EXPECT_FALSE(seen.at("tickets").at(i).as_object().contains("code"));
    EXPECT_EQ(seen.at("tickets").at(i).at("id"), full.at("tickets").at(i).at("id"));
  }
}

// No key, a wrong one, a fan's session, a tampered viewer key and a revoked one are all 401
// invalid_admin_key; revoking twice is 404.
TEST_F(OperatorRoutesTest, UnknownForgedAndRevokedKeysAre401) {
  const auto [viewer_id, viewer] = MintViewer();
  std::string tampered = viewer;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  const IssuedSession fan = accounts_.CreateGuestSession();
  for (const std::string& key : {std::string(), std::string("nope"), fan.token, tampered}) {
    http::Response refused = Call(Method::kGet, "/v1/audit", "", key);
    EXPECT_EQ(refused.status, 401) << key;
    EXPECT_EQ(ErrorCode(refused), "invalid_admin_key") << key;
  }
  ASSERT_EQ(Call(Method::kGet, "/v1/audit", "", viewer).status, 200);

  ASSERT_EQ(Call(Method::kDelete, "/v1/operator-keys/" + viewer_id, "", "admin").status, 204);
  http::Response revoked = Call(Method::kGet, "/v1/audit", "", viewer);
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(ErrorCode(revoked), "invalid_admin_key");
  http::Response again = Call(Method::kDelete, "/v1/operator-keys/" + viewer_id, "", "admin");
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(ErrorCode(again), "operator_key_not_found");
}

// Minting answers the key once, with its facts; the list shows the facts without the key; only
// viewer keys can be minted, with a short printable label.
TEST_F(OperatorRoutesTest, MintedKeysAreListedWithoutTheKey) {
  http::Response minted = Call(Method::kPost, "/v1/operator-keys",
                               R"({"scope": "viewer", "label": "Lobby screen"})", "admin");
  ASSERT_EQ(minted.status, 201) << minted.body;
  const json::value key = json::parse(minted.body);
  EXPECT_TRUE(key.at("id").as_string().starts_with("opk_"));
  EXPECT_EQ(key.at("scope").as_string(), "viewer");
  EXPECT_EQ(key.at("label").as_string(), "Lobby screen");
  EXPECT_TRUE(key.at("created_at").is_string());
  http::Response unlabelled =
      Call(Method::kPost, "/v1/operator-keys", R"({"scope": "viewer"})", "admin");
  ASSERT_EQ(unlabelled.status, 201);
  EXPECT_TRUE(json::parse(unlabelled.body).at("label").is_null());

  http::Response listed = Call(Method::kGet, "/v1/operator-keys", "", "admin");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find(std::string(key.at("key").as_string())), std::string::npos);
  const json::value list = json::parse(listed.body);
  ASSERT_EQ(list.at("items").as_array().size(), 2u);
  EXPECT_EQ(list.at("items").at(0).at("id"), key.at("id"));
  EXPECT_FALSE(list.at("items").at(0).as_object().contains("key"));
  EXPECT_TRUE(list.at("next_cursor").is_null());

  for (const std::string_view body :
       {R"({"scope": "operator"})", R"({"scope": "admin"})", R"({})",
        R"({"scope": "viewer", "label": "line\nbreak"})", R"({"scope": "viewer", "label": 7})"}) {
    http::Response refused = Call(Method::kPost, "/v1/operator-keys", std::string(body), "admin");
    EXPECT_EQ(refused.status, 422) << body;
  }
}

// Closing the queue is a switch like pausing: anything but true, false or null is 422 naming
// the field, and a close is audited with what it changed.
TEST_F(OperatorRoutesTest, ClosingTheQueueIsCheckedAndAudited) {
  const std::string event_id = CreateEvent();
  const std::string path = "/v1/events/" + event_id + "/queue";
  const http::Response refused = Call(Method::kPatch, path, R"({"closed": "yes"})", "admin");
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(json::parse(refused.body).at("error").at("details").at("field"), "closed");
  EXPECT_FALSE(room_.Settings(event_id)->closed);

  const http::Response closed = Call(Method::kPatch, path, R"({"closed": true})", "admin");
  ASSERT_EQ(closed.status, 200) << closed.body;
  EXPECT_EQ(json::parse(closed.body).at("closed"), true);
  EXPECT_TRUE(room_.Settings(event_id)->closed);
  const json::value log = json::parse(Call(Method::kGet, "/v1/audit", "", "admin").body);
  const json::value& entry = log.at("items").as_array().back();
  EXPECT_EQ(entry.at("action"), "queue.update");
  EXPECT_EQ(entry.at("before").at("closed"), false);
  EXPECT_EQ(entry.at("after").at("closed"), true);
}

// Every control done with the operator key leaves one entry naming the action, the target and
// the actor, with the states the route knows; a refused control leaves none; no entry holds a
// minted key.
TEST_F(OperatorRoutesTest, EveryControlIsAuditedOnce) {
  const std::string event_id = CreateEvent();
  ASSERT_EQ(
      Call(Method::kPatch, "/v1/events/" + event_id + "/queue", R"({"max_active": 0})", "admin")
          .status,
      422);
  ASSERT_EQ(Call(Method::kPatch, "/v1/events/" + event_id + "/queue",
                 R"({"max_active": 7, "paused": true, "message": "Back soon"})", "admin")
                .status,
            200);
  const auto [order_id, ticket_id] = CompletedOrder(event_id);
  ASSERT_EQ(Call(Method::kPost, "/v1/orders/" + order_id + "/refund", "", "admin").status, 200);
  ASSERT_EQ(Call(Method::kPost, "/v1/defense/blocklist",
                 R"({"cidr": "203.0.113.9/24", "reason": "scraper"})", "admin")
                .status,
            201);
  ASSERT_EQ(Call(Method::kDelete, "/v1/defense/blocklist?cidr=203.0.113.0/24", "", "admin").status,
            204);
  ASSERT_EQ(
      Call(Method::kPost, "/v1/defense/allowlist", R"({"cidr": "198.51.100.7"})", "admin").status,
      201);
  ASSERT_EQ(Call(Method::kDelete, "/v1/defense/allowlist?cidr=198.51.100.7/32", "", "admin").status,
            204);
  http::Response scanner =
      Call(Method::kPost, "/v1/events/" + event_id + "/scanner-keys", "", "admin");
  ASSERT_EQ(scanner.status, 201);
  const auto [viewer_id, viewer] = MintViewer("Ana");
  ASSERT_EQ(Call(Method::kDelete, "/v1/operator-keys/" + viewer_id, "", "admin").status, 204);

  http::Response page = Call(Method::kGet, "/v1/audit", "", "admin");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body.find(viewer), std::string::npos) << "a minted key in the audit log";
  EXPECT_EQ(page.body.find(std::string(json::parse(scanner.body).at("key").as_string())),
            std::string::npos)
      << "a scanner key in the audit log";
  const json::value body = json::parse(page.body);
  const json::array& items = body.at("items").as_array();
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"event.create", event_id},
      {"queue.update", event_id},
      {"order.refund", order_id},
      {"defense.block", "203.0.113.0/24"},
      {"defense.unblock", "203.0.113.0/24"},
      {"defense.allow", "198.51.100.7/32"},
      {"defense.disallow", "198.51.100.7/32"},
      {"scanner_key.create", std::string(json::parse(scanner.body).at("id").as_string())},
      {"operator_key.create", viewer_id},
      {"operator_key.revoke", viewer_id},
  };
  ASSERT_EQ(items.size(), expected.size()) << page.body;
  EXPECT_EQ(body.at("latest").as_int64(), static_cast<std::int64_t>(expected.size()));
  EXPECT_TRUE(body.at("next_cursor").is_null());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const json::value& item = items[i];
    EXPECT_EQ(item.at("id").as_int64(), static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(item.at("action").as_string(), expected[i].first);
    EXPECT_EQ(item.at("target").as_string(), expected[i].second) << expected[i].first;
    EXPECT_EQ(item.at("actor").at("key_id").as_string(), "admin");
    EXPECT_EQ(item.at("actor").at("scope").as_string(), "operator");
    EXPECT_TRUE(item.at("at").is_string());
  }
  const json::value& queue = items[1];
  EXPECT_EQ(queue.at("before"), json::parse(R"({"admission_rate_per_s": 100, "max_active": 5000,
      "paused": false, "message": null, "closed": false})"));
  EXPECT_EQ(queue.at("after"), json::parse(R"({"admission_rate_per_s": 100, "max_active": 7,
      "paused": true, "message": "Back soon", "closed": false})"));
  EXPECT_EQ(items[0].at("after").at("name").as_string(), "Night");
  EXPECT_FALSE(items[0].at("after").as_object().contains("sections"));
  EXPECT_EQ(items[2].at("after").at("status").as_string(), "refunded");
  EXPECT_FALSE(items[3].as_object().contains("before"));
  EXPECT_EQ(items[3].at("after").at("reason").as_string(), "scraper");
  EXPECT_EQ(items[4].at("before").at("reason").as_string(), "scraper");
  EXPECT_FALSE(items[4].as_object().contains("after"));
  EXPECT_EQ(items[8].at("after").at("label").as_string(), "Ana");
  EXPECT_EQ(items[9].at("before").at("label").as_string(), "Ana");
}

// Pages hold `limit` entries oldest first; next_cursor, passed back as `after`, walks the log
// once and is null on the page that reaches the newest entry; bad parameters are 400.
TEST_F(OperatorRoutesTest, AuditPagesWalkTheLogOnce) {
  for (int i = 0; i < 5; ++i) MintViewer("key " + std::to_string(i));
  std::vector<std::int64_t> ids;
  std::string query = "?limit=2";
  for (int pages = 0; pages < 5; ++pages) {
    http::Response page = Call(Method::kGet, "/v1/audit" + query, "", "admin");
    ASSERT_EQ(page.status, 200) << page.body;
    const json::value body = json::parse(page.body);
    for (const json::value& item : body.at("items").as_array())
      ids.push_back(item.at("id").as_int64());
    if (body.at("next_cursor").is_null()) break;
    query = "?limit=2&after=" + std::to_string(body.at("next_cursor").as_int64());
  }
  EXPECT_EQ(ids, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(AuditItems("?after=5").empty());
  for (const std::string query : {"?limit=0", "?limit=1001", "?after=-1", "?after=x"}) {
    http::Response refused = Call(Method::kGet, "/v1/audit" + query, "", "admin");
    EXPECT_EQ(refused.status, 400) << query;
    EXPECT_EQ(ErrorCode(refused), "invalid_parameter") << query;
  }
}

}  // namespace
}  // namespace boxoffice::api
