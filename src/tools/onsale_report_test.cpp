#include "tools/onsale_report.hpp"

#include <gtest/gtest.h>

namespace boxoffice::tools::onsale {
namespace {

namespace json = boost::json;

ServerSample At(double t_s, double admitted, double cpu, double sim_cpu) {
  ServerSample sample;
  sample.t_s = t_s;
  sample.queue_admitted = admitted;
  sample.cpu_seconds = cpu;
  sample.sim_cpu_s = sim_cpu;
  sample.queue_waiting = 100 - t_s;
  return sample;
}

// Every series has one value per second; rates are deltas between samples, null where a
// sample is missing, and the simulator's counters line up with the seconds.
TEST(OnsaleReport, SeriesAreAlignedPerSecond) {
  std::vector<RunSecond> run(3);
  run[0].arrivals = 5;
  run[1].requests = 40;
  run[2].orders = 2;
  const std::vector<ServerSample> server = {At(0, 0, 1, 0), At(1, 150, 1.5, 0.25),
                                            At(3, 550, 2.5, 1.25)};
  const json::object series = SeriesJson(run, server, 5);
  for (const auto& [name, values] : series) {
    EXPECT_EQ(values.as_array().size(), 5u) << name;
  }
  EXPECT_EQ(series.at("arrivals").at(0).to_number<std::int64_t>(), 5);
  EXPECT_EQ(series.at("requests_per_s").at(1).to_number<std::int64_t>(), 40);
  EXPECT_EQ(series.at("orders_per_s").at(2).to_number<std::int64_t>(), 2);
  EXPECT_EQ(series.at("orders_per_s").at(4).to_number<std::int64_t>(), 0);
  const json::array& admitted = series.at("admitted_per_s").as_array();
  EXPECT_TRUE(admitted.at(0).is_null());
  EXPECT_EQ(admitted.at(1).to_number<double>(), 150);
  EXPECT_TRUE(admitted.at(2).is_null());               // no sample at 2 s
  EXPECT_EQ(admitted.at(3).to_number<double>(), 200);  // 400 over the two seconds since
  EXPECT_EQ(series.at("server_cpu_per_s").at(1).to_number<double>(), 0.5);
  EXPECT_EQ(series.at("sim_cpu_per_s").at(3).to_number<double>(), 0.5);
  EXPECT_EQ(series.at("queue_waiting").at(3).to_number<double>(), 97);
  EXPECT_TRUE(series.at("server_rss_bytes").at(0).is_null());
}

// Phases follow the curve and stop at the run's end; without a pre-queue there is none.
TEST(OnsaleReport, PhasesFollowTheCurve) {
  std::vector<PhaseBounds> phases = Phases(10, 20, 49.5, 80);
  ASSERT_EQ(phases.size(), 4u);
  EXPECT_EQ(phases[0].name, "prequeue");
  EXPECT_EQ(phases[1].name, "spike");
  EXPECT_EQ(phases[1].from_s, 10);
  EXPECT_EQ(phases[2].to_s, 49.5);
  EXPECT_EQ(phases[3].name, "drain");
  EXPECT_EQ(phases[3].to_s, 80);
  phases = Phases(0, 10, 39, 15);
  ASSERT_EQ(phases.size(), 2u);  // cut short by --duration-max-s
  EXPECT_EQ(phases[0].name, "spike");
  EXPECT_EQ(phases[1].to_s, 15);
  const json::array rows =
      PhasesJson(Phases(0, 2, 3, 3), {At(0, 0, 1, 0), At(1, 0, 1.5, 0.5), At(2, 0, 3, 1)});
  EXPECT_EQ(rows.at(0).at("server_cpu_s").to_number<double>(), 2);
  EXPECT_EQ(rows.at(0).at("sim_cpu_s").to_number<double>(), 1);
}

// The simulator is the bottleneck when it burned a core for seconds on end, or sent late
// outside an outage.
TEST(OnsaleReport, BottleneckWhenNearACoreOrLate) {
  std::vector<ServerSample> busy;
  for (int t = 0; t < 6; ++t) busy.push_back(At(t, 0, 0, t * 0.95));
  EXPECT_NE(BottleneckReason(busy, {}, {}, 0, 256).find("near a core"), std::string::npos);
  std::vector<ServerSample> idle;
  for (int t = 0; t < 6; ++t) idle.push_back(At(t, 0, 0, t * 0.3));
  std::vector<RunSecond> late(30);
  for (int t = 10; t < 20; ++t) late[t].send_lag_p99_ms = 400;
  EXPECT_EQ(BottleneckReason(idle, {}, {}, 0, 256), "");
  EXPECT_NE(BottleneckReason(idle, late, {}, 900, 256).find("256 connections"), std::string::npos);
  const std::vector<std::pair<double, double>> outage = {{9, 12}};
  EXPECT_EQ(BottleneckReason(idle, late, outage, 900, 256), "");  // the outage's backlog
}

// Time in queue: summary and a histogram with one count more than bounds.
TEST(OnsaleReport, TimeInQueueHistogram) {
  const json::object out = TimeInQueueJson({0.5, 3, 3, 30, 2000});
  EXPECT_EQ(out.at("count").as_uint64(), 5u);
  const json::array& counts = out.at("histogram").at("counts").as_array();
  EXPECT_EQ(counts.size(), out.at("histogram").at("bounds").as_array().size() + 1);
  EXPECT_EQ(counts.at(0).as_uint64(), 1u);
  EXPECT_EQ(counts.back().as_uint64(), 1u);
  EXPECT_TRUE(TimeInQueueJson({}).at("p50").is_null());
}

}  // namespace
}  // namespace boxoffice::tools::onsale
