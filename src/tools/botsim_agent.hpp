// One simulated client's run against the server: a session, the event page and some browsing,
// the waiting room, then a hold (tools/botsim.hpp). What it meets on the way is its outcome.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/verb.hpp>
#include <random>
#include <string>
#include <string_view>

#include "tools/botsim.hpp"
#include "tools/botsim_population.hpp"
#include "tools/http_client.hpp"

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

// One simulated client: runs the walk `plan` describes on `executor` until it holds seats or
// stops, and fills `outcome` (all but `seconds`, which the caller measures). It must outlive Run().
class Agent {
 public:
  Agent(Shared& shared, const AgentPlan& plan, AgentOutcome& outcome,
        boost::asio::any_io_executor executor);

  boost::asio::awaitable<void> Run();

 private:
  static int RetryAfter(const Reply& reply);
  bool Expired(double wait_s = 0) const;
  // Whether the reply has the status wanted; if not, records why the agent stops.
  bool Ok(const Reply& reply, int status);
  // The pause before the next request, by the plan's rhythm, counted from the last one sent.
  boost::asio::awaitable<void> Think();
  Headers BaseHeaders();
  // Sends a request as the agent would: waits out 429s (a few times), and on a gated route
  // answers a challenge when it can solve one. Sets outcome_.stop when it gives up.
  boost::asio::awaitable<Reply> Call(boost::beast::http::verb method, std::string target,
                                     std::string body, bool gated, Headers extra = {});

  Shared& shared_;
  const AgentPlan& plan_;
  AgentOutcome& outcome_;
  Connection connection_;
  std::mt19937_64 random_;
  SteadyClock::time_point deadline_;
  SteadyClock::time_point last_sent_;  // when Call() last sent a request: Think() counts from it
  std::string session_token_;
};

}  // namespace boxoffice::tools::botsim
