#include "common/metrics.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace boxoffice {
namespace {

// A small registry renders exactly: registration order, escaped labels, cumulative buckets.
TEST(MetricsTest, RendersExactExpositionText) {
  MetricsRegistry registry;
  registry.GetCounter("app_requests_total", "Requests served.", {{"route", "/a"}}).Inc(3);
  registry
      .GetCounter("app_requests_total", "ignored: help comes from the first registration",
                  {{"route", "/b\\\"\n"}})
      .Inc();
  registry.GetGauge("app_open", "Open things,\nand a \\ backslash.").Set(2.5);
  auto& histogram =
      registry.GetHistogram("app_latency_seconds", "Latency.", {{"route", "/a"}}, {0.1, 1});
  histogram.Observe(0.05);
  histogram.Observe(0.1);  // on the bound: "less than or equal"
  histogram.Observe(0.5);
  histogram.Observe(7);
  registry.GetHistogram("app_size_bytes", "Sizes.", {}, {10}).Observe(3);

  EXPECT_EQ(registry.Render(),
            "# HELP app_requests_total Requests served.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{route=\"/a\"} 3\n"
            "app_requests_total{route=\"/b\\\\\\\"\\n\"} 1\n"
            "# HELP app_open Open things,\\nand a \\\\ backslash.\n"
            "# TYPE app_open gauge\n"
            "app_open 2.5\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
            "app_latency_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
            "app_latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
            "app_latency_seconds_sum{route=\"/a\"} 7.65\n"
            "app_latency_seconds_count{route=\"/a\"} 4\n"
            "# HELP app_size_bytes Sizes.\n"
            "# TYPE app_size_bytes histogram\n"
            "app_size_bytes_bucket{le=\"10\"} 1\n"
            "app_size_bytes_bucket{le=\"+Inf\"} 1\n"
            "app_size_bytes_sum 3\n"
            "app_size_bytes_count 1\n");
}

// Registering the same name and labels twice returns the same metric, so callers may cache it.
TEST(MetricsTest, SameNameAndLabelsIsSameMetric) {
  MetricsRegistry registry;
  Counter& first = registry.GetCounter("c_total", "C.", {{"a", "1"}});
  Counter& again = registry.GetCounter("c_total", "C.", {{"a", "1"}});
  Counter& other = registry.GetCounter("c_total", "C.", {{"a", "2"}});
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &other);
}

// A name registered as one type cannot come back as another: that is a programming error.
TEST(MetricsTest, TypeMismatchThrows) {
  MetricsRegistry registry;
  registry.GetCounter("x", "X.");
  EXPECT_THROW(registry.GetGauge("x", "X."), std::logic_error);
}

// Latency bounds render as plain decimals, start at 50 µs and end at 10 s.
TEST(MetricsTest, LatencyBucketsRenderPlainDecimals) {
  MetricsRegistry registry;
  registry.GetHistogram("l_seconds", "L.");
  const std::string text = registry.Render();
  EXPECT_NE(text.find("l_seconds_bucket{le=\"0.00005\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("l_seconds_bucket{le=\"10\"} 0\n"), std::string::npos) << text;
  EXPECT_EQ(LatencyBucketsSeconds().front(), 0.00005);
  EXPECT_EQ(LatencyBucketsSeconds().back(), 10);
}

// Gauges move both ways and special values use the exposition spelling.
TEST(MetricsTest, GaugeAddAndSpecialValues) {
  MetricsRegistry registry;
  Gauge& gauge = registry.GetGauge("g", "G.");
  gauge.Add(3);
  gauge.Add(-1);
  EXPECT_EQ(gauge.Value(), 2);
  gauge.Set(std::numeric_limits<double>::infinity());
  EXPECT_NE(registry.Render().find("g +Inf\n"), std::string::npos);
}

// Sampled families come after the registered ones, are read at each render, may use the
// registry, and get their labels escaped like any other family.
TEST(MetricsTest, SampledFamiliesAreReadAtRenderAndEscaped) {
  MetricsRegistry registry;
  registry.GetCounter("a_total", "A.").Inc();
  double depth = 5;
  registry.AddSampledFamily("q", "Queue depth.", MetricType::kGauge, [&](const MetricEmit& emit) {
    registry.GetCounter("b_total", "B.");  // would deadlock if sampled under the lock
    emit({{"event_id", "evt_\"a\\b\n"}}, depth);
    emit({{"event_id", "evt_2"}}, 0.5);
  });
  registry.AddSampledFamily("none_total", "Nothing yet.", MetricType::kCounter,
                            [](const MetricEmit&) {});
  std::string text = registry.Render();
  EXPECT_TRUE(text.starts_with("# HELP a_total A.\n")) << text;
  EXPECT_NE(text.find("# HELP q Queue depth.\n# TYPE q gauge\nq{event_id=\"evt_\\\"a\\\\b\\n\"} 5\n"
                      "q{event_id=\"evt_2\"} 0.5\n"),
            std::string::npos)
      << text;
  EXPECT_TRUE(text.ends_with("# HELP none_total Nothing yet.\n# TYPE none_total counter\n"))
      << text;
  depth = 7;
  text = registry.Render();
  EXPECT_NE(text.find("} 7\n"), std::string::npos) << text;
}

// Updates and same-series registrations from many threads at once lose no increment.
TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  constexpr int kThreads = 8;
  constexpr int kIncrementsPerThread = 20'000;
  MetricsRegistry registry;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry] {
      Counter& counter = registry.GetCounter("hits_total", "Hits.", {{"k", "v"}});
      Histogram& histogram = registry.GetHistogram("lat_seconds", "Lat.", {}, {0.5});
      for (int i = 0; i < kIncrementsPerThread; ++i) {
        counter.Inc();
        histogram.Observe(i % 2 == 0 ? 0.25 : 0.75);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  constexpr std::uint64_t kTotal = kThreads * kIncrementsPerThread;
  EXPECT_EQ(registry.GetCounter("hits_total", "Hits.", {{"k", "v"}}).Value(), kTotal);
  Histogram& histogram = registry.GetHistogram("lat_seconds", "Lat.");
  EXPECT_EQ(histogram.Count(), kTotal);
  EXPECT_EQ(histogram.BucketCount(0), kTotal / 2);
  EXPECT_EQ(histogram.BucketCount(1), kTotal / 2);
  EXPECT_DOUBLE_EQ(histogram.Sum(), kTotal / 2 * 0.25 + kTotal / 2 * 0.75);
}

}  // namespace
}  // namespace boxoffice
