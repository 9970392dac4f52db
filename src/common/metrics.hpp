// Process metrics in the Prometheus text format (version 0.0.4). Counters, gauges and
// histograms are registered once by name and labels and then updated lock-free from any thread;
// `Render()` writes them all for GET /metrics. Families whose values live elsewhere (queue depth,
// seats available) are registered with `AddSampledFamily` and read when rendered. Every family
// goes through the registry, which writes the HELP and TYPE lines and escapes label values, so
// no caller formats exposition text by hand. One label name per concept: `event_id` for an
// event, `route`, `method`, `status` for HTTP.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boxoffice {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge };

// One sample of a sampled family: its labels and its value.
using MetricEmit = std::function<void(const MetricLabels& labels, double value)>;

class Counter {
 public:
  void Inc(std::uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  std::uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative buckets with fixed upper bounds (in the unit of the metric, seconds for latency).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  std::uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const;
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Non-cumulative count of bucket i; index upper_bounds().size() is +Inf.
  std::uint64_t BucketCount(std::size_t i) const {
    return buckets_[i].load(std::memory_order_relaxed);
  }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_nanos_{0};  // sum scaled by 1e9, so it can be atomic
};

// Latency buckets from 50 µs to 10 s.
std::vector<double> LatencyBucketsSeconds();

class MetricsRegistry {
 public:
  // Out of line because `Family` is complete only in metrics.cpp.
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Returns the existing metric when name and labels were registered before; references stay
  // valid for the registry's life. `help` is taken from the first registration of a name.
  Counter& GetCounter(std::string_view name, std::string_view help,
                      const MetricLabels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help,
                          const MetricLabels& labels = {},
                          std::vector<double> upper_bounds = LatencyBucketsSeconds());

  // A family whose samples are read at each Render: `collect` emits them (none is fine), outside
  // the registry's lock, so it may read other metrics. Names must not clash with other families.
  void AddSampledFamily(std::string_view name, std::string_view help, MetricType type,
                        std::function<void(const MetricEmit& emit)> collect);

  std::string Render() const;

 private:
  struct Family;
  Family& FamilyFor(std::string_view name, std::string_view help, std::string_view type);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
  struct SampledFamily {
    std::string name;
    std::string help;
    MetricType type;
    std::function<void(const MetricEmit&)> collect;
  };
  std::vector<SampledFamily> sampled_;
};

}  // namespace boxoffice
