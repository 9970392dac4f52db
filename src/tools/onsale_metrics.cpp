#include "tools/onsale_metrics.hpp"

#include <algorithm>
#include <cmath>

namespace boxoffice::tools::onsale {
namespace {

std::optional<float> AsFloat(std::optional<double> value) {
  return value ? std::optional<float>(static_cast<float>(*value)) : std::nullopt;
}

}  // namespace

void RunMetrics::Arrived(double now_s) { ++At(now_s).arrivals; }

void RunMetrics::Sent(double intended_s, double sent_s) {
  RunSecond& second = At(sent_s);
  ++second.requests;
  ++requests_;
  const double lag_ms = std::max(0.0, (sent_s - intended_s) * 1e3);
  open_lag_.Add(lag_ms);
  all_lag_.Add(lag_ms);
}

void RunMetrics::Answered(Step step, double intended_s, double answered_s, int status,
                          std::string_view code, bool error) {
  RunSecond& second = At(answered_s);
  if (error) {
    ++second.errors;
    ++errors_;
  }
  if (status == 0) {
    ++transport_errors_;
    ++errors_by_code_["transport"];
    if (!in_outage_) {
      in_outage_ = true;
      outage_from_s_ = last_answer_s_;
    }
    return;
  }
  if (in_outage_) {
    const double gap_s = answered_s - outage_from_s_;
    if (gap_s >= kOutageMinS) {
      outage_s_ += gap_s;
      ++outages_;
      outage_spans_.emplace_back(outage_from_s_, answered_s);
    }
    in_outage_ = false;
  }
  last_answer_s_ = answered_s;
  if (status >= 400) {
    ++errors_by_code_[code.empty() ? "http_" + std::to_string(status) : std::string(code)];
  }
  const double latency_ms = std::max(0.0, (answered_s - intended_s) * 1e3);
  open_latency_[StepIndex(step)].Add(latency_ms);
  all_latency_[StepIndex(step)].Add(latency_ms);
}

void RunMetrics::Served(double seconds) { service_.Add(std::max(0.0, seconds * 1e3)); }

void RunMetrics::OrderConfirmed(double now_s) { ++At(now_s).orders; }

void RunMetrics::Flush(double now_s) { At(now_s); }

std::uint64_t RunMetrics::requests_per_s_max() const {
  std::uint64_t max = 0;
  for (const RunSecond& second : seconds_) max = std::max<std::uint64_t>(max, second.requests);
  return max;
}

RunSecond& RunMetrics::At(double now_s) {
  const auto index = static_cast<std::size_t>(std::max(0.0, std::floor(now_s)));
  if (seconds_.size() <= index) seconds_.resize(index + 1);
  // Close the seconds before this one: their percentiles are final.
  while (open_ < index) {
    RunSecond& closed = seconds_[open_];
    for (std::size_t step = 0; step < kRequestStepCount; ++step) {
      const LatencyHistogram& histogram = open_latency_[step];
      closed.latency[step] =
          StepSecond{AsFloat(histogram.Percentile(0.50)), AsFloat(histogram.Percentile(0.95)),
                     AsFloat(histogram.Percentile(0.99))};
      open_latency_[step].Clear();
    }
    closed.send_lag_p99_ms = AsFloat(open_lag_.Percentile(0.99));
    open_lag_.Clear();
    ++open_;
  }
  return seconds_[index];
}

}  // namespace boxoffice::tools::onsale
