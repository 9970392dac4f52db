#include "tools/onsale_event.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <set>

#include "tools/onsale_monitor.hpp"

namespace boxoffice::tools::onsale {
namespace {

namespace json = boost::json;

// The event holds exactly the seats asked for, in rows of at most 50, sections of at most 20
// rows, and three price tiers once it has three sections.
TEST(OnsaleEvent, DefinitionHoldsTheSeatsAskedFor) {
  for (std::uint32_t seats : {1u, 49u, 50u, 51u, 120u, 500u, 50'000u, 200'000u}) {
    OnsaleOptions options;
    options.seats = seats;
    const json::object definition = EventDefinition(options, "2030-01-01T00:00:00Z");
    std::uint64_t total = 0;
    std::set<std::string> tiers;
    const json::array& sections = definition.at("sections").as_array();
    ASSERT_LE(sections.size(), 2'000u);
    for (const json::value& section : sections) {
      tiers.insert(std::string(section.at("tier").as_string()));
      const json::array& rows = section.at("rows").as_array();
      ASSERT_GE(rows.size(), 1u) << seats;
      ASSERT_LE(rows.size(), kRowsPerSectionMax) << seats;
      for (const json::value& row : rows) {
        const std::int64_t in_row = row.at("seats").to_number<std::int64_t>();
        ASSERT_GE(in_row, 1);
        ASSERT_LE(in_row, kSeatsPerRow);
        total += in_row;
      }
    }
    EXPECT_EQ(total, seats);
    EXPECT_EQ(definition.at("price_tiers").as_array().size(), tiers.size());
    if (seats >= 150) {
      EXPECT_EQ(tiers.size(), 3u) << seats;
    }
    EXPECT_EQ(definition.at("onsale_at").as_string(), "2030-01-01T00:00:00Z");
  }
}

// The options become the event's queue, limits, hold TTL and challenge policy.
TEST(OnsaleEvent, DefinitionCarriesTheOptions) {
  OnsaleOptions options;
  options.admission_rate_per_s = 123;
  options.max_active = 77;
  options.per_order = 4;
  options.policy = "shuffle_prequeue";
  options.challenge = "off";
  options.hold_ttl_s = 90;
  const json::object definition = EventDefinition(options, "");
  EXPECT_FALSE(definition.contains("onsale_at"));
  const json::object& queue = definition.at("queue").as_object();
  EXPECT_EQ(queue.at("admission_rate_per_s").to_number<std::int64_t>(), 123);
  EXPECT_EQ(queue.at("max_active").to_number<std::int64_t>(), 77);
  EXPECT_EQ(queue.at("policy").as_string(), "shuffle_prequeue");
  EXPECT_EQ(definition.at("limits").at("per_order").to_number<std::int64_t>(), 4);
  EXPECT_EQ(definition.at("hold_ttl_s").to_number<std::int64_t>(), 90);
  EXPECT_EQ(definition.at("defense").at("challenge").as_string(), "off");
}

// An event's answer reads into the facts the run needs, the shuffle's commitment included.
TEST(OnsaleEvent, FactsOfAnEvent) {
  const json::value event = json::parse(R"({"id": "evt_1", "seat_count": 500,
      "onsale_at": "2030-01-01T00:00:10Z", "limits": {"per_order": 6, "per_customer": 6},
      "queue": {"enabled": true, "policy": "shuffle_prequeue", "admission_rate_per_s": 200,
                "seed_sha256": "abc"}})");
  const std::optional<EventFacts> facts = ReadEventFacts(event.as_object());
  ASSERT_TRUE(facts);
  EXPECT_EQ(facts->id, "evt_1");
  EXPECT_EQ(facts->seat_count, 500u);
  EXPECT_EQ(facts->per_order, 6);
  EXPECT_TRUE(facts->queue_enabled);
  EXPECT_EQ(facts->policy, "shuffle_prequeue");
  EXPECT_EQ(facts->seed_sha256, "abc");
  EXPECT_FALSE(facts->seed);
  EXPECT_TRUE(facts->onsale_at);
  EXPECT_EQ(facts->admission_rate_per_s, 200);
  EXPECT_FALSE(ReadEventFacts(json::object{{"name", "no id"}}));
}

// The process gauges are found in Prometheus text, labelled or not, and nothing else is.
TEST(OnsaleMonitor, MetricValueReadsPrometheusText) {
  const std::string text =
      "# HELP process_resident_memory_bytes Resident memory.\n"
      "# TYPE process_resident_memory_bytes gauge\n"
      "process_resident_memory_bytes_total 1\n"
      "process_resident_memory_bytes 1.25e+08\n"
      "process_cpu_seconds_total{kind=\"all\"} 12.5\n";
  EXPECT_EQ(MetricValue(text, kRssMetric), 1.25e8);
  EXPECT_EQ(MetricValue(text, kCpuMetric), 12.5);
  EXPECT_FALSE(MetricValue(text, "boxoffice_events"));
  EXPECT_FALSE(MetricValue("", kRssMetric));
}

// A restart is each change of the server's start time between samples, placed at the new start
// time; samples without it (a server that does not publish it, a failed read) change nothing.
TEST(OnsaleMonitor, RestartsAreReadFromTheServersStartTime) {
  auto at = [](double t_s, std::optional<double> started_s) {
    ServerSample sample;
    sample.t_s = t_s;
    sample.server_started_s = started_s;
    return sample;
  };
  EXPECT_TRUE(ServerRestarts({at(0, -3.2), at(1, -3.2), at(2, std::nullopt)}).empty());
  const std::vector<double> restarts = ServerRestarts(
      {at(0, -3.2), at(1, -3.2), at(2, std::nullopt), at(3, 2.4), at(4, 2.4), at(5, 4.9)});
  EXPECT_EQ(restarts, (std::vector<double>{2.4, 4.9}));
  EXPECT_TRUE(ServerRestarts({}).empty());
}

// Stats are read where they are, missing fields stay empty; the queue's object may sit at the
// top or inside `inventory`.
TEST(OnsaleMonitor, StatsAreReadTolerantly) {
  ServerSample top;
  ReadStats(json::parse(R"({"inventory": {"available": 10, "held": 2, "sold": 3},
                            "queue": {"waiting": 7, "admitted": 9}})")
                .as_object(),
            top);
  EXPECT_EQ(top.available, 10);
  EXPECT_EQ(top.held, 2);
  EXPECT_EQ(top.queue_waiting, 7);
  EXPECT_EQ(top.queue_admitted, 9);
  EXPECT_FALSE(top.queue_active);
  EXPECT_FALSE(top.orders_completed);
  ServerSample nested;
  ReadStats(json::parse(R"({"inventory": {"queue": {"active": 4}}})").as_object(), nested);
  EXPECT_EQ(nested.queue_active, 4);
}

}  // namespace
}  // namespace boxoffice::tools::onsale
