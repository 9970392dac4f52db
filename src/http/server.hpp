// The HTTP/1.1 server: Boost.Beast on N I/O threads, each running an io_context of its own, with
// connections dealt to them in turn (a connection stays on its thread), keep-alive, bounded
// pipelining, body and header limits, read timeouts, a connection cap, server-sent event streams
// (message.hpp, `EventStream`) under their own cap, and a graceful stop on SIGTERM/SIGINT. Beast
// and Asio stay behind this header (pimpl).
//
// Every deadline (read, idle, write, drain, linger, a stream's stop grace and heartbeat) and the
// Date header are read from the `Clock` the server is given, so a test moves a FakeClock instead
// of waiting. Real timers only wake the server to look at that clock: the timeout sweep every
// 250 ms and each stream's interval.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "ports/clock.hpp"

namespace boxoffice::http {

struct ServerOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;  // 0: any free port, see Server::port()
  // 0: one per core. Handlers run on their connection's I/O thread and must not block: one that
  // waits stalls every connection on that thread (the first one also accepts and sweeps).
  unsigned threads = 0;
  std::size_t body_limit_bytes = 1 << 20;
  std::size_t header_limit_bytes = 16 << 10;
  std::chrono::seconds read_timeout_s{30};   // a request must arrive whole within this
  std::chrono::seconds idle_timeout_s{60};   // keep-alive connection with no request
  std::chrono::seconds drain_timeout_s{25};  // graceful stop waits this long for in-flight
  std::size_t max_connections = 10'000;      // more are answered 503 and closed
  std::size_t pipeline_limit = 16;           // requests read ahead of their answers
  std::vector<std::string> trusted_proxies;  // CIDRs whose X-Forwarded-For names the client
  // Origins of front ends served elsewhere that may call the API from a browser (cors.hpp);
  // empty: same-origin pages only.
  std::vector<std::string> cors_origins;
  bool access_log = false;  // one JSON log line per request
  // Open event streams; a stream asked for beyond it is answered 503 overloaded (Retry-After).
  // Each holds a connection, so the default leaves most of max_connections to polling clients.
  std::size_t max_streams = 5'000;
  // A quiet stream gets a comment line this often, so proxies and clients see it is alive and a
  // client that went away without a FIN is found by the failing write.
  std::chrono::milliseconds stream_heartbeat_ms{15'000};
  // Direct TLS (docs/security.md, "Deployment: what to put in front"): a PEM certificate chain
  // and its private key. Both or neither; without them the server speaks plain HTTP. Listen()
  // throws when they cannot be used.
  std::string tls_cert_file;
  std::string tls_key_file;
  // With TLS, every answer carries Strict-Transport-Security with this max-age; 0: none.
  std::chrono::seconds hsts_max_age_s{31'536'000};  // a year
  // SIGTERM/SIGINT start the graceful stop. Off for a server embedded in another process's
  // server (the demo's gateway simulator), whose owner stops it after draining its own work.
  bool stop_on_signals = true;
};

// The clock a server reads unless it is given another: one MonotonicClock for the process, so that
// timeouts never jump when the system clock is set (and the Date header moves with them).
const Clock& ProcessMonotonicClock();

class Server {
 public:
  // `router`, `metrics` and `clock` must outlive the server. The clock is read from every I/O
  // thread, so it must be safe to read concurrently (Clock's implementations are).
  Server(ServerOptions options, const Router& router, MetricsRegistry& metrics,
         const Clock& clock = ProcessMonotonicClock());
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; throws std::system_error when the address cannot be bound.
  void Listen();
  // The bound port (useful with listen_port 0); valid after Listen().
  std::uint16_t port() const;
  // Runs the I/O threads until Stop() or SIGTERM/SIGINT, then stops accepting, lets in-flight
  // requests finish (up to drain_timeout_s), closes connections and returns.
  void Run();
  // Thread-safe; may be called from a handler or another thread.
  void Stop();
  // False once a stop has begun; /readyz answers 503 then.
  bool accepting() const;

  // Runs `task` on the server's I/O threads (e.g. periodic work); thread-safe.
  void Post(std::function<void()> task);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace boxoffice::http
