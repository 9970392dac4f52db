// One simulated client's run against the server: a session, the event page and some browsing,
// the waiting room, then a hold (tools/botsim.hpp). What it meets on the way is its outcome.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <string>
#include <string_view>

#include "tools/botsim.hpp"
#include "tools/botsim_population.hpp"

namespace boxoffice::tools::botsim {

// Sections of the event botsim creates; agents browse a random one's seat map.
inline constexpr int kEventSections = 100;

// Why an agent ended without a hold.
enum class Stop { kNone, kBlocked, kChallenge, kRateLimited, kNotAdmitted, kSoldOut, kError };

std::string_view StopName(Stop stop);

struct AgentOutcome {
  bool held = false;
  bool challenged = false;  // at least one challenge_required
  bool solved = false;      // passed at least one challenge with a solution
  bool blocked = false;     // at least one 403 blocked
  int rate_limited = 0;     // 429s met
  Stop stop = Stop::kNone;  // why it ended without a hold
  std::string error;        // for kError
  int requests = 0;
  double seconds = 0;  // from its first request to its end
};

// What every agent of a run shares.
struct Shared {
  const BotsimOptions& options;
  boost::asio::ip::tcp::resolver::results_type endpoints;
  std::string event_id;
  std::string run_id;                // prefix of every request id: "bs<seed>"
  boost::asio::thread_pool& solver;  // solves proofs of work off the agents' thread
};

// Runs the agent `plan` describes on `executor` until it holds seats or stops; fills `outcome`
// (all but `seconds`, which the caller measures).
boost::asio::awaitable<void> RunAgent(Shared& shared, const AgentPlan& plan, AgentOutcome& outcome,
                                      boost::asio::any_io_executor executor);

}  // namespace boxoffice::tools::botsim
