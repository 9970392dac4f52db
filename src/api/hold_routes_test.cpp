// The hold routes with the waiting room's AdmissionCheck wired in (the e2e tests run without
// one): a queue-enabled event asks it, with the session and the X-Access-Token header.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "api/api.hpp"
#include "api/route_test_support.hpp"
#include "common/worker_pool.hpp"
#include "store/memory/memory_ledger.hpp"
#include "support/fake_admission.hpp"

namespace boxoffice::api {
namespace {

using test_support::FakeAdmission;

class HoldRoutesTest : public ::testing::Test {
 protected:
  HoldRoutesTest()
      : ledger_(std::make_unique<MemoryLedger>()),
        catalog_(*ledger_, clock_),
        pool_(1, 16),
        accounts_(*ledger_, clock_, "test secret", std::chrono::hours(1), pool_),
        holds_(catalog_, *ledger_, clock_),
        defense_(*ledger_, clock_, DefenseOptions{1024, CidrList{}, true}),
        context_{catalog_, accounts_, defense_,   metrics_, {"admin"}, [] { return true; },
                 "",       &holds_,   &admission_} {
    RegisterRoutes(router_, context_);
  }

  http::Response Call(http::Method method, std::string path, std::string body, Headers headers) {
    return CallRoute(router_, method, std::move(path), std::move(body), std::move(headers));
  }

  std::string CreateEvent(bool queue_enabled) {
    const std::string body =
        std::string(R"({"name": "Gate", "price_tiers": [{"id": "A", "price_cents": 100}],
        "sections": [{"id": "S", "tier": "A", "rows": [{"label": "A", "seats": 4}]}],
        "queue": {"enabled": )") +
        (queue_enabled ? "true" : "false") + "}}";
    http::Response created =
        Call(http::Method::kPost, "/v1/events", body, {{"authorization", "Bearer admin"}});
    EXPECT_EQ(created.status, 201) << created.body;
    return std::string(boost::json::parse(created.body).at("id").get_string());
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
  http::Router router_;
  ApiContext context_;
};

// Queue enabled: no token is 401 missing_access_token, a bad one 401, the admitted one 201.
TEST_F(HoldRoutesTest, QueueEnabledEventAsksTheWaitingRoom) {
  const std::string event_id = CreateEvent(true);
  const IssuedSession session = accounts_.CreateGuestSession();
  const std::string path = "/v1/events/" + event_id + "/holds";
  const std::string body = R"({"best_available": {"quantity": 1}})";
  const std::pair<std::string, std::string> auth{"authorization", "Bearer " + session.token};
  http::Response missing = Call(http::Method::kPost, path, body, {auth});
  EXPECT_EQ(missing.status, 401);
  EXPECT_NE(missing.body.find("missing_access_token"), std::string::npos);
  EXPECT_EQ(admission_.last_event_id(), event_id);
  EXPECT_EQ(admission_.last_session_id(), session.session.session_id);
  http::Response bad = Call(http::Method::kPost, path, body, {auth, {"x-access-token", "bad"}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_NE(bad.body.find("invalid_access_token"), std::string::npos);
  http::Response admitted =
      Call(http::Method::kPost, path, body, {auth, {"x-access-token", "good"}});
  EXPECT_EQ(admitted.status, 201) << admitted.body;
}

// Queue disabled: the waiting room is not asked, and no token is needed.
TEST_F(HoldRoutesTest, QueueDisabledEventNeedsNoToken) {
  const std::string event_id = CreateEvent(false);
  const IssuedSession session = accounts_.CreateGuestSession();
  http::Response held = Call(http::Method::kPost, "/v1/events/" + event_id + "/holds",
                             R"({"best_available": {"quantity": 2}})",
                             {{"authorization", "Bearer " + session.token}});
  EXPECT_EQ(held.status, 201) << held.body;
  EXPECT_EQ(admission_.last_event_id(), "");
}

}  // namespace
}  // namespace boxoffice::api
