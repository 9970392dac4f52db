// The report of an `onsale` run: the JSON object of docs/onsale.md (version 1; the HTML page is
// rendered from exactly this object), built from what the run, the monitor and the audit saw,
// and the few lines printed at the end. The pieces are functions of plain data, so each can be
// tested apart from a run.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/onsale.hpp"
#include "tools/onsale_audit.hpp"
#include "tools/onsale_event.hpp"
#include "tools/onsale_metrics.hpp"
#include "tools/onsale_monitor.hpp"
#include "tools/onsale_run.hpp"

namespace boxoffice::tools::onsale {

inline constexpr int kReportVersion = 1;
// The simulator was the bottleneck when its CPU stayed this near a core this long, or requests
// left this late.
inline constexpr double kBottleneckCores = 0.9;
inline constexpr int kBottleneckSecondsMin = 3;
inline constexpr double kBottleneckLagMs = 100;
// After an outage the backlog of requests held back drains for about this long.
inline constexpr double kOutageRecoveryS = 10;

// The per-second series (`series`) for seconds 0..seconds-1: the simulator's counters and the
// server's samples side by side, null where a sample is missing.
boost::json::object SeriesJson(const std::vector<RunSecond>& run,
                               const std::vector<ServerSample>& server, std::size_t seconds);
// `latency_ms`: per step, p50/p95/p99 per second and the whole run.
boost::json::object LatencyJson(const RunMetrics& metrics, std::size_t seconds);
// `time_in_queue_s`: summary and histogram of `samples` (seconds).
boost::json::object TimeInQueueJson(std::vector<double> samples);

struct PhaseBounds {
  std::string name;
  double from_s = 0;
  double to_s = 0;
};
// prequeue (before the opening; none when it opened at once), spike, tail (to the last
// arrival), drain (to the end), each cut to the run's duration.
std::vector<PhaseBounds> Phases(double open_s, double spike_end_s, double last_arrival_s,
                                double duration_s);
// Each phase with the server's peak memory and CPU seconds and the simulator's CPU seconds in it.
boost::json::array PhasesJson(const std::vector<PhaseBounds>& phases,
                              const std::vector<ServerSample>& server);

// Whether the simulator held the run back, and why (empty when not): its CPU near a core for
// seconds on end, or requests sent late (per second p99) outside outages and their recovery.
std::string BottleneckReason(const std::vector<ServerSample>& server,
                             const std::vector<RunSecond>& run,
                             const std::vector<std::pair<double, double>>& outages,
                             std::uint64_t borrowers_waiting_max, std::size_t connections);

struct AuditResult {
  std::vector<Check> checks;
  std::optional<double> kendall_tau;
  bool passed() const;
};

struct ReportInput {
  const OnsaleOptions& options;
  std::string started_at;  // RFC 3339
  const EventFacts& event;
  const Crowd& crowd;
  const AuditResult& audit;
  std::optional<double> sold_out_after_s;
  std::optional<double> all_knew_after_s;
  std::optional<std::uint64_t> seats_sold;  // by the server during the run
  double sim_cpu_s = 0;
  double sim_memory_bytes = 0;  // the simulator's peak resident memory, less what it had before
};

boost::json::object BuildReport(const ReportInput& input);
// The summary and the audit's verdicts, for the terminal.
std::string SummaryText(const boost::json::object& report);

}  // namespace boxoffice::tools::onsale
