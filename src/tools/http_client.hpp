// The simulators' HTTP client (botsim, onsale): keep-alive connections to the server under test,
// Beast over Asio coroutines, the waits their clients share, reading a stream of server-sent
// events, and solving a proof of work off the I/O thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "defense/challenge.hpp"

namespace boxoffice::tools {

using SteadyClock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Answers larger than this are refused as a transport error (a seat map of 200,000 seats and
// the gateway simulator's records of a big run stay below it).
inline constexpr std::size_t kResponseBodyDefaultMaxBytes = 16 << 20;
// A request without its answer this long has failed.
inline constexpr auto kRequestTimeout = std::chrono::seconds(30);

// One answer as a client sees it.
struct Reply {
  int status = 0;  // 0: no answer (transport error)
  std::string body;
  std::string error;  // transport error, or the API's error code
  int retry_after_s = 0;
  // With status 0: the connection could not even be opened (the server is down), so the request
  // certainly did not reach it.
  bool connect_failed = false;

  // The body parsed as a JSON object, on first use (null when it is not one). Clients read most
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

// How a stream of server-sent events ended.
enum class StreamEnd {
  kNotStream,    // the answer was not a 200 stream; `reply` holds it as Send would
  kServerEnded,  // the server ended the stream; the connection stays usable
  kStopped,      // the reader asked to stop; the connection was closed
  kDeadline,     // the caller's deadline passed; the connection was closed
  kBroken,       // a transport error before or during the stream (`reply.status` 0 before it)
};

struct StreamResult {
  Reply reply;
  StreamEnd end = StreamEnd::kNotStream;
};

// Called with each event's `data` (lines joined by '\n'); returns false to stop reading.
using StreamEventHandler = std::function<bool(std::string_view data)>;

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

  // Sends a GET whose answer is a stream of server-sent events (text/event-stream, chunked) and
  // hands each event's data to `on_event` until the server ends the stream, `on_event` returns
  // false, or `deadline` passes. Comments (keep-alives) are skipped.
  boost::asio::awaitable<StreamResult> Stream(std::string target, const Headers& headers,
                                              SteadyClock::time_point deadline,
                                              StreamEventHandler on_event);

  // Closes the socket: a request in flight fails with a transport error.
  void Close();
  void set_body_limit(std::size_t bytes) { body_limit_ = bytes; }
  // Requests time out after 30 s by a timer per request. A client with many connections may
  // turn that off and watch busy_since() itself (one timer for all, far cheaper), closing a
  // connection whose request has taken too long. Streams keep their deadlines either way.
  void set_timeouts(bool enabled) { timeouts_ = enabled; }
  // When the request in flight (not a stream) was started; nullopt when idle.
  std::optional<SteadyClock::time_point> busy_since() const { return busy_since_; }

 private:
  boost::asio::awaitable<Reply> SendOnce(boost::beast::http::verb method, const std::string& target,
                                         const std::string& body, const Headers& headers);
  boost::asio::awaitable<void> OpenAndWrite(boost::beast::http::verb method,
                                            const std::string& target, const std::string& body,
                                            const Headers& headers, Reply& reply, bool timed);

  boost::beast::tcp_stream stream_;
  boost::asio::ip::tcp::resolver::results_type endpoints_;
  boost::beast::flat_buffer buffer_;
  std::string request_text_;  // the request being written, its capacity reused
  std::size_t body_limit_ = kResponseBodyDefaultMaxBytes;
  std::optional<SteadyClock::time_point> busy_since_;
  bool timeouts_ = true;
  bool expiry_set_ = false;  // a timeout may still be armed on the stream
  bool open_ = false;
};

SteadyClock::duration Seconds(double seconds);
boost::asio::awaitable<void> SleepUntil(SteadyClock::time_point deadline);
boost::asio::awaitable<void> Sleep(double seconds);

// Solves a proof of work on `pool` and resumes the awaiting coroutine on its own executor.
boost::asio::awaitable<std::optional<std::string>> SolveOn(boost::asio::thread_pool& pool,
                                                           Challenge challenge);

// Runs `body` as a coroutine on `io` until it finishes; rethrows what it threw. For the tools'
// setup and read-back calls, made one at a time from a plain thread.
template <typename T>
T RunToEnd(boost::asio::io_context& io, boost::asio::awaitable<T> body) {
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(body), [&](std::exception_ptr error, T value) {
    failure = error;
    if (!error) result = std::move(value);
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

// The ALTCHA challenge in a 403 challenge_required answer (`error.details.challenge`); nullopt
// when the answer holds none or it is malformed.
std::optional<Challenge> ChallengeOf(const Reply& reply);

}  // namespace boxoffice::tools
