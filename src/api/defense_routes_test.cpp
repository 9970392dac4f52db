// GET /v1/defense/decisions in process, on a real Defense whose decision log is filled by
// screening requests as the middleware does: the filters by decision, route class and client
// range, paging up from `after` and down from `before` past what a read examined, and the 400
// that names a bad parameter.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/api.hpp"
#include "api/route_test_support.hpp"
#include "common/worker_pool.hpp"
#include "http/request_target.hpp"
#include "store/memory/memory_ledger.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;

class DecisionRoutesTest : public ::testing::Test {
 protected:
  DecisionRoutesTest()
      : ledger_(std::make_unique<MemoryLedger>()),
        catalog_(*ledger_, clock_),
        pool_(1, 16),
        accounts_(*ledger_, clock_, "test secret", std::chrono::hours(1), pool_),
        holds_(catalog_, *ledger_, clock_),
        defense_(*ledger_, clock_, DefenseOptions{1024, CidrList{}, true}),
        context_{catalog_,  accounts_,           defense_, metrics_,
                 {"admin"}, [] { return true; }, "",       &holds_} {
    RegisterRoutes(router_, context_);
  }

  // Screens one scored request as the defence middleware would, so it lands in the log: an
  // `always` event challenges it, a `risk` event lets a client without tells through.
  Decision Screen(RouteClass route_class, std::string_view client, ChallengePolicy policy) {
    const std::string session = "ses_" + std::to_string(++requests_);
    const std::string request_id = "req-" + std::to_string(requests_);
    return defense_
        .Screen(RequestFacts{route_class, client, session, {}, request_id, "evt_1"},
                RequestSignals{}, policy, std::nullopt)
        .decision;
  }

  // `target` may carry a query, decoded as the server decodes it.
  http::Response Get(const std::string& target) {
    std::string path;
    http::QueryPairs query;
    EXPECT_TRUE(http::ParseRequestTarget(target, path, query)) << target;
    return CallRoute(router_, http::Method::kGet, std::move(path), "",
                     {{"authorization", "Bearer admin"}}, std::move(query));
  }

  // The answer's JSON, which must be a 200.
  json::object Page(const std::string& target) {
    const http::Response response = Get(target);
    EXPECT_EQ(response.status, 200) << target << ": " << response.body;
    return json::parse(response.body).as_object();
  }

  static std::vector<std::string> RequestIdsOf(const json::object& page) {
    std::vector<std::string> ids;
    for (const json::value& item : page.at("items").as_array()) {
      ids.emplace_back(item.at("request_id").as_string());
    }
    return ids;
  }

  // Eight decisions: three networks, both route classes, allowed and challenged.
  void RecordMixedDecisions() {
    using enum RouteClass;
    const ChallengePolicy always = ChallengePolicy::kAlways;
    const ChallengePolicy risk = ChallengePolicy::kRisk;
    ASSERT_EQ(Screen(kQueueJoin, "203.0.113.5", always), Decision::kChallenged);   // req-1
    ASSERT_EQ(Screen(kQueueJoin, "203.0.113.6", risk), Decision::kAllowed);        // req-2
    ASSERT_EQ(Screen(kQueueJoin, "192.0.2.10", always), Decision::kChallenged);    // req-3
    ASSERT_EQ(Screen(kHold, "203.0.113.5", always), Decision::kChallenged);        // req-4
    ASSERT_EQ(Screen(kHold, "198.51.100.1", risk), Decision::kAllowed);            // req-5
    ASSERT_EQ(Screen(kQueueJoin, "203.0.113.77", always), Decision::kChallenged);  // req-6
    ASSERT_EQ(Screen(kHold, "2001:db8::1", always), Decision::kChallenged);        // req-7
    ASSERT_EQ(Screen(kQueueJoin, "198.51.100.2", risk), Decision::kAllowed);       // req-8
  }

  FakeClock clock_;
  std::unique_ptr<MemoryLedger> ledger_;
  Catalog catalog_;
  WorkerPool pool_;
  Accounts accounts_;
  HoldService holds_;
  Defense defense_;
  MetricsRegistry metrics_;
  http::Router router_;
  ApiContext context_;
  int requests_ = 0;
};

using Ids = std::vector<std::string>;

// Each filter keeps exactly the entries it names, together they must all match, and none set is
// the whole log as before.
TEST_F(DecisionRoutesTest, FiltersKeepExactlyTheMatchingDecisions) {
  RecordMixedDecisions();
  EXPECT_EQ(RequestIdsOf(Page("/v1/defense/decisions")).size(), 8u);
  EXPECT_EQ(RequestIdsOf(Page("/v1/defense/decisions?decision=challenged")),
            (Ids{"req-1", "req-3", "req-4", "req-6", "req-7"}));
  EXPECT_EQ(RequestIdsOf(Page("/v1/defense/decisions?decision=allowed")),
            (Ids{"req-2", "req-5", "req-8"}));
  EXPECT_TRUE(RequestIdsOf(Page("/v1/defense/decisions?decision=risk_blocked")).empty());
  EXPECT_EQ(RequestIdsOf(Page("/v1/defense/decisions?route_class=hold")),
            (Ids{"req-4", "req-5", "req-7"}));
  EXPECT_EQ(RequestIdsOf(Page("/v1/defense/decisions?client=203.0.113.0/24")),
            (Ids{"req-1", "req-2", "req-4", "req-6"}));
  EXPECT_EQ(RequestIdsOf(Page("/v1/defense/decisions?client=203.0.113.5")),
            (Ids{"req-1", "req-4"}));
  EXPECT_EQ(RequestIdsOf(Page("/v1/defense/decisions?client=2001:db8::/32")), (Ids{"req-7"}));
  const json::object both = Page(
      "/v1/defense/decisions?decision=challenged&client=203.0.113.0/24&route_class=queue_join");
  EXPECT_EQ(RequestIdsOf(both), (Ids{"req-1", "req-6"}));
  const json::object& item = both.at("items").at(1).as_object();
  EXPECT_EQ(item.at("client").as_string(), "203.0.113.77");
  EXPECT_EQ(item.at("decision").as_string(), "challenged");
  EXPECT_EQ(item.at("route_class").as_string(), "queue_join");
  EXPECT_EQ(both.at("next_after").to_number<std::uint64_t>(), 8u);  // the whole log was examined
  EXPECT_EQ(both.at("next_before").to_number<std::uint64_t>(), 1u);
}

// Pages go on after what a read examined, matching or not, so a search for a rare entry moves
// forward; `before` reads the newest matches first and `next_before` walks down from there.
TEST_F(DecisionRoutesTest, PagesGoOnPastWhatWasExaminedBothWays) {
  RecordMixedDecisions();
  const json::object first = Page("/v1/defense/decisions?decision=challenged&limit=2");
  EXPECT_EQ(RequestIdsOf(first), (Ids{"req-1", "req-3"}));
  EXPECT_EQ(first.at("next_after").to_number<std::uint64_t>(), 3u);
  const json::object second = Page("/v1/defense/decisions?decision=challenged&limit=2&after=3");
  EXPECT_EQ(RequestIdsOf(second), (Ids{"req-4", "req-6"}));
  EXPECT_EQ(second.at("next_after").to_number<std::uint64_t>(), 6u);
  const json::object none = Page("/v1/defense/decisions?decision=challenge_failed&after=2");
  EXPECT_TRUE(none.at("items").as_array().empty());
  EXPECT_EQ(none.at("next_after").to_number<std::uint64_t>(), 8u);
  EXPECT_EQ(none.at("next_before").to_number<std::uint64_t>(), 3u);
  const json::object caught_up = Page("/v1/defense/decisions?decision=challenged&after=8");
  EXPECT_EQ(caught_up.at("next_after").to_number<std::uint64_t>(), 8u);
  EXPECT_EQ(caught_up.at("latest").to_number<std::uint64_t>(), 8u);

  const json::object newest = Page("/v1/defense/decisions?decision=challenged&limit=2&before=9");
  EXPECT_EQ(RequestIdsOf(newest), (Ids{"req-6", "req-7"}));
  EXPECT_EQ(newest.at("next_before").to_number<std::uint64_t>(), 6u);
  EXPECT_EQ(newest.at("next_after").to_number<std::uint64_t>(),
            8u);  // tail from here for newer ones
  const json::object older = Page("/v1/defense/decisions?decision=challenged&limit=2&before=6");
  EXPECT_EQ(RequestIdsOf(older), (Ids{"req-3", "req-4"}));
  EXPECT_EQ(older.at("next_before").to_number<std::uint64_t>(), 3u);
  const json::object oldest = Page("/v1/defense/decisions?decision=challenged&limit=2&before=3");
  EXPECT_EQ(RequestIdsOf(oldest), (Ids{"req-1"}));
  EXPECT_EQ(oldest.at("next_before").to_number<std::uint64_t>(), 1u);
  const json::object past = Page("/v1/defense/decisions?before=1");
  EXPECT_TRUE(past.at("items").as_array().empty());
  EXPECT_EQ(past.at("next_before").to_number<std::uint64_t>(), 1u);
  // A `before` beyond the latest reads from the latest; `after` bounds the read from below.
  EXPECT_EQ(RequestIdsOf(Page("/v1/defense/decisions?route_class=hold&before=9007199254740991")),
            (Ids{"req-4", "req-5", "req-7"}));
  EXPECT_EQ(RequestIdsOf(Page("/v1/defense/decisions?route_class=hold&before=9&after=4")),
            (Ids{"req-5", "req-7"}));
}

// The answer carries the weights and thresholds of the model that scored every entry held, so a
// reader can rank what pushed each score up and tell a challenge the score asked for from one the
// event's policy did.
TEST_F(DecisionRoutesTest, PagesCarryTheModelsWeightsAndThresholds) {
  RecordMixedDecisions();
  const json::object page = Page("/v1/defense/decisions?limit=1");
  const json::object& weights = page.at("model_weights").as_object();
  const RiskModel& model = defense_.risk_model();
  ASSERT_EQ(weights.size(), kRiskFeatureCount);
  for (std::size_t i = 0; i < kRiskFeatureCount; ++i) {
    EXPECT_DOUBLE_EQ(weights.at(RiskFeatureName(i)).to_number<double>(), model.weights()[i])
        << RiskFeatureName(i);
  }
  EXPECT_EQ(page.at("model_version").as_string(), model.version());
  const json::object& thresholds = page.at("model_thresholds").as_object();
  EXPECT_DOUBLE_EQ(thresholds.at("challenge").to_number<double>(), model.challenge_threshold());
  EXPECT_DOUBLE_EQ(thresholds.at("block").to_number<double>(), model.block_threshold());
}

// A filter value the log can never hold, a malformed range or a bad `before` is 400
// invalid_parameter naming the parameter, never an empty page.
TEST_F(DecisionRoutesTest, BadFilterValuesAre400NamingTheParameter) {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"decision=rate_limited", "decision"},  // refused before scoring, never logged
      {"decision=blocked", "decision"},
      {"decision=Challenged", "decision"},
      {"decision=", "decision"},
      {"route_class=read", "route_class"},
      {"route_class=", "route_class"},
      {"client=203.0.113.0/33", "client"},
      {"client=203.0.113", "client"},
      {"client=", "client"},
      {"before=0", "before"},
      {"before=x", "before"},
      {"after=-1", "after"},
  };
  for (const auto& [query, parameter] : refused) {
    const http::Response response = Get("/v1/defense/decisions?" + query);
    EXPECT_EQ(response.status, 400) << query << ": " << response.body;
    if (response.status != 400) continue;
    const json::value error = json::parse(response.body).at("error");
    EXPECT_EQ(error.at("code").as_string(), "invalid_parameter") << query;
    EXPECT_EQ(error.at("details").at("parameter").as_string(), parameter) << query;
  }
  // Every decision the log records is accepted.
  for (Decision decision : kLoggedDecisions) {
    EXPECT_EQ(Get("/v1/defense/decisions?decision=" + std::string(DecisionName(decision))).status,
              200)
        << DecisionName(decision);
  }
}

}  // namespace
}  // namespace boxoffice::api
