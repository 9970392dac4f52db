// What the parts of the HTTP server share behind server.hpp: the Asio types, and `ServerCore`,
// the state that the acceptor, the timeout sweeper and every connection see. Only src/http/
// includes this (and with it Boost.Asio); the rest of boxoffice sees server.hpp.
//
// Where the server's code lives:
//   server.cpp           ServerCore: listening and accepting, the timeout sweep, the graceful
//                        stop, request metrics; and Server, the public face.
//   connection.hpp/.cpp  One connection: reading, parsing, routing, answering in order.
//   request_parser.*     Beast's parser writing straight into a Request.
//   request_target.*     The target's path and query, percent-decoded (public: others use it).
//   response_writer.*    Answer heads, chunked framing, the Date header.
//   event_stream.*       Server-sent event streams on a connection.
//
// Timeouts are not timers per connection: each connection publishes its deadlines in atomics
// and one sweeper on the server's control executor closes the ones that passed. That keeps the
// hot path free of timer arming (which takes the reactor's lock) at the cost of up to one sweep
// interval of slack on every timeout.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/cidr.hpp"
#include "common/metrics.hpp"
#include "http/cors.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "ports/clock.hpp"

namespace boxoffice::http::internal {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using IoExecutor = net::io_context::executor_type;
// Each I/O thread runs an io_context of its own, and a connection lives on one of them for its
// whole life: its handlers never run on two threads at once, so it needs no strand, and the
// threads share no scheduler queue or lock (a shared io_context with a strand per connection
// cost a queue poll about 1 us of CPU in locks, wakeups and strand bookkeeping).
using Socket = net::basic_stream_socket<tcp, IoExecutor>;

constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();
// The metrics label of a request that matched no route.
constexpr std::string_view kUnmatchedRoute = "unmatched";

// Times inside the server are nanoseconds on the server's Clock since its epoch: plain integers,
// so that a deadline fits in an atomic the sweeper reads without a lock.
inline std::int64_t ToNs(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

inline std::int64_t DeadlineAfter(std::int64_t now_ns, std::chrono::nanoseconds timeout) {
  return now_ns + timeout.count();
}

class Connection;

// Whether a server is still whole, for the threads outside its I/O threads that answer requests
// (the ledger's writer, order workers): they reach into a connection, and through it into the
// io_context, only while holding `mutex` shared and seeing `alive`. ~ServerCore clears `alive`
// under the exclusive lock before it tears anything down, so no such thread is inside then and
// none gets in afterwards. Exchanges share it, so it outlives the server.
struct ServerLife {
  std::shared_mutex mutex;
  bool alive = true;
};

// The life of the server whose io_context this thread is running, if any. Its own I/O threads
// need no lock: the teardown never runs beside them (a server is destroyed after Run returns).
// constinit: the other files read it directly, without the wrapper call a thread_local with a
// dynamic initialiser would need.
extern thread_local constinit const ServerLife* running_server_life;

// The state shared by the acceptor, the sweeper and every connection. Server::Impl derives from
// it.
class ServerCore {
 public:
  ServerCore(ServerOptions options, const Router& router, MetricsRegistry& metrics,
             const Clock& clock);
  ~ServerCore();

  void Listen();
  std::uint16_t port() const { return bound_port_.load(); }
  void Run();
  void Stop();
  bool accepting() const { return accepting_.load(); }
  void Post(std::function<void()> task);

  // Used by connections.
  const ServerOptions& options() const { return options_; }
  // The injected clock, read once per I/O event rather than once per deadline.
  std::int64_t NowNs() const { return ToNs(clock_.Now()); }
  const Router& router() const { return router_; }
  const CidrList& trusted_proxies() const { return trusted_proxies_; }
  const CorsPolicy& cors() const { return cors_; }
  // The TLS context new connections handshake with; null without a certificate.
  net::ssl::context* tls_context() { return tls_.get(); }
  // The Strict-Transport-Security value every answer carries; empty when none does.
  std::string_view hsts() const { return hsts_; }
  void CountTlsHandshakeFailure() { tls_handshake_failures_.Inc(); }
  const std::shared_ptr<ServerLife>& life() const { return life_; }
  bool hard_stopped() const { return hard_stopped_.load(std::memory_order_acquire); }
  void OnConnectionClosed(Connection* connection, bool counted);
  // Claims one of max_streams; false (and counted as rejected) when all are open.
  bool TryOpenStream();
  void CloseStream();
  void CountStreamEvent() { stream_events_sent_.Inc(); }
  void Record(std::string_view route, Method method, int status, double duration_s);

 private:
  void RunIo(net::io_context& io);  // one I/O thread's loop
  void StartAccept();
  void OnAccept(const boost::system::error_code& ec, Socket socket);
  void ScheduleSweep();
  void Sweep();
  void BeginStop();
  void FinishStop();
  void EndDrain();
  void ForceCloseAll();

  const ServerOptions options_;
  const Router& router_;
  MetricsRegistry& metrics_;
  const Clock& clock_;
  CidrList trusted_proxies_;
  CorsPolicy cors_;
  std::unique_ptr<net::ssl::context> tls_;  // made by Listen, before the first accept
  std::string hsts_;
  // Tells this server's entries apart in the thread-local metric cache (a registry address may
  // be reused by a later server in the same process; an id never is).
  const std::uint64_t server_id_;
  const std::shared_ptr<ServerLife> life_ = std::make_shared<ServerLife>();

  Gauge& connections_open_;
  Counter& connections_rejected_;
  Gauge& streams_open_;
  Counter& streams_rejected_;
  Counter& stream_events_sent_;
  Counter& tls_handshake_failures_;

  // The next I/O thread's io_context, in turn, for a new connection or a posted task.
  net::io_context& NextIo();

  // Everything bound to an io_context is destroyed explicitly, in order, in ~ServerCore.
  std::vector<std::unique_ptr<net::io_context>> ios_;  // one per I/O thread
  // Keeps each io_context running while it has no connection; stop() ends them all.
  std::vector<net::executor_work_guard<IoExecutor>> io_work_;
  std::atomic<std::size_t> next_io_{0};
  // The first io_context's, whose one thread runs the acceptor, timers, signals and stop.
  std::optional<IoExecutor> control_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> sweep_timer_;
  std::optional<net::steady_timer> accept_retry_timer_;
  std::optional<net::signal_set> signals_;

  std::atomic<std::uint16_t> bound_port_{0};
  std::atomic<bool> listening_{false};
  std::atomic<bool> accepting_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> run_started_{false};
  std::atomic<bool> hard_stopped_{false};
  bool stop_begun_ = false;     // control executor only
  bool stop_finished_ = false;  // control executor only
  // When the graceful stop gives up on connections still open; the sweeper checks it, so the
  // drain timeout, like every other, comes from the clock. Control executor only.
  std::int64_t drain_deadline_ns_ = kNoDeadline;

  std::mutex connections_mutex_;
  // The registry owns each open connection; Respond callbacks hold weak references only, so a
  // callback kept past the server's life cannot keep a socket alive past its io_context.
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
  std::atomic<std::size_t> open_count_{0};
  std::atomic<std::size_t> stream_count_{0};
};

}  // namespace boxoffice::http::internal
