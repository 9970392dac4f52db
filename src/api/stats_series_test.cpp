// The stats history in-process: the sampler driven by hand at chosen seconds, the series and
// stream routes called as the server would, against a context with every service the stats read
// (waiting room, holds, orders, defence), so that every column must resolve.
#include "api/stats_series.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cmath>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/api.hpp"
#include "api/route_test_support.hpp"
#include "common/worker_pool.hpp"
#include "store/ledger_queue_store.hpp"
#include "store/memory/memory_ledger.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;

constexpr std::int64_t kT0 = 1'800'000'000;
const std::pair<std::string, std::string> kOperator{"authorization", "Bearer admin"};

class StatsSeriesRoutesTest : public ::testing::Test {
 protected:
  // A history of at most 2 events of 4 samples each, so that both bounds are reached quickly.
  static constexpr std::size_t kEventsMax = 2;
  static constexpr std::size_t kSamples = 4;

  StatsSeriesRoutesTest()
      : ledger_(std::make_unique<MemoryLedger>()),
        catalog_(*ledger_, clock_),
        pool_(1, 16),
        accounts_(*ledger_, clock_, "test secret", std::chrono::hours(1), pool_),
        holds_(catalog_, *ledger_, clock_),
        defense_(*ledger_, clock_, DefenseOptions{1024, CidrList{}, true}),
        queue_store_(*ledger_),
        room_(queue_store_, clock_, "test secret"),
        orders_(catalog_, holds_, *ledger_, nullptr, &room_, clock_, metrics_,
                MakeOrderRendering()),
        operator_keys_(*ledger_, clock_, "test secret"),
        series_(kEventsMax, kSamples),
        context_{.catalog = catalog_,
                 .accounts = accounts_,
                 .defense = defense_,
                 .metrics = metrics_,
                 .admin_keys = {"admin"},
                 .ready = [] { return true; },
                 .openapi_yaml = "",
                 .holds = &holds_,
                 .admission = &room_,
                 .waiting_room = &room_,
                 .orders = &orders_,
                 .stats_series = &series_,
                 .operator_keys = &operator_keys_},
        sampler_(context_, series_) {
    RegisterRoutes(router_, context_);
  }

  http::Response Get(std::string path, Headers headers = {kOperator}, QueryParameters query = {}) {
    return CallRoute(router_, Method::kGet, std::move(path), "", std::move(headers),
                     std::move(query));
  }

  json::object GetJson(std::string path, QueryParameters query = {}) {
    http::Response response = Get(std::move(path), {kOperator}, std::move(query));
    EXPECT_EQ(response.status, 200) << response.body;
    return json::parse(response.body).as_object();
  }

  // A four-seat event without a queue, so that a hold needs no access token.
  std::string CreateEvent() {
    http::Response created = CallRoute(router_, Method::kPost, "/v1/events",
                                       R"({"name": "Chart", "price_tiers": [{"id": "A",
        "price_cents": 2500}], "sections": [{"id": "S", "tier": "A", "rows": [{"label": "A",
        "seats": 4}]}], "queue": {"enabled": false, "admission_rate_per_s": 7,
        "max_active": 9}})",
                                       {kOperator});
    EXPECT_EQ(created.status, 201) << created.body;
    return std::string(json::parse(created.body).at("id").get_string());
  }

  void HoldOneSeat(const std::string& event_id) {
    const IssuedSession session = accounts_.CreateGuestSession();
    http::Response held = CallRoute(router_, Method::kPost, "/v1/events/" + event_id + "/holds",
                                    R"({"best_available": {"quantity": 1}})",
                                    {{"authorization", "Bearer " + session.token}});
    ASSERT_EQ(held.status, 201) << held.body;
  }

  static std::string SeriesPath(const std::string& event_id) {
    return "/v1/events/" + event_id + "/stats/series";
  }

  FakeClock clock_;
  std::unique_ptr<MemoryLedger> ledger_;
  Catalog catalog_;
  WorkerPool pool_;
  Accounts accounts_;
  HoldService holds_;
  Defense defense_;
  MetricsRegistry metrics_;
  LedgerQueueStore queue_store_;
  WaitingRoom room_;
  OrderService orders_;
  OperatorKeys operator_keys_;
  StatsSeries series_;
  http::Router router_;
  ApiContext context_;
  StatsSampler sampler_;
};

std::vector<std::int64_t> Times(const json::object& series) {
  std::vector<std::int64_t> times;
  for (const json::value& t : series.at("t").as_array()) times.push_back(t.to_number<int64_t>());
  return times;
}

const json::array& Column(const json::object& series, std::string_view name) {
  return series.at("series").as_object().at(name).as_array();
}

// Every column is a number of the snapshot on a server with every service, so no sample has a
// null; each sample is one value per column at its second, with the counters listed.
TEST_F(StatsSeriesRoutesTest, SeriesHasEveryColumnOfEverySample) {
  const std::string event_id = CreateEvent();
  sampler_.Sample(kT0);
  sampler_.Sample(kT0 + 1);
  const json::object series = GetJson(SeriesPath(event_id));
  EXPECT_EQ(series.at("event_id").as_string(), event_id);
  EXPECT_EQ(series.at("interval_s").to_number<int>(), 1);
  EXPECT_EQ(Times(series), (std::vector<std::int64_t>{kT0, kT0 + 1}));
  const json::object& columns = series.at("series").as_object();
  EXPECT_EQ(columns.size(), StatsSeriesColumns().size());
  for (const StatsColumn& column : StatsSeriesColumns()) {
    const json::array& values = Column(series, column.name);
    ASSERT_EQ(values.size(), 2u) << column.name;
    for (const json::value& value : values) EXPECT_TRUE(value.is_number()) << column.name;
  }
  EXPECT_EQ(Column(series, "inventory.available")[1].to_number<int>(), 4);
  EXPECT_EQ(Column(series, "queue.settings.admission_rate_per_s")[1].to_number<int>(), 7);
  EXPECT_EQ(Column(series, "queue.settings.max_active")[1].to_number<int>(), 9);
  std::vector<std::string> counters;
  for (const json::value& name : series.at("counters").as_array()) {
    counters.emplace_back(name.as_string());
  }
  EXPECT_NE(std::find(counters.begin(), counters.end(), "queue.joined"), counters.end());
  EXPECT_NE(std::find(counters.begin(), counters.end(), "orders.placed"), counters.end());
  EXPECT_EQ(std::find(counters.begin(), counters.end(), "queue.waiting"), counters.end());
}

// The snapshot carries what the history reads beyond the figures: the queue's settings in force
// and the orders' running total.
TEST_F(StatsSeriesRoutesTest, SnapshotHasSettingsAndPlacedOrders) {
  const std::string event_id = CreateEvent();
  const json::object stats = GetJson("/v1/events/" + event_id + "/stats");
  EXPECT_EQ(stats.at("queue").at("settings").at("admission_rate_per_s").to_number<int>(), 7);
  EXPECT_EQ(stats.at("queue").at("settings").at("max_active").to_number<int>(), 9);
  EXPECT_EQ(stats.at("orders").at("placed").to_number<int>(), 0);
}

// A hold placed after one sample shows in the next, and `since` returns only the later samples.
TEST_F(StatsSeriesRoutesTest, HoldShowsInTheNextSampleAndSinceFilters) {
  const std::string event_id = CreateEvent();
  sampler_.Sample(kT0);
  HoldOneSeat(event_id);
  sampler_.Sample(kT0 + 1);
  const json::object all = GetJson(SeriesPath(event_id));
  EXPECT_EQ(Column(all, "inventory.held")[0].to_number<int>(), 0);
  EXPECT_EQ(Column(all, "inventory.held")[1].to_number<int>(), 1);
  EXPECT_EQ(Column(all, "inventory.available")[1].to_number<int>(), 3);
  const json::object later = GetJson(SeriesPath(event_id), {{"since", std::to_string(kT0)}});
  EXPECT_EQ(Times(later), std::vector<std::int64_t>{kT0 + 1});
  EXPECT_EQ(Column(later, "inventory.held").size(), 1u);
  const json::object none = GetJson(SeriesPath(event_id), {{"since", std::to_string(kT0 + 1)}});
  EXPECT_TRUE(Times(none).empty());
  EXPECT_TRUE(Column(none, "inventory.held").empty());
}

// The ring keeps the latest `samples`; a second sampled twice (a clock stepped back) is kept once.
TEST_F(StatsSeriesRoutesTest, SeriesKeepsTheLatestSamples) {
  const std::string event_id = CreateEvent();
  for (std::int64_t t = kT0; t < kT0 + 6; ++t) sampler_.Sample(t);
  sampler_.Sample(kT0 + 2);
  EXPECT_EQ(Times(GetJson(SeriesPath(event_id))),
            (std::vector<std::int64_t>{kT0 + 2, kT0 + 3, kT0 + 4, kT0 + 5}));
}

// `since` that is not a unix time in whole seconds is 422 validation_failed naming the field.
TEST_F(StatsSeriesRoutesTest, SinceMustBeUnixSeconds) {
  const std::string event_id = CreateEvent();
  for (const char* since : {"abc", "", "-1", "1.5", "12x", "99999999999999999999"}) {
    http::Response response = Get(SeriesPath(event_id), {kOperator}, {{"since", since}});
    EXPECT_EQ(response.status, 422) << since;
    const json::object error = json::parse(response.body).at("error").as_object();
    EXPECT_EQ(error.at("code").as_string(), "validation_failed") << since;
    EXPECT_EQ(error.at("details").at("field").as_string(), "since") << since;
  }
}

// Both routes ask for the operator key as the snapshot does (401), then for the event (404).
TEST_F(StatsSeriesRoutesTest, OperatorKeyThenEvent) {
  const std::string event_id = CreateEvent();
  for (const std::string suffix : {"/stats/series", "/stats/stream"}) {
    EXPECT_EQ(Get("/v1/events/" + event_id + suffix, {}).status, 401) << suffix;
    EXPECT_EQ(Get("/v1/events/" + event_id + suffix, {{"authorization", "Bearer nope"}}).status,
              401)
        << suffix;
    http::Response unknown = Get("/v1/events/evt_missing" + suffix);
    EXPECT_EQ(unknown.status, 404) << suffix;
    EXPECT_NE(unknown.body.find("event_not_found"), std::string::npos) << suffix;
  }
}

// The history only reads, so a minted viewer key reads it as the operator key does.
TEST_F(StatsSeriesRoutesTest, ViewerKeyReadsTheHistory) {
  const std::string event_id = CreateEvent();
  sampler_.Sample(kT0);
  std::promise<Result<MintedOperatorKey>> minted;
  operator_keys_.Mint(
      OperatorScope::kViewer, "wall screen",
      [&minted](Result<MintedOperatorKey> key) { minted.set_value(std::move(key)); });
  Result<MintedOperatorKey> viewer = minted.get_future().get();
  ASSERT_TRUE(viewer.ok());
  const Headers as_viewer{{"authorization", "Bearer " + viewer->secret}};
  http::Response series = Get(SeriesPath(event_id), as_viewer);
  EXPECT_EQ(series.status, 200) << series.body;
  EXPECT_EQ(Times(json::parse(series.body).as_object()), std::vector<std::int64_t>{kT0});
  EXPECT_EQ(Get("/v1/events/" + event_id + "/stats/stream", as_viewer).status, 200);
  EXPECT_EQ(Get("/v1/events/" + event_id + "/stats", as_viewer).status, 200);
}

// The stream's first event is the latest sample, at once; then one per newer sample, the latest
// when the reader missed some, and nothing while there is nothing new.
TEST_F(StatsSeriesRoutesTest, StreamSendsTheLatestSampleThenEachNewOne) {
  const std::string event_id = CreateEvent();
  http::Response response = Get("/v1/events/" + event_id + "/stats/stream");
  ASSERT_EQ(response.status, 200);
  ASSERT_TRUE(response.stream);
  EXPECT_EQ(response.stream->next().kind, http::StreamStep::Kind::kNoChange);  // no sample yet
  sampler_.Sample(kT0);
  sampler_.Sample(kT0 + 1);
  http::StreamStep first = response.stream->next();
  ASSERT_EQ(first.kind, http::StreamStep::Kind::kEvent);
  const json::object event = json::parse(first.data).as_object();
  EXPECT_EQ(event.at("t").to_number<std::int64_t>(), kT0 + 1);
  EXPECT_EQ(event.at("values").as_object().size(), StatsSeriesColumns().size());
  EXPECT_EQ(event.at("values").at("inventory.available").to_number<int>(), 4);
  EXPECT_EQ(response.stream->next().kind, http::StreamStep::Kind::kNoChange);
  HoldOneSeat(event_id);
  sampler_.Sample(kT0 + 2);
  http::StreamStep next = response.stream->next();
  ASSERT_EQ(next.kind, http::StreamStep::Kind::kEvent);
  const json::object later = json::parse(next.data).as_object();
  EXPECT_EQ(later.at("t").to_number<std::int64_t>(), kT0 + 2);
  EXPECT_EQ(later.at("values").at("inventory.held").to_number<int>(), 1);
}

// Only the newest `events_max` events are sampled: an older one's series is empty, and the ring
// of an event pushed out by a newer one is freed.
TEST_F(StatsSeriesRoutesTest, OnlyTheNewestEventsAreSampled) {
  const std::string first = CreateEvent();
  const std::string second = CreateEvent();
  sampler_.Sample(kT0);
  EXPECT_TRUE(series_.Find(first));
  const std::string third = CreateEvent();
  sampler_.Sample(kT0 + 1);
  EXPECT_FALSE(series_.Find(first));
  const json::object dropped = GetJson(SeriesPath(first));
  EXPECT_TRUE(Times(dropped).empty());
  EXPECT_EQ(dropped.at("series").as_object().size(), StatsSeriesColumns().size());
  EXPECT_EQ(Times(GetJson(SeriesPath(second))), (std::vector<std::int64_t>{kT0, kT0 + 1}));
  EXPECT_EQ(Times(GetJson(SeriesPath(third))), std::vector<std::int64_t>{kT0 + 1});
}

// A column's value is the number at its dotted path; a missing step or a non-number is NaN (null
// in the JSON), as on a server without a waiting room.
TEST(StatsSampleTest, ReadsDottedPathsOfTheSnapshot) {
  const json::object stats =
      json::parse(R"({"queue": {"waiting": 12, "admitted_per_s": 2.5, "released": {"left": 3},
                      "settings": {"max_active": "many"}}, "inventory": 7})")
          .as_object();
  const std::vector<double> values = StatsSampleOf(stats);
  ASSERT_EQ(values.size(), StatsSeriesColumns().size());
  auto value = [&](std::string_view name) {
    for (std::size_t c = 0; c < values.size(); ++c) {
      if (StatsSeriesColumns()[c].name == name) return values[c];
    }
    ADD_FAILURE() << "no column " << name;
    return 0.0;
  };
  EXPECT_EQ(value("queue.waiting"), 12);
  EXPECT_EQ(value("queue.admitted_per_s"), 2.5);
  EXPECT_EQ(value("queue.released.left"), 3);
  EXPECT_TRUE(std::isnan(value("queue.released.idle")));
  EXPECT_TRUE(std::isnan(value("queue.settings.max_active")));  // not a number
  EXPECT_TRUE(std::isnan(value("inventory.held")));             // `inventory` is not an object
  EXPECT_TRUE(std::isnan(value("defense.allowed")));
  const std::string json = StatsSampleJson(SampleRow{kT0, values});
  EXPECT_NE(json.find(R"("queue.admitted_per_s":2.5)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("defense.allowed":null)"), std::string::npos) << json;
}

}  // namespace
}  // namespace boxoffice::api
