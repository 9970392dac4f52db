// What an `onsale` run measures on its own side (tools/onsale.hpp), per second of the run and for
// the whole run: arrivals, requests, errors and orders per second; each step's latency counted
// from the request's INTENDED send time (so a slow server, or a starved simulator, is not hidden
// by the time a request waited for a connection), and the send lag (actual send - intended)
// apart; errors by code; and outages, stretches with transport errors and no answer at all.
// Memory is fixed per second (a few hundred bytes), not per request. Times are seconds since the
// run started and must not go backwards between calls.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/onsale_fan.hpp"
#include "tools/onsale_statistics.hpp"

namespace boxoffice::tools::onsale {

// A stretch without any answer this long, with transport errors in it, is an outage.
inline constexpr double kOutageMinS = 0.5;

struct StepSecond {
  std::optional<float> p50_ms, p95_ms, p99_ms;
};

struct RunSecond {
  std::uint32_t arrivals = 0;
  std::uint32_t requests = 0;  // sent in that second
  std::uint32_t errors = 0;
  std::uint32_t orders = 0;  // confirmed in that second
  std::optional<float> send_lag_p99_ms;
  std::array<StepSecond, kRequestStepCount> latency;
};

class RunMetrics {
 public:
  void Arrived(double now_s);
  void Sent(double intended_s, double sent_s);
  // `status` 0: a transport failure; `code`: the API's error code of an error answer; `error`:
  // whether the answer counts as an error.
  void Answered(Step step, double intended_s, double answered_s, int status, std::string_view code,
                bool error);
  // A request answered `seconds` after it actually left: the server's own time (and the
  // network's), without the wait for the intended time or for a connection.
  void Served(double seconds);
  void OrderConfirmed(double now_s);
  // Closes every second before `now_s` (their percentiles are final).
  void Flush(double now_s);

  const std::vector<RunSecond>& seconds() const { return seconds_; }
  const LatencyHistogram& latency(Step step) const { return all_latency_[StepIndex(step)]; }
  const LatencyHistogram& send_lag() const { return all_lag_; }
  const LatencyHistogram& service() const { return service_; }
  const std::map<std::string, std::uint64_t>& errors_by_code() const { return errors_by_code_; }
  std::uint64_t requests() const { return requests_; }
  std::uint64_t errors() const { return errors_; }
  std::uint64_t transport_errors() const { return transport_errors_; }
  std::uint64_t requests_per_s_max() const;
  double outage_s() const { return outage_s_; }
  std::uint32_t outages() const { return outages_; }
  // Each outage: from the last answer before it to the first after it.
  const std::vector<std::pair<double, double>>& outage_spans() const { return outage_spans_; }

 private:
  RunSecond& At(double now_s);

  std::vector<RunSecond> seconds_;
  std::size_t open_ = 0;  // the second whose histograms are still filling
  std::array<LatencyHistogram, kRequestStepCount> open_latency_;
  std::array<LatencyHistogram, kRequestStepCount> all_latency_;
  LatencyHistogram open_lag_;
  LatencyHistogram all_lag_;
  LatencyHistogram service_;
  std::map<std::string, std::uint64_t> errors_by_code_;
  std::uint64_t requests_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t transport_errors_ = 0;
  double last_answer_s_ = 0;
  bool in_outage_ = false;
  double outage_from_s_ = 0;
  double outage_s_ = 0;
  std::uint32_t outages_ = 0;
  std::vector<std::pair<double, double>> outage_spans_;
};

}  // namespace boxoffice::tools::onsale
