// The live part of an `onsale` run (tools/onsale.hpp): the crowd of fans played against the
// server on the connection pool, the monitor sampling the server, the progress line, the proof-of
// -work solver, and the bots (botsim's agents) mixed in with --bot-share. What it saw is kept for
// the audit and the report.
#pragma once

#include <time.h>

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/botsim.hpp"
#include "tools/botsim_agent.hpp"
#include "tools/botsim_population.hpp"
#include "tools/onsale.hpp"
#include "tools/onsale_audit.hpp"
#include "tools/onsale_event.hpp"
#include "tools/onsale_fan.hpp"
#include "tools/onsale_metrics.hpp"
#include "tools/onsale_monitor.hpp"
#include "tools/onsale_plan.hpp"
#include "tools/onsale_pool.hpp"

namespace boxoffice::tools::onsale {

// Personas: as many of botsim's humans as it takes to have each kind of page it plans (it
// varies telemetry per 100 humans).
inline constexpr unsigned kPersonas = 100;

struct CrowdSetup {
  const OnsaleOptions& options;
  boost::asio::ip::tcp::resolver::results_type endpoints;
  std::string operator_key;
  EventFacts event;
  SteadyClock::time_point start;  // second 0 of the run
  double open_s = 0;              // the on-sale opens this long after `start`
};

class Crowd final : private JourneyObserver {
 public:
  Crowd(boost::asio::io_context& io, CrowdSetup setup);
  ~Crowd() override;

  // Plays every fan until all are done or --duration-max-s passed; returns when the I/O is
  // drained (at most a grace period after the end).
  void Run();

  const ArrivalSchedule& schedule() const { return schedule_; }
  const std::vector<Fan>& fans() const { return fans_; }
  const std::vector<ConfirmedOrder>& orders() const { return orders_; }
  const RunMetrics& metrics() const { return metrics_; }
  const Monitor& monitor() const { return monitor_; }
  std::optional<double> first_sold_out_seen_s() const { return first_sold_out_seen_s_; }
  double duration_s() const { return duration_s_; }
  bool cut() const { return cut_; }  // ended by --duration-max-s
  const std::array<std::uint64_t, kOutcomeCount>& outcomes() const { return outcomes_; }
  std::uint64_t admitted() const { return admitted_; }
  std::uint64_t in_flight_max() const { return in_flight_max_; }
  std::uint64_t streams_opened() const { return streams_opened_; }
  std::uint64_t solves() const { return solves_; }
  // CPU seconds the proof-of-work thread has used.
  double solver_cpu_s() const;
  // The most fans ever waiting for a free connection at once.
  std::uint64_t borrowers_waiting_max() const { return borrowers_waiting_max_; }
  std::uint64_t bots() const { return bot_plans_.size(); }
  // Per kind of bot: {"bots", "held", "blocked", "challenged", "stopped": {why: n}}.
  boost::json::object BotsJson() const;
  // The headers fan `index` sends (its address, browser, session): the audit reads a buyer's
  // order as the buyer when the operator's reads are rate limited.
  Headers BuyerHeaders(std::uint64_t index) const;

 private:
  // JourneyObserver
  void PhaseChanged(const Fan& fan, Phase from, Phase to) override;
  void SoldOutSeen(const Fan& fan, double now_s) override;
  void OrderConfirmed(const Fan& fan, const boost::json::object& order, double now_s) override;
  void OrderCompleted(const Fan& fan, const boost::json::object& order, double now_s) override;

  double Now() const;
  boost::asio::awaitable<void> Serve(Connection& connection, FanId id);
  boost::asio::awaitable<void> ServeStream(Connection& connection, FanId id);
  boost::asio::awaitable<void> Solve(FanId id, Challenge challenge);
  void Apply(FanId id, Decision decision);
  void Done();
  void StartBot(FanId id);
  boost::asio::awaitable<void> RunBot(FanId id, std::uint64_t ordinal);
  boost::asio::awaitable<void> Progress();
  std::string ProgressLine() const;
  void Finish(bool cut);
  // After the end: stops waiting for bots and solves once none is left.
  void MaybeDrained();
  void WarnIfLimitedAsOne(int status);

  boost::asio::io_context& io_;
  const OnsaleOptions& options_;
  CrowdSetup setup_;
  ArrivalSchedule schedule_;
  std::vector<Persona> personas_;
  Journey journey_;
  std::vector<Fan> fans_;
  ConnectionPool pool_;
  Monitor monitor_;
  RunMetrics metrics_;
  boost::asio::thread_pool solver_{1};
  clockid_t solver_clock_{};  // the solver thread's CPU clock
  boost::asio::steady_timer deadline_timer_;
  boost::asio::steady_timer progress_timer_;
  boost::asio::steady_timer drain_timer_;
  std::vector<ConfirmedOrder> orders_;
  std::array<std::uint64_t, kPhaseCount> phases_{};
  std::array<std::uint64_t, kOutcomeCount> outcomes_{};
  std::optional<double> first_sold_out_seen_s_;
  std::uint64_t done_ = 0;
  std::uint64_t admitted_ = 0;
  std::uint64_t in_flight_max_ = 0;
  std::uint64_t streams_open_ = 0;
  std::uint64_t streams_max_ = 0;
  std::uint64_t streams_opened_ = 0;
  std::uint64_t solves_ = 0;
  std::uint64_t solving_ = 0;
  std::uint64_t borrowers_waiting_max_ = 0;
  std::uint64_t session_answers_ = 0;
  std::uint64_t session_limited_ = 0;
  bool warned_limited_ = false;
  bool finished_ = false;
  bool cut_ = false;
  double duration_s_ = 0;
  bool progress_tty_ = false;
  // Bots: botsim's agents, each on a connection of its own, a bounded number at once.
  BotsimOptions bot_options_;
  std::vector<botsim::AgentPlan> bot_plans_;
  std::vector<botsim::AgentOutcome> bot_outcomes_;
  std::unique_ptr<botsim::Shared> bot_shared_;
  std::deque<std::pair<FanId, std::uint64_t>> bot_backlog_;
  std::size_t bots_running_ = 0;
  std::size_t bots_at_once_ = 0;
};

}  // namespace boxoffice::tools::onsale
