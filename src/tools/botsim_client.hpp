// botsim's HTTP client: one keep-alive connection per simulated client, Beast over Asio
// coroutines, and the waits and proof-of-work solving its agents share (tools/botsim.hpp).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "defense/challenge.hpp"

namespace boxoffice::tools::botsim {

using SteadyClock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

// One answer as an agent sees it.
struct Reply {
  int status = 0;  // 0: no answer (transport error)
  std::string body;
  std::string error;  // transport error, or the API's error code
  int retry_after_s = 0;

  // The body parsed as a JSON object, on first use (null when it is not one). Agents read most
  // answers (seat maps, the event) for their status only, and parsing every one of them cost
  // more CPU than the rest of the simulator: a starved simulator sends late and blurs the rhythm
  // the server measures.
  const boost::json::object* Object() const;
  // A string field of the body; empty when there is none.
  std::string String(std::string_view key) const;

 private:
  mutable boost::json::value json_;
  mutable bool parsed_ = false;
};

// A keep-alive connection to the server under test, opened on first use and again after the
// server closed it.
class Connection {
 public:
  Connection(boost::asio::any_io_executor executor,
             const boost::asio::ip::tcp::resolver::results_type& endpoints)
      : stream_(std::move(executor)), endpoints_(endpoints) {}

  // Sends one request and reads its answer; a transport failure is a Reply with status 0.
  boost::asio::awaitable<Reply> Send(boost::beast::http::verb method, std::string target,
                                     std::string body, const Headers& headers);

 private:
  boost::asio::awaitable<Reply> SendOnce(boost::beast::http::verb method, const std::string& target,
                                         const std::string& body, const Headers& headers);

  boost::beast::tcp_stream stream_;
  boost::asio::ip::tcp::resolver::results_type endpoints_;
  boost::beast::flat_buffer buffer_;
  bool open_ = false;
};

SteadyClock::duration Seconds(double seconds);
boost::asio::awaitable<void> SleepUntil(SteadyClock::time_point deadline);
boost::asio::awaitable<void> Sleep(double seconds);

// Solves a proof of work on `pool` and resumes the awaiting coroutine on its own executor.
boost::asio::awaitable<std::optional<std::string>> SolveOn(boost::asio::thread_pool& pool,
                                                           Challenge challenge);

}  // namespace boxoffice::tools::botsim
