// The server's side of an `onsale` run (tools/onsale.hpp): once a second the operator's stats of
// the event (GET /v1/events/{id}/stats: queue, inventory, orders) and the process's own gauges
// from GET /metrics (resident memory, CPU seconds), every few seconds the event itself (the
// admission rate in force, the shuffle's published seed), and the simulator's own CPU time, on
// connections of their own so a busy pool never delays a sample. Fields the server does not
// send (yet) stay empty.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/http_client.hpp"

namespace boxoffice::tools::onsale {

// The names of the process gauges in /metrics (src/app/serve.cpp).
inline constexpr std::string_view kRssMetric = "process_resident_memory_bytes";
inline constexpr std::string_view kCpuMetric = "process_cpu_seconds_total";
inline constexpr std::string_view kStartTimeMetric = "process_start_time_seconds";

struct ServerSample {
  double t_s = 0;  // seconds since the run started (a whole number)
  // GET /v1/events/{id}/stats
  std::optional<double> queue_joined, queue_waiting, queue_served, queue_active, queue_admitted,
      queue_abandoned;
  std::optional<double> available, held, sold, capacity;
  std::optional<double> orders_confirmed, orders_completed, outbox_pending;
  // GET /metrics
  std::optional<double> rss_bytes, cpu_seconds;
  // When the server process answering started, in seconds of the run (negative: before it).
  std::optional<double> server_started_s;
  // GET /v1/events/{id}, the latest read
  std::optional<double> admission_rate_per_s;
  // The simulator's CPU seconds so far (user + system, every thread).
  double sim_cpu_s = 0;
};

// Reads what it knows of a stats answer into `sample` (tolerant of missing fields; the queue's
// object is read at the top level or inside `inventory`).
void ReadStats(const boost::json::object& stats, ServerSample& sample);
// The value of the first sample of metric `name` in Prometheus text; nullopt when absent.
std::optional<double> MetricValue(std::string_view text, std::string_view name);
// This process's CPU seconds so far.
double ProcessCpuSeconds();
// When the server started again during the run, in seconds of the run: each sample whose
// server_started_s differs from the one before marks a restart at the new start time. The fans
// see an outage only when it outlasts their requests' backoff; the server's own start time shows
// every restart the monitor has a sample on either side of.
std::vector<double> ServerRestarts(const std::vector<ServerSample>& samples);

class Monitor {
 public:
  Monitor(boost::asio::any_io_executor executor,
          const boost::asio::ip::tcp::resolver::results_type& endpoints, std::string operator_key,
          std::string event_id, SteadyClock::time_point start);

  // Samples once a second, at whole seconds after `start`, until Stop().
  boost::asio::awaitable<void> Run();
  void Stop();

  const std::vector<ServerSample>& samples() const { return samples_; }
  const ServerSample* latest() const { return samples_.empty() ? nullptr : &samples_.back(); }
  // The event's `queue` object as last read (empty before the first read).
  const boost::json::object& event_queue() const { return event_queue_; }

 private:
  boost::asio::awaitable<void> Sample(double t_s, bool read_event);

  Connection stats_connection_;
  Connection metrics_connection_;
  boost::asio::steady_timer timer_;
  std::string operator_key_;
  std::string event_id_;
  SteadyClock::time_point start_;
  double start_unix_s_;  // `start` on the wall clock, to place the server's start time in the run
  std::vector<ServerSample> samples_;
  boost::json::object event_queue_;
  std::optional<double> admission_rate_per_s_;
  bool stopped_ = false;
};

}  // namespace boxoffice::tools::onsale
