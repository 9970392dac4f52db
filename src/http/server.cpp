// The server core (server_internal.hpp): listening and accepting, the sweep that enforces every
// connection's deadlines, the graceful stop, and the request metrics; then Server, the public
// face, which is only a pimpl over it.
#include "http/server.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <csignal>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "common/log.hpp"
#include "http/connection.hpp"
#include "http/server_internal.hpp"

namespace boxoffice::http {
namespace internal {
namespace {

// How often the sweeper looks for connections past a deadline: the slack of every timeout.
constexpr auto kTimeoutSweepIntervalMs = std::chrono::milliseconds(250);
// Pause before accepting again after accept failed (e.g. out of file descriptors).
constexpr auto kAcceptRetryDelayMs = std::chrono::milliseconds(50);

std::atomic<std::uint64_t> next_server_id{1};

CidrList ParseTrustedProxies(const std::vector<std::string>& items) {
  auto parsed = CidrList::Parse(items);
  if (!parsed) throw std::invalid_argument("trusted_proxies: " + parsed.error().message);
  return std::move(parsed).value();
}

CorsPolicy ParseCorsOrigins(const std::vector<std::string>& origins) {
  auto parsed = CorsPolicy::Parse(origins);
  if (!parsed) throw std::invalid_argument("cors_origins: " + parsed.error().message);
  return std::move(parsed).value();
}

// The TLS context of ServerOptions' certificate and key: TLS 1.2 and 1.3 only, no compression
// (CRIME), no renegotiation (a handshake per request is a cheap DoS), the server's cipher order.
std::unique_ptr<net::ssl::context> MakeTlsContext(const ServerOptions& options) {
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) return nullptr;
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    throw std::invalid_argument("TLS needs both a certificate and its private key");
  }
  auto context = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  context->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1 | net::ssl::context::no_compression |
                       net::ssl::context::single_dh_use);
  SSL_CTX_set_options(context->native_handle(),
                      SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  boost::system::error_code ec;
  context->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) {
    throw std::system_error(ec, "read the TLS certificate chain " + options.tls_cert_file);
  }
  context->use_private_key_file(options.tls_key_file, net::ssl::context::pem, ec);
  if (ec) throw std::system_error(ec, "read the TLS private key " + options.tls_key_file);
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    throw std::invalid_argument("the TLS private key " + options.tls_key_file +
                                " does not belong to the certificate " + options.tls_cert_file);
  }
  return context;
}

// Per-thread cache of metric references, so that the registry's mutex is taken once per
// (route, method, status) per thread instead of once per request.
struct MetricKey {
  std::uint64_t server_id;
  const void* route;  // the router's pattern storage, stable for the router's life
  std::uint32_t method_status;

  bool operator==(const MetricKey&) const = default;
};

struct MetricKeyHash {
  std::size_t operator()(const MetricKey& key) const noexcept {
    std::uint64_t h = key.server_id * 0x9e3779b97f4a7c15ULL;
    h ^= reinterpret_cast<std::uintptr_t>(key.route) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= key.method_status + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return static_cast<std::size_t>(h);
  }
};

}  // namespace

thread_local constinit const ServerLife* running_server_life = nullptr;

ServerCore::ServerCore(ServerOptions options, const Router& router, MetricsRegistry& metrics,
                       const Clock& clock)
    : options_(std::move(options)),
      router_(router),
      metrics_(metrics),
      clock_(clock),
      trusted_proxies_(ParseTrustedProxies(options_.trusted_proxies)),
      cors_(ParseCorsOrigins(options_.cors_origins)),
      server_id_(next_server_id.fetch_add(1)),
      connections_open_(
          metrics.GetGauge("boxoffice_http_connections_open", "HTTP connections open now.")),
      connections_rejected_(
          metrics.GetCounter("boxoffice_http_connections_rejected_total",
                             "HTTP connections answered 503 because max_connections were open.")),
      streams_open_(
          metrics.GetGauge("boxoffice_http_streams_open", "Server-sent event streams open now.")),
      streams_rejected_(
          metrics.GetCounter("boxoffice_http_streams_rejected_total",
                             "Event streams answered 503 because max_streams were open.")),
      stream_events_sent_(metrics.GetCounter("boxoffice_http_stream_events_total",
                                             "Server-sent events written to streams.")),
      tls_handshake_failures_(
          metrics.GetCounter("boxoffice_http_tls_handshake_failures_total",
                             "TLS handshakes that failed or did not finish in time.")),
      ios_(options_.threads == 0 ? std::max(1u, std::thread::hardware_concurrency())
                                 : options_.threads) {
  for (auto& io : ios_) {
    io = std::make_unique<net::io_context>(1);  // one thread runs it
    io_work_.push_back(net::make_work_guard(*io));
  }
  control_.emplace(ios_.front()->get_executor());
  acceptor_.emplace(*control_);
  sweep_timer_.emplace(*control_);
  accept_retry_timer_.emplace(*control_);
}

bool ServerCore::TryOpenStream() {
  if (stream_count_.fetch_add(1, std::memory_order_relaxed) >= options_.max_streams) {
    stream_count_.fetch_sub(1, std::memory_order_relaxed);
    streams_rejected_.Inc();
    return false;
  }
  streams_open_.Add(1);
  return true;
}

void ServerCore::CloseStream() {
  stream_count_.fetch_sub(1, std::memory_order_relaxed);
  streams_open_.Add(-1);
}

ServerCore::~ServerCore() {
  {
    std::unique_lock gate(life_->mutex);  // waits for threads delivering answers right now
    life_->alive = false;
  }
  hard_stopped_.store(true, std::memory_order_release);
  for (auto& io : ios_) io->stop();
  // Order matters: objects bound to the io_context go before it, and connections that only the
  // registry holds close their sockets while the io_context is still whole.
  signals_.reset();
  accept_retry_timer_.reset();
  sweep_timer_.reset();
  acceptor_.reset();
  {
    std::lock_guard lock(connections_mutex_);
    connections_.clear();
  }
  control_.reset();
  io_work_.clear();
  // Destroys queued handlers, and with them the last connections. A connection's handlers are
  // queued on its own io_context only, but an accept on the first one may hold a new socket of
  // any other: so the first goes first, explicitly (vector::clear promises no order).
  for (auto& io : ios_) io.reset();
  ios_.clear();
}

net::io_context& ServerCore::NextIo() {
  return *ios_[next_io_.fetch_add(1, std::memory_order_relaxed) % ios_.size()];
}

void ServerCore::Listen() {
  tls_ = MakeTlsContext(options_);
  if (tls_ && options_.hsts_max_age_s.count() > 0) {
    hsts_ = "max-age=" + std::to_string(options_.hsts_max_age_s.count());
  }
  boost::system::error_code ec;
  tcp::endpoint endpoint;
  const auto address = net::ip::make_address(options_.listen_host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options_.listen_port);
  } else {
    tcp::resolver resolver(*ios_.front());
    const auto results = resolver.resolve(
        options_.listen_host, std::to_string(options_.listen_port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      throw std::system_error(ec, "resolve " + options_.listen_host);
    }
    endpoint = results.begin()->endpoint();
  }
  const std::string where = options_.listen_host + ":" + std::to_string(options_.listen_port);
  acceptor_->open(endpoint.protocol(), ec);
  if (ec) throw std::system_error(ec, "open socket for " + where);
  acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (ec) throw std::system_error(ec, "set SO_REUSEADDR on " + where);
  acceptor_->bind(endpoint, ec);
  if (ec) throw std::system_error(ec, "bind " + where);
  acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::system_error(ec, "listen on " + where);
  bound_port_.store(acceptor_->local_endpoint().port());
  listening_.store(true);
  if (!stop_requested_.load()) accepting_.store(true);
}

void ServerCore::Run() {
  if (run_started_.exchange(true)) throw std::logic_error("Server::Run called twice");
  if (!listening_.load() && !stop_requested_.load()) Listen();

  if (options_.stop_on_signals) {
    signals_.emplace(*control_, SIGINT, SIGTERM);
    signals_->async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      LogInfo("signal_received_stopping", {{"signal", signal}});
      Stop();
    });
  }
  net::post(*control_, [this] {
    if (stop_begun_) return;
    if (listening_.load()) StartAccept();
    ScheduleSweep();
  });

  std::vector<std::thread> threads;
  threads.reserve(ios_.size() - 1);
  for (std::size_t i = 1; i < ios_.size(); ++i) {
    threads.emplace_back([this, i] { RunIo(*ios_[i]); });
  }
  RunIo(*ios_.front());
  for (auto& thread : threads) thread.join();

  // Connections still open after the drain timeout: nothing runs any more, close them here.
  hard_stopped_.store(true, std::memory_order_release);
  ForceCloseAll();
}

void ServerCore::RunIo(net::io_context& io) {
  struct Running {
    explicit Running(const ServerLife* life) { running_server_life = life; }
    ~Running() { running_server_life = nullptr; }
  } running(life_.get());
  io.run();
}

void ServerCore::Stop() {
  accepting_.store(false);
  if (stop_requested_.exchange(true)) return;
  net::post(*control_, [this] { BeginStop(); });
}

void ServerCore::Post(std::function<void()> task) {
  net::post(NextIo(), [task = std::move(task)] {
    try {
      task();
    } catch (const std::exception& e) {
      LogError("http_posted_task_threw", {{"error", e.what()}});
    } catch (...) {
      LogError("http_posted_task_threw", {{"error", "not a std::exception"}});
    }
  });
}

void ServerCore::StartAccept() {
  acceptor_->async_accept(
      NextIo(),
      net::bind_executor(*control_, [this](const boost::system::error_code& ec, Socket socket) {
        OnAccept(ec, std::move(socket));
      }));
}

void ServerCore::OnAccept(const boost::system::error_code& ec, Socket socket) {
  if (stop_begun_ || !acceptor_->is_open()) return;
  if (ec) {
    LogWarn("http_accept_failed_retrying", {{"error", ec.message()}});
    accept_retry_timer_->expires_after(kAcceptRetryDelayMs);
    accept_retry_timer_->async_wait([this](const boost::system::error_code& wait_ec) {
      if (!wait_ec && !stop_begun_) StartAccept();
    });
    return;
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // small answers must not wait for Nagle
  const bool reject = open_count_.load() >= options_.max_connections;
  auto connection = std::make_shared<Connection>(*this, std::move(socket), reject);
  if (reject) {
    connections_rejected_.Inc();
  } else {
    open_count_.fetch_add(1);
    connections_open_.Add(1);
  }
  {
    std::lock_guard lock(connections_mutex_);
    connections_.emplace(connection.get(), connection);
  }
  connection->Start();
  StartAccept();
}

void ServerCore::OnConnectionClosed(Connection* connection, bool counted) {
  if (counted) {
    open_count_.fetch_sub(1);
    connections_open_.Add(-1);
  }
  bool drained = false;
  {
    std::lock_guard lock(connections_mutex_);
    connections_.erase(connection);
    drained = connections_.empty();
  }
  if (drained && stop_requested_.load() && !hard_stopped()) {
    net::post(*control_, [this] {
      // Before BeginStop has run there is nothing to finish: BeginStop checks for itself.
      if (!stop_begun_) return;
      bool still_drained = false;
      {
        std::lock_guard lock(connections_mutex_);
        still_drained = connections_.empty();
      }
      if (still_drained) FinishStop();
    });
  }
}

void ServerCore::ScheduleSweep() {
  sweep_timer_->expires_after(kTimeoutSweepIntervalMs);
  sweep_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stop_finished_) return;
    Sweep();
    if (!stop_finished_) ScheduleSweep();
  });
}

// Runs from the start of accepting until the stop has finished, so it also watches the drain:
// there is no connection to wait for before the first accept.
void ServerCore::Sweep() {
  const std::int64_t now_ns = NowNs();
  if (now_ns >= drain_deadline_ns_) {
    EndDrain();
    return;
  }
  std::lock_guard lock(connections_mutex_);
  for (const auto& [raw, connection] : connections_) {
    if (connection->DeadlinePassed(now_ns)) connection->PostTimeout();
  }
}

void ServerCore::BeginStop() {
  if (stop_begun_) return;
  stop_begun_ = true;
  accepting_.store(false);
  boost::system::error_code ignored;
  acceptor_->close(ignored);
  accept_retry_timer_->cancel();
  bool drained = false;
  {
    std::lock_guard lock(connections_mutex_);
    for (const auto& [raw, connection] : connections_) connection->PostStop();
    drained = connections_.empty();
  }
  if (drained) {
    FinishStop();
    return;
  }
  drain_deadline_ns_ = DeadlineAfter(NowNs(), options_.drain_timeout_s);
}

// The drain timeout passed with connections still open: Run closes them once the I/O threads
// have stopped.
void ServerCore::EndDrain() {
  std::size_t left = 0;
  {
    std::lock_guard lock(connections_mutex_);
    left = connections_.size();
  }
  if (left > 0) LogWarn("http_drain_timeout", {{"connections_closed", left}});
  FinishStop();
}

void ServerCore::FinishStop() {
  if (stop_finished_) return;
  stop_finished_ = true;
  sweep_timer_->cancel();
  accept_retry_timer_->cancel();
  if (signals_) {
    boost::system::error_code ignored;
    signals_->cancel(ignored);
  }
  for (auto& io : ios_) io->stop();
}

void ServerCore::ForceCloseAll() {
  std::lock_guard lock(connections_mutex_);
  for (const auto& [raw, connection] : connections_) connection->ForceClose();
  // The gauge may be shared with other servers on the same registry: subtract, do not reset.
  connections_open_.Add(-static_cast<double>(open_count_.exchange(0)));
  connections_.clear();
}

void ServerCore::Record(std::string_view route, Method method, int status, double duration_s) {
  thread_local std::unordered_map<MetricKey, Counter*, MetricKeyHash> counters;
  thread_local std::unordered_map<MetricKey, Histogram*, MetricKeyHash> histograms;
  const auto method_index = static_cast<std::uint32_t>(method);
  try {
    const MetricKey counter_key{server_id_, route.data(),
                                method_index << 16 | static_cast<std::uint32_t>(status)};
    auto counter = counters.find(counter_key);
    if (counter == counters.end()) {
      Counter& registered = metrics_.GetCounter(
          "boxoffice_http_requests_total", "HTTP requests answered, by route, method and status.",
          {{"route", std::string(route)},
           {"method", std::string(MethodName(method))},
           {"status", std::to_string(status)}});
      counter = counters.emplace(counter_key, &registered).first;
    }
    counter->second->Inc();

    const MetricKey histogram_key{server_id_, route.data(), method_index << 16};
    auto histogram = histograms.find(histogram_key);
    if (histogram == histograms.end()) {
      Histogram& registered = metrics_.GetHistogram(
          "boxoffice_http_request_duration_seconds",
          "Time from a request's last byte to its answer being ready, by route and method.",
          {{"route", std::string(route)}, {"method", std::string(MethodName(method))}});
      histogram = histograms.emplace(histogram_key, &registered).first;
    }
    histogram->second->Observe(duration_s);
  } catch (const std::exception& e) {
    LogError("http_metrics_failed", {{"error", e.what()}});
  }
}

}  // namespace internal

struct Server::Impl : internal::ServerCore {
  using ServerCore::ServerCore;
};

const Clock& ProcessMonotonicClock() {
  static const MonotonicClock clock;
  return clock;
}

Server::Server(ServerOptions options, const Router& router, MetricsRegistry& metrics,
               const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics, clock)) {}

Server::~Server() = default;

void Server::Listen() { impl_->Listen(); }
std::uint16_t Server::port() const { return impl_->port(); }
void Server::Run() { impl_->Run(); }
void Server::Stop() { impl_->Stop(); }
bool Server::accepting() const { return impl_->accepting(); }
void Server::Post(std::function<void()> task) { impl_->Post(std::move(task)); }

}  // namespace boxoffice::http
