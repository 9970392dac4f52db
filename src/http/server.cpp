// The only translation unit that sees Boost.Beast and Asio: the rest of boxoffice talks to the
// server through message.hpp and server.hpp.
//
// Shape of one connection (all of it runs on the one I/O thread whose io_context it lives on):
//
//   socket ─► read chunk ─► parser ─► Dispatch ─► handler ─ Respond (any thread) ─┐
//                 ▲            │                                                  │
//                 └─ paused while `pipeline_limit` answers are outstanding        ▼
//   socket ◄─ one gathered write of every ready answer at the front, in order ◄─ slot
//
// Timeouts are not timers per connection: each connection publishes its deadlines in atomics
// and one sweeper on the server's control executor closes the ones that passed. That keeps the
// hot path free of timer arming (which takes the reactor's lock) at the cost of up to one sweep
// interval of slack on every timeout.
//
// An answer with an `EventStream` (server-sent events) takes over the connection's writing once
// it reaches the front: the head, then one event or heartbeat per tick of a timer of its own
// (streams are few and long, so a timer each is cheap there), one write in flight at a time. It
// is sent with chunked transfer coding on HTTP/1.1 rather than delimited by closing the
// connection: the end of the stream is then explicit (a proxy can tell a finished stream from a
// cut one) and the connection stays usable for the client's next request. HTTP/1.0 has no
// chunking, so there the stream is close-delimited.
#include "http/server.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <ctime>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "common/cidr.hpp"
#include "common/log.hpp"
#include "http/error_response.hpp"

namespace boxoffice::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using IoExecutor = net::io_context::executor_type;
// Each I/O thread runs an io_context of its own, and a connection lives on one of them for its
// whole life: its handlers never run on two threads at once, so it needs no strand, and the
// threads share no scheduler queue or lock (a shared io_context with a strand per connection
// cost a queue poll about 1 us of CPU in locks, wakeups and strand bookkeeping).
using Socket = net::basic_stream_socket<tcp, IoExecutor>;
using SteadyClock = std::chrono::steady_clock;
// Literals appended to answers as string_views: no strlen per piece of every head.
using namespace std::string_view_literals;

// Bytes asked of the kernel per read; a typical request fits in one.
constexpr std::size_t kReadChunkBytes = 16 * 1024;
// Header fields per request; more is answered like an oversized header.
constexpr std::size_t kHeaderFieldsMax = 100;
// Room made for a request's fields up front: a browser sends about a dozen, an API client a few,
// and growing the vector 1, 2, 4, 8, 16 would allocate five times per request.
constexpr std::size_t kHeaderFieldsReserved = 16;
// A client's X-Request-Id longer than this (or with other than visible ASCII) is replaced.
constexpr std::size_t kRequestIdBytesMax = 128;
// How often the sweeper looks for connections past a deadline: the slack of every timeout.
constexpr auto kTimeoutSweepIntervalMs = std::chrono::milliseconds(250);
// A client that does not take its answer within this is dropped.
constexpr auto kWriteTimeoutS = std::chrono::seconds(30);
// After a final answer (413, 503, Connection: close) the server half-closes and drains what the
// client still sends, so the client reads the answer instead of a reset; bounded both ways.
constexpr auto kLingerTimeoutMs = std::chrono::milliseconds(2000);
constexpr std::size_t kLingerBytesMax = 1 << 20;
// Pause before accepting again after accept failed (e.g. out of file descriptors).
constexpr auto kAcceptRetryDelayMs = std::chrono::milliseconds(50);
// Answers gathered into one write when a client pipelines.
constexpr std::size_t kWriteBatchResponsesMax = 16;
// Bodies up to this size are copied next to their header, so most writes are one buffer.
constexpr std::size_t kInlineBodyBytesMax = 16 * 1024;

// A stream's source is not asked more often than this, whatever interval it asks for.
constexpr auto kStreamIntervalMinMs = std::chrono::milliseconds(10);
// On a graceful stop, a stream whose client is not taking its last write is dropped after this.
constexpr auto kStreamStopGraceMs = std::chrono::milliseconds(1000);
// Retry-After of the 503 answered beyond max_streams.
constexpr int kStreamsFullRetryAfterS = 5;
constexpr std::string_view kStreamHeartbeat = ": keep-alive\n\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();
constexpr std::string_view kUnmatchedRoute = "unmatched";

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

std::int64_t DeadlineAfter(std::chrono::nanoseconds timeout) { return NowNs() + timeout.count(); }

Method FromVerb(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get:
      return Method::kGet;
    case bhttp::verb::head:
      return Method::kHead;
    case bhttp::verb::post:
      return Method::kPost;
    case bhttp::verb::put:
      return Method::kPut;
    case bhttp::verb::patch:
      return Method::kPatch;
    case bhttp::verb::delete_:
      return Method::kDelete;
    case bhttp::verb::options:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; false on a truncated or non-hex escape and on an encoded NUL, which no
// path or parameter of this API can hold and which C APIs further down would cut short.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  // (Not find_first_of: with a set of characters it calls memchr once per input character.)
  const bool plain = std::none_of(in.begin(), in.end(), [plus_is_space](char c) {
    return c == '%' || (plus_is_space && c == '+');
  });
  if (plain) {
    out.assign(in);
    return true;
  }
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int high = HexValue(in[i + 1]);
      const int low = HexValue(in[i + 2]);
      if (high < 0 || low < 0 || (high == 0 && low == 0)) return false;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

// Fills path and query from target; false when the target is not a usable origin-form.
bool SplitTarget(Request& request) {
  std::string_view target = request.target;
  // Absolute-form (RFC 9112 §3.2.2) must be accepted by servers; only its path matters here.
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() > scheme.size() &&
        EqualsIgnoreCase(target.substr(0, scheme.size()), scheme)) {
      target.remove_prefix(scheme.size());
      const auto path_start = target.find_first_of("/?");
      target =
          path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
      if (target.front() == '?') return false;
      break;
    }
  }
  if (const auto fragment = target.find('#'); fragment != std::string_view::npos) {
    target = target.substr(0, fragment);
  }
  const auto question = target.find('?');
  const std::string_view raw_path = target.substr(0, question);
  if (raw_path.empty() || raw_path.front() != '/') return false;
  if (!PercentDecode(raw_path, false, request.path)) return false;
  if (question == std::string_view::npos) return true;

  std::string_view raw_query = target.substr(question + 1);
  std::string key;
  std::string value;
  while (!raw_query.empty()) {
    const auto amp = raw_query.find('&');
    const std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    const std::string_view raw_key = pair.substr(0, equals);
    const std::string_view raw_value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    if (!PercentDecode(raw_key, true, key) || !PercentDecode(raw_value, true, value)) return false;
    request.query.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > kRequestIdBytesMax) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;  // visible ASCII only: it goes into logs and headers
  }
  return true;
}

// 16 hex digits from a per-thread SplitMix64: unique enough to find a request in the logs, and
// no lock or system call per request.
std::string GenerateRequestId() {
  thread_local std::uint64_t state = [] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device() ^
           static_cast<std::uint64_t>(NowNs()) ^
           std::hash<std::thread::id>()(std::this_thread::get_id());
  }();
  state += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kHex[z & 0xf];
    z >>= 4;
  }
  return id;
}

// The Date header, formatted once per second per thread.
std::string_view HttpDate() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t cached_second = -1;
  thread_local char text[40];
  thread_local int length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm utc{};
    gmtime_r(&now, &utc);
    length = std::snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                           kDays[utc.tm_wday], utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900,
                           utc.tm_hour, utc.tm_min, utc.tm_sec);
    cached_second = now;
  }
  return std::string_view(text, static_cast<std::size_t>(length));
}

void AppendNumber(std::string& out, std::uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

void AppendHex(std::string& out, std::uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, 16);
  out.append(buffer, result.ptr);
}

// One server-sent event: every line of `data` as its own "data:" field (CR, LF and CRLF all end
// a line in SSE, so none may pass through raw), then the blank line that dispatches it.
void AppendEventFrame(std::string_view data, std::string& out) {
  while (true) {
    const auto end = data.find_first_of("\r\n");
    out += "data: ";
    out += data.substr(0, end);
    out += '\n';
    if (end == std::string_view::npos) break;
    const bool crlf = data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n';
    data.remove_prefix(end + (crlf ? 2 : 1));
  }
  out += '\n';
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Rejects what would split or end the header block (response splitting).
bool IsValidHeaderValue(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Headers the server writes itself; a handler's copy would contradict them.
bool IsManagedHeader(std::string_view name) {
  for (std::string_view managed :
       {"content-length", "transfer-encoding", "connection", "server", "date", "x-request-id"}) {
    if (EqualsIgnoreCase(name, managed)) return true;
  }
  return false;
}

std::string_view ReasonPhrase(int status) {
  const auto known = bhttp::int_to_status(static_cast<unsigned>(status));
  if (known == bhttp::status::unknown) return "Unknown";
  const auto reason = bhttp::obsolete_reason(known);
  return std::string_view(reason.data(), reason.size());
}

Response InternalErrorResponse() {
  return ErrorResponse(Error::Internal("The server failed to answer this request."));
}

// Beast's low-level parser, writing straight into our Request: no beast::http::fields copy of
// the header per request, names lower-cased once as they arrive.
// Beast 1.81 hands out boost::core::string_view whatever BOOST_BEAST_USE_STD_STRING_VIEW says.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  RequestParser(std::size_t header_limit_bytes, std::size_t body_limit_bytes) {
    header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(header_limit_bytes, std::numeric_limits<std::uint32_t>::max())));
    body_limit(body_limit_bytes);
    // Parse the body in the same put() as the header when it is already buffered.
    eager(true);
    // Until a request line is parsed there is no method; metrics must not call it a GET.
    request_.method = Method::kOther;
    request_.headers.reserve(kHeaderFieldsReserved);
  }

  Request& request() { return request_; }
  int version() const { return version_; }
  bool expect_continue() const { return expect_continue_; }

 private:
  void on_request_impl(bhttp::verb method, beast::string_view /*method_text*/,
                       beast::string_view target, int version, beast::error_code&) override {
    request_.method = FromVerb(method);
    request_.target.assign(target.data(), target.size());
    version_ = version;
  }

  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = bhttp::error::bad_method;  // unreachable for a request parser
  }

  void on_field_impl(bhttp::field field, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override {
    if (request_.headers.size() >= kHeaderFieldsMax) {
      ec = bhttp::error::header_limit;
      return;
    }
    if (field == bhttp::field::expect &&
        EqualsIgnoreCase(std::string_view(value), "100-continue")) {
      expect_continue_ = true;
    }
    auto& header = request_.headers.emplace_back(std::string(name.data(), name.size()),
                                                 std::string(value.data(), value.size()));
    for (char& c : header.first) c = LowerAscii(c);
  }

  void on_header_impl(beast::error_code&) override {}

  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         beast::error_code&) override {
    // basic_parser has already refused a Content-Length above body_limit, so this is bounded.
    if (content_length) request_.body.reserve(static_cast<std::size_t>(*content_length));
  }

  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    request_.body.append(body.data(), body.size());
    return body.size();
  }

  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 beast::error_code&) override {
    request_.body.append(body.data(), body.size());
    return body.size();
  }

  void on_finish_impl(beast::error_code&) override {}

  Request request_;
  int version_ = 11;
  bool expect_continue_ = false;
};

class Connection;

// The connection whose handler this thread is calling right now (Connection::Route), if any. Its
// answer is written at once; an answer for any other connection, even one on this thread, is
// posted to it, so that answering never runs another connection's code (its event stream, say)
// inside the caller's, under whatever lock the caller holds.
thread_local const Connection* dispatching_connection = nullptr;

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
thread_local const ServerLife* running_server_life = nullptr;

// The state shared by the acceptor, the sweeper and every connection. Server::Impl derives from
// it; it lives in this unnamed namespace so that Connection may name it.
class ServerCore {
 public:
  ServerCore(ServerOptions options, const Router& router, MetricsRegistry& metrics);
  ~ServerCore();

  void Listen();
  std::uint16_t port() const { return bound_port_.load(); }
  void Run();
  void Stop();
  bool accepting() const { return accepting_.load(); }
  void Post(std::function<void()> task);

  // Used by connections.
  const ServerOptions& options() const { return options_; }
  const Router& router() const { return router_; }
  const CidrList& trusted_proxies() const { return trusted_proxies_; }
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
  void ForceCloseAll();

  const ServerOptions options_;
  const Router& router_;
  MetricsRegistry& metrics_;
  CidrList trusted_proxies_;
  // Tells this server's entries apart in the thread-local metric cache (a registry address may
  // be reused by a later server in the same process; an id never is).
  const std::uint64_t server_id_;
  const std::shared_ptr<ServerLife> life_ = std::make_shared<ServerLife>();

  Gauge& connections_open_;
  Counter& connections_rejected_;
  Gauge& streams_open_;
  Counter& streams_rejected_;
  Counter& stream_events_sent_;

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
  std::optional<net::steady_timer> drain_timer_;
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

  std::mutex connections_mutex_;
  // The registry owns each open connection; Respond callbacks hold weak references only, so a
  // callback kept past the server's life cannot keep a socket alive past its io_context.
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
  std::atomic<std::size_t> open_count_{0};
  std::atomic<std::size_t> stream_count_{0};
};

// One claimed place among max_streams, given back when the stream's answer is done with.
class StreamLease {
 public:
  StreamLease() = default;
  explicit StreamLease(ServerCore* server) : server_(server) {}
  StreamLease(StreamLease&& other) noexcept : server_(std::exchange(other.server_, nullptr)) {}
  StreamLease& operator=(StreamLease&& other) noexcept {
    if (this != &other) {
      Release();
      server_ = std::exchange(other.server_, nullptr);
    }
    return *this;
  }
  StreamLease(const StreamLease&) = delete;
  StreamLease& operator=(const StreamLease&) = delete;
  ~StreamLease() { Release(); }

  void Release() {
    if (server_ != nullptr) std::exchange(server_, nullptr)->CloseStream();
  }

 private:
  ServerCore* server_ = nullptr;
};

// One request from the moment it is read until its answer is written and every copy of its
// Respond callback is gone: the handler may keep using the Request until it answers.
struct Exchange {
  Request request;
  std::shared_ptr<ServerLife> server_life;
  std::weak_ptr<Connection> connection;
  std::uint64_t sequence = 0;
  std::atomic<bool> answered{false};
  std::atomic<int> responders{0};
  // True while the handler call is on the stack; Route then judges a dropped Respond itself,
  // so that a throwing handler is reported as throwing rather than as dropping its answer.
  std::atomic<bool> dispatching{false};
};

// Delivers an answer once; false when one was delivered before.
bool Answer(Exchange& exchange, Response response);

// The callable behind `Respond`. It counts its copies so that the last one to go notices a
// handler that never answered, and answers 500 instead of stalling the connection forever.
class Responder {
 public:
  explicit Responder(std::shared_ptr<Exchange> exchange) : exchange_(std::move(exchange)) {
    exchange_->responders.fetch_add(1, std::memory_order_relaxed);
  }
  Responder(const Responder& other) : exchange_(other.exchange_) {
    if (exchange_) exchange_->responders.fetch_add(1, std::memory_order_relaxed);
  }
  Responder(Responder&& other) noexcept = default;
  Responder& operator=(const Responder&) = delete;
  Responder& operator=(Responder&&) = delete;
  ~Responder();

  void operator()(Response response) const {
    if (!Answer(*exchange_, std::move(response))) {
      LogWarn("http_duplicate_answer_dropped", {{"request_id", exchange_->request.request_id}});
    }
  }

 private:
  std::shared_ptr<Exchange> exchange_;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerCore& server, Socket socket, bool reject)
      : server_(server), socket_(std::move(socket)), reject_(reject) {}

  void Start() {
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->OnStart(); });
  }

  // Called from any thread. Written at once when it comes from this connection's own handler
  // call; otherwise posted to the connection's I/O thread.
  void Deliver(std::uint64_t sequence, Response response) {
    if (server_.hard_stopped()) return;
    if (dispatching_connection == this) {
      OnResponse(sequence, std::move(response));
      return;
    }
    net::post(socket_.get_executor(),
              [self = shared_from_this(), sequence, response = std::move(response)]() mutable {
                self->OnResponse(sequence, std::move(response));
              });
  }

  void PostStop() {
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->OnStop(); });
  }

  void PostTimeout() {
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->OnTimeout(); });
  }

  bool DeadlinePassed(std::int64_t now_ns) const {
    return std::min(read_deadline_ns_.load(std::memory_order_relaxed),
                    write_deadline_ns_.load(std::memory_order_relaxed)) <= now_ns;
  }

  // Only once no thread runs the io_contexts any more (end of Run), so no hop is needed.
  void ForceClose() {
    closed_ = true;
    ReleaseStreams();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  bool ServerStopped() const { return server_.hard_stopped(); }

 private:
  struct Slot {
    std::shared_ptr<Exchange> exchange;  // null for an interim 100 Continue
    Response response;
    std::string_view route = kUnmatchedRoute;
    SteadyClock::time_point started;
    int version = 11;
    bool ready = false;
    bool close = false;        // the connection closes after this answer
    bool linger = false;       // ...and the client may still be sending (body not read, 503)
    StreamLease stream_lease;  // held while the answer is an event stream
  };

  // The event stream being written. It belongs to slots_.front(), which stays queued (holding
  // back the answers behind it) until the stream has ended.
  struct ActiveStream {
    std::function<StreamStep()> next;
    std::chrono::milliseconds interval{1000};
    bool chunked = true;         // HTTP/1.1; HTTP/1.0 streams end by closing
    bool ending = false;         // the write in flight (or none, if close-delimited) is the end
    bool end_requested = false;  // end once the write in flight is done
    SteadyClock::time_point last_write;
  };

  void OnStart();
  void OnStop();
  void OnTimeout();
  void ReadMore();
  void OnRead(const boost::system::error_code& ec, std::size_t bytes);
  void ParseBuffered();
  void StartRequest();
  void FinishRequest();
  void FailRequest(const beast::error_code& ec);
  void MaybeQueueContinue();
  Slot& PushSlot(Request&& request, int version, bool close);
  void Route(Slot& slot);
  void OnResponse(std::uint64_t sequence, Response response);
  void Complete(Slot& slot, Response response);
  void MaybeWrite();
  void AppendHead(const Slot& slot, bool close, std::string& out) const;
  void OnWrite(const boost::system::error_code& ec);
  void ContinueAfterAnswers();
  void CloseAfterFinalAnswer(bool linger);
  void StartStream();
  void ArmStreamTimer();
  void OnStreamTick(std::uint64_t generation);
  StreamStep PullStream();
  void AppendStreamStep(const StreamStep& step, std::string& out);
  void AppendStreamEnd(std::string& out);
  void WriteStream(std::string data);
  void OnStreamWrite(const boost::system::error_code& ec);
  void EndStream();
  void FinishStream();
  void ReleaseStreams();
  void StartLinger();
  void Close();
  std::string ClientAddress(const Request& request) const;
  void SetReadDeadline(std::int64_t deadline_ns) {
    read_deadline_ns_.store(deadline_ns, std::memory_order_relaxed);
  }
  // The deadline while waiting for a request to begin: idle if nothing is outstanding; none
  // while answers are pending, because then the client is waiting for us, not we for it.
  void SetWaitingDeadline() {
    SetReadDeadline(slots_.empty() ? DeadlineAfter(server_.options().idle_timeout_s) : kNoDeadline);
  }

  ServerCore& server_;
  Socket socket_;
  const bool reject_;

  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;  // engaged while a request is being read
  std::deque<Slot> slots_;               // answers owed, in request order
  std::uint64_t first_sequence_ = 0;     // sequence number of slots_.front()
  std::uint64_t next_sequence_ = 0;

  std::string write_data_;
  std::vector<net::const_buffer> write_buffers_;
  std::optional<ActiveStream> stream_;
  std::optional<net::steady_timer> stream_timer_;  // made for the first stream, then reused
  std::uint64_t stream_generation_ = 0;  // a tick of an earlier stream must not drive this one
  std::size_t slots_in_write_ = 0;
  bool close_after_write_ = false;
  bool linger_after_write_ = false;

  std::string peer_address_;
  bool peer_trusted_ = false;

  bool reading_ = false;
  bool writing_ = false;
  bool read_closed_ = false;  // no further request will be read
  bool peer_eof_ = false;
  bool stopping_ = false;
  bool lingering_ = false;
  bool closed_ = false;
  bool continue_queued_ = false;
  std::size_t lingered_bytes_ = 0;

  std::atomic<std::int64_t> read_deadline_ns_{kNoDeadline};
  std::atomic<std::int64_t> write_deadline_ns_{kNoDeadline};
};

// Runs fn(connection) if the exchange's connection is still open and its server still whole
// (see ServerLife). The reference taken on the connection is dropped inside the gate, so that a
// connection this thread happens to hold last is destroyed while its io_context still exists.
template <typename Fn>
void WithConnection(const Exchange& exchange, Fn&& fn) {
  ServerLife& life = *exchange.server_life;
  std::shared_lock<std::shared_mutex> gate;
  if (running_server_life != &life) {
    gate = std::shared_lock(life.mutex);
    if (!life.alive) return;
  }
  if (std::shared_ptr<Connection> connection = exchange.connection.lock()) fn(*connection);
}

bool Answer(Exchange& exchange, Response response) {
  if (exchange.answered.exchange(true, std::memory_order_acq_rel)) return false;
  WithConnection(exchange, [&](Connection& connection) {
    connection.Deliver(exchange.sequence, std::move(response));
  });
  return true;
}

Responder::~Responder() {
  if (!exchange_) return;  // moved from
  if (exchange_->responders.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (exchange_->answered.load(std::memory_order_acquire)) return;
  if (exchange_->dispatching.load(std::memory_order_acquire)) return;
  bool awaited = false;  // false: nobody is waiting for this answer any more
  WithConnection(*exchange_,
                 [&](Connection& connection) { awaited = !connection.ServerStopped(); });
  if (!awaited) return;
  LogError("http_handler_never_answered", {{"request_id", exchange_->request.request_id}});
  Answer(*exchange_, InternalErrorResponse());
}

// ---- Connection -------------------------------------------------------------------------------

void Connection::OnStart() {
  boost::system::error_code ec;
  const auto endpoint = socket_.remote_endpoint(ec);
  if (ec) {
    Close();
    return;
  }
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  }
  peer_address_ = address.to_string();
  if (!server_.trusted_proxies().empty()) {
    peer_trusted_ = server_.trusted_proxies().Contains(std::string_view(peer_address_));
  }

  if (reject_) {
    // Over the connection cap: answer at once without reading, then close.
    Request request;
    request.method = Method::kOther;  // never read
    request.request_id = GenerateRequestId();
    request.client_address = peer_address_;
    Slot& slot = PushSlot(std::move(request), 11, true);
    slot.linger = true;
    read_closed_ = true;
    Error error = Error::Make(ErrorKind::kUnavailable, "overloaded",
                              "The server has too many open connections; retry shortly.");
    error.retry_after_s = 1;
    Complete(slot, ErrorResponse(error));
    MaybeWrite();
    return;
  }
  ReadMore();
}

void Connection::OnStop() {
  stopping_ = true;
  if (closed_ || lingering_) return;
  // A request already arriving is finished and answered; nothing new is read after it.
  if (!parser_) read_closed_ = true;
  // A stream would never finish by itself: end it (streams not started yet end after their first
  // event, see StartStream).
  if (stream_) {
    EndStream();
    return;
  }
  if (slots_.empty() && !parser_) Close();
}

void Connection::OnTimeout() {
  if (closed_) return;
  if (DeadlinePassed(NowNs())) Close();
}

void Connection::ReadMore() {
  if (reading_ || closed_) return;
  if (!lingering_) {
    if (read_closed_) {
      // No request may follow, but a stream's client is still watched for hanging up.
      if (!stream_ || peer_eof_) return;
    } else if (!parser_) {
      if (slots_.size() >= server_.options().pipeline_limit) {
        SetReadDeadline(kNoDeadline);  // paused until answers drain; resumed by OnWrite
        return;
      }
      SetWaitingDeadline();
    }
  }
  reading_ = true;
  socket_.async_read_some(
      buffer_.prepare(kReadChunkBytes),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t bytes) {
        self->OnRead(ec, bytes);
      });
}

void Connection::OnRead(const boost::system::error_code& ec, std::size_t bytes) {
  reading_ = false;
  if (closed_) return;
  if (lingering_) {
    // Discard: the bytes were never committed to the buffer.
    lingered_bytes_ += bytes;
    if (ec || lingered_bytes_ > kLingerBytesMax) {
      Close();
    } else {
      ReadMore();
    }
    return;
  }
  if (ec) {
    if (ec == net::error::eof && !parser_) {
      // The client has sent all it will; answer what it asked, then close. A stream's client
      // that hangs up has gone away: a stream has no end it could be waiting for.
      peer_eof_ = true;
      read_closed_ = true;
      if (slots_.empty() || stream_) Close();
      return;
    }
    Close();  // reset, or the stream ended inside a request
    return;
  }
  buffer_.commit(bytes);
  if (read_closed_) {
    buffer_.consume(buffer_.size());  // after a final request or a stop: not read any more
    if (stream_) ReadMore();          // ...but keep watching for the stream's client to go
    return;
  }
  ParseBuffered();
}

void Connection::ParseBuffered() {
  while (!closed_ && !read_closed_ && buffer_.size() > 0) {
    if (!parser_) {
      if (slots_.size() >= server_.options().pipeline_limit) break;  // resumed by OnWrite
      StartRequest();
    }
    beast::error_code ec;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more) break;
    if (ec) {
      FailRequest(ec);
      return;
    }
    if (parser_->is_done()) {
      FinishRequest();
      continue;
    }
    if (used == 0) break;
  }
  MaybeQueueContinue();
  ReadMore();
}

void Connection::StartRequest() {
  parser_.emplace(server_.options().header_limit_bytes, server_.options().body_limit_bytes);
  continue_queued_ = false;
  // The whole request must arrive within read_timeout_s of its first byte (slow-loris bound).
  SetReadDeadline(DeadlineAfter(server_.options().read_timeout_s));
}

void Connection::FinishRequest() {
  const bool keep_alive = parser_->keep_alive();
  Slot& slot = PushSlot(std::move(parser_->request()), parser_->version(), !keep_alive);
  parser_.reset();
  if (!keep_alive || stopping_) read_closed_ = true;
  SetReadDeadline(kNoDeadline);  // re-armed by ReadMore or the next StartRequest
  Route(slot);
}

void Connection::FailRequest(const beast::error_code& ec) {
  Slot& slot = PushSlot(std::move(parser_->request()), parser_->version(), true);
  parser_.reset();
  read_closed_ = true;
  buffer_.consume(buffer_.size());
  SetReadDeadline(kNoDeadline);

  slot.linger = true;
  const auto& options = server_.options();
  Response response;
  if (ec == bhttp::error::body_limit) {
    boost::json::object details;
    details["limit_bytes"] = options.body_limit_bytes;
    response = ErrorResponse(Error::Make(
        ErrorKind::kPayloadTooLarge, "payload_too_large",
        "The request body is larger than " + std::to_string(options.body_limit_bytes) + " bytes.",
        std::move(details)));
  } else if (ec == bhttp::error::header_limit) {
    boost::json::object details;
    details["limit_bytes"] = options.header_limit_bytes;
    details["limit_fields"] = kHeaderFieldsMax;
    response = ErrorResponse(Error::Make(ErrorKind::kMalformed, "header_too_large",
                                         "The request header is too large.", std::move(details)));
    response.status = 431;  // RFC 6585; the body still has the API's error shape
  } else {
    response =
        ErrorResponse(Error::Make(ErrorKind::kMalformed, "malformed_request",
                                  "The request is not valid HTTP/1.1: " + ec.message() + "."));
  }
  Complete(slot, std::move(response));
  MaybeWrite();
}

void Connection::MaybeQueueContinue() {
  if (!parser_ || continue_queued_ || !parser_->expect_continue()) return;
  if (!parser_->is_header_done() || parser_->is_done()) return;
  // The client waits for this before sending the body; it goes out after earlier answers.
  continue_queued_ = true;
  ++next_sequence_;
  Slot& slot = slots_.emplace_back();
  slot.ready = true;
  MaybeWrite();
}

Connection::Slot& Connection::PushSlot(Request&& request, int version, bool close) {
  auto exchange = std::make_shared<Exchange>();
  exchange->request = std::move(request);
  exchange->server_life = server_.life();
  exchange->connection = weak_from_this();
  exchange->sequence = next_sequence_++;
  Request& req = exchange->request;
  if (req.request_id.empty()) {
    const auto client_id = req.Header("x-request-id");
    req.request_id =
        client_id && IsSaneRequestId(*client_id) ? std::string(*client_id) : GenerateRequestId();
  }
  if (req.client_address.empty()) req.client_address = ClientAddress(req);

  Slot& slot = slots_.emplace_back();
  slot.exchange = std::move(exchange);
  slot.version = version;
  slot.close = close;
  slot.started = SteadyClock::now();
  return slot;
}

void Connection::Route(Slot& slot) {
  Exchange& exchange = *slot.exchange;
  Request& request = exchange.request;
  if (!SplitTarget(request)) {
    Complete(slot, ErrorResponse(Error::Make(ErrorKind::kMalformed, "malformed_request",
                                             "The request target is not a valid path.")));
    MaybeWrite();
    return;
  }

  RouteMatch match = server_.router().Match(request.method, request.path);
  if (match.outcome == RouteMatch::Outcome::kNotFound) {
    Complete(slot, ErrorResponse(Error::Make(ErrorKind::kNotFound, "not_found",
                                             "There is nothing at " + request.path + ".")));
    MaybeWrite();
    return;
  }
  if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed) {
    std::string allow;
    boost::json::array allowed;
    for (Method method : match.allowed) {
      if (!allow.empty()) allow += ", ";
      allow += MethodName(method);
      allowed.emplace_back(MethodName(method));
    }
    boost::json::object details;
    details["allowed"] = std::move(allowed);
    Response response = ErrorResponse(Error::Make(
        ErrorKind::kMethodNotAllowed, "method_not_allowed",
        std::string(MethodName(request.method)) + " is not allowed on " + request.path + ".",
        std::move(details)));
    response.SetHeader("Allow", std::move(allow));
    Complete(slot, std::move(response));
    MaybeWrite();
    return;
  }

  slot.route = match.pattern;
  request.path_params = std::move(match.params);
  const std::shared_ptr<Exchange> exchange_ref = slot.exchange;
  const std::string_view route = slot.route;
  exchange_ref->dispatching.store(true, std::memory_order_release);
  struct Dispatching {
    explicit Dispatching(const Connection* connection)
        : previous(std::exchange(dispatching_connection, connection)) {}
    ~Dispatching() { dispatching_connection = previous; }
    const Connection* previous;
  };
  // Exceptions must not cross into Asio (they would end the I/O thread): contain them here.
  try {
    const Dispatching dispatching(this);
    (*match.handler)(request, Respond(Responder(exchange_ref)));
  } catch (const std::exception& e) {
    LogError("http_handler_threw", {{"method", MethodName(request.method)},
                                    {"route", route},
                                    {"error", e.what()},
                                    {"request_id", request.request_id}});
    Answer(*exchange_ref, InternalErrorResponse());
  } catch (...) {
    LogError("http_handler_threw", {{"method", MethodName(request.method)},
                                    {"route", route},
                                    {"error", "not a std::exception"},
                                    {"request_id", request.request_id}});
    Answer(*exchange_ref, InternalErrorResponse());
  }
  exchange_ref->dispatching.store(false, std::memory_order_release);
  // Checked before building the 500: a handler that answered at once has dropped its Respond
  // too, and making an error answer only for Answer() to drop it cost a tenth of a status poll.
  if (exchange_ref->responders.load(std::memory_order_acquire) == 0 &&
      !exchange_ref->answered.load(std::memory_order_acquire) &&
      Answer(*exchange_ref, InternalErrorResponse())) {
    LogError("http_handler_never_answered", {{"method", MethodName(request.method)},
                                             {"route", route},
                                             {"request_id", request.request_id}});
  }
}

void Connection::OnResponse(std::uint64_t sequence, Response response) {
  if (closed_ || lingering_) return;
  if (sequence < first_sequence_ || sequence - first_sequence_ >= slots_.size()) return;
  Slot& slot = slots_[static_cast<std::size_t>(sequence - first_sequence_)];
  if (slot.ready) return;
  Complete(slot, std::move(response));
  MaybeWrite();
}

void Connection::Complete(Slot& slot, Response response) {
  if (response.status < 200 || response.status > 599) {
    LogError("http_invalid_status_replaced",
             {{"status", response.status}, {"request_id", slot.exchange->request.request_id}});
    response = InternalErrorResponse();
  }
  if (response.stream) {
    if (response.status != 200 || !response.stream->next) {
      LogError("http_invalid_stream_replaced",
               {{"status", response.status}, {"request_id", slot.exchange->request.request_id}});
      response = InternalErrorResponse();
    } else if (slot.exchange->request.method == Method::kHead) {
      // The head a GET would get, as far as it can be without a stream: no events, length 0.
      response.stream.reset();
      response.content_type = "text/event-stream";
      response.body.clear();
      std::erase_if(response.headers, [](const auto& header) {
        return EqualsIgnoreCase(header.first, "content-type") ||
               EqualsIgnoreCase(header.first, "cache-control");
      });
      response.SetHeader("Cache-Control", "no-store");
    } else if (server_.TryOpenStream()) {
      slot.stream_lease = StreamLease(&server_);
    } else {
      Error error = Error::Make(ErrorKind::kUnavailable, "overloaded",
                                "The server has too many open event streams; retry shortly.");
      error.retry_after_s = kStreamsFullRetryAfterS;
      response = ErrorResponse(error);
    }
  }
  slot.response = std::move(response);
  slot.ready = true;

  const Request& request = slot.exchange->request;
  const auto elapsed = SteadyClock::now() - slot.started;
  server_.Record(slot.route, request.method, slot.response.status,
                 std::chrono::duration<double>(elapsed).count());
  if (server_.options().access_log) {
    LogInfo("request", {{"method", MethodName(request.method)},
                        {"path", request.path.empty() ? request.target : request.path},
                        {"route", slot.route},
                        {"status", slot.response.status},
                        {"duration_us",
                         std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()},
                        {"request_id", request.request_id},
                        {"client", request.client_address}});
  }
}

void Connection::AppendHead(const Slot& slot, bool close, std::string& out) const {
  if (!slot.exchange) {
    out += "HTTP/1.1 100 Continue\r\n\r\n"sv;
    return;
  }
  const Response& response = slot.response;
  const int status = response.status;
  const bool stream = response.stream.has_value();
  out += "HTTP/1.1 "sv;
  AppendNumber(out, static_cast<std::uint64_t>(status));
  out += ' ';
  out += ReasonPhrase(status);
  out += "\r\nServer: boxoffice\r\nDate: "sv;
  out += HttpDate();
  out += "\r\n"sv;
  if (stream) {
    // No Content-Length: chunked on HTTP/1.1, delimited by the close on HTTP/1.0.
    out += "Content-Type: text/event-stream\r\nCache-Control: no-store\r\n"sv;
    if (slot.version >= 11) out += "Transfer-Encoding: chunked\r\n"sv;
  } else if (status != 204 && status != 304) {
    // RFC 9110 §8.6: no Content-Length (and no body) on 204 and 304.
    bool has_content_type = false;
    for (const auto& [name, value] : response.headers) {
      if (EqualsIgnoreCase(name, "content-type")) has_content_type = true;
    }
    if (!has_content_type && !response.content_type.empty() &&
        IsValidHeaderValue(response.content_type)) {
      out += "Content-Type: "sv;
      out += response.content_type;
      out += "\r\n"sv;
    }
    out += "Content-Length: "sv;
    AppendNumber(out, response.body.size());
    out += "\r\n"sv;
  }
  out += "X-Request-Id: "sv;
  out += slot.exchange->request.request_id;
  out += "\r\n"sv;
  for (const auto& [name, value] : response.headers) {
    if (IsManagedHeader(name)) continue;
    if (stream &&
        (EqualsIgnoreCase(name, "content-type") || EqualsIgnoreCase(name, "cache-control"))) {
      continue;
    }
    if (!IsValidHeaderName(name) || !IsValidHeaderValue(value)) {
      LogWarn("http_invalid_header_dropped",
              {{"header", name}, {"request_id", slot.exchange->request.request_id}});
      continue;
    }
    out += name;
    out += ": "sv;
    out += value;
    out += "\r\n"sv;
  }
  if (close) {
    out += "Connection: close\r\n"sv;
  } else if (slot.version < 11) {
    out += "Connection: keep-alive\r\n"sv;
  }
  out += "\r\n"sv;
}

void Connection::MaybeWrite() {
  if (writing_ || closed_ || lingering_ || stream_) return;
  // Pieces of the gathered write: ranges of write_data_ (offset, size) or a large body. The
  // buffers are made only after write_data_ stops growing, since growth moves its bytes.
  struct Piece {
    std::size_t offset;
    std::size_t size;
    const std::string* body;
  };
  Piece pieces[kWriteBatchResponsesMax * 2 + 1];  // head run and large body per answer, + tail
  std::size_t piece_count = 0;
  write_data_.clear();
  std::size_t count = 0;
  bool close_after = false;
  bool linger_after = false;
  std::size_t run_start = 0;
  for (; count < slots_.size() && count < kWriteBatchResponsesMax; ++count) {
    const Slot& slot = slots_[count];
    if (!slot.ready) break;
    if (slot.response.stream) {
      if (count > 0) break;  // the answers ahead of it go first
      StartStream();
      return;
    }
    const bool last = count + 1 == slots_.size();
    const bool close = slot.exchange && (slot.close || (read_closed_ && last));
    AppendHead(slot, close, write_data_);
    if (slot.exchange) {
      const Response& response = slot.response;
      const bool send_body = response.status != 204 && response.status != 304 &&
                             slot.exchange->request.method != Method::kHead &&
                             !response.body.empty();
      if (send_body && response.body.size() <= kInlineBodyBytesMax) {
        write_data_ += response.body;
      } else if (send_body) {
        pieces[piece_count++] = {run_start, write_data_.size() - run_start, nullptr};
        pieces[piece_count++] = {0, response.body.size(), &response.body};
        run_start = write_data_.size();
      }
    }
    if (close) {
      close_after = true;
      linger_after = slot.linger;
      ++count;
      break;
    }
  }
  if (count == 0) return;
  if (write_data_.size() > run_start) {
    pieces[piece_count++] = {run_start, write_data_.size() - run_start, nullptr};
  }
  write_buffers_.clear();
  for (std::size_t i = 0; i < piece_count; ++i) {
    const Piece& piece = pieces[i];
    if (piece.size == 0) continue;
    write_buffers_.push_back(piece.body
                                 ? net::buffer(*piece.body)
                                 : net::buffer(write_data_.data() + piece.offset, piece.size));
  }
  slots_in_write_ = count;
  close_after_write_ = close_after;
  linger_after_write_ = linger_after;
  writing_ = true;
  write_deadline_ns_.store(DeadlineAfter(kWriteTimeoutS), std::memory_order_relaxed);
  net::async_write(socket_, write_buffers_,
                   [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                     self->OnWrite(ec);
                   });
}

void Connection::OnWrite(const boost::system::error_code& ec) {
  writing_ = false;
  write_deadline_ns_.store(kNoDeadline, std::memory_order_relaxed);
  if (closed_) return;
  if (ec) {
    Close();
    return;
  }
  for (std::size_t i = 0; i < slots_in_write_; ++i) {
    slots_.pop_front();
    ++first_sequence_;
  }
  slots_in_write_ = 0;
  if (close_after_write_) {
    CloseAfterFinalAnswer(linger_after_write_);
    return;
  }
  ContinueAfterAnswers();
}

// Closing with unread input makes the kernel send a reset, which can destroy the answer before
// the client reads it; so drain first when input may still come. A clean close (nothing pending)
// is immediate, which keeps a graceful stop short.
void Connection::CloseAfterFinalAnswer(bool linger) {
  boost::system::error_code ec_available;
  const bool input_pending = linger || buffer_.size() > 0 || socket_.available(ec_available) > 0;
  if (peer_eof_ || !input_pending) {
    Close();
  } else {
    StartLinger();
  }
}

// After answers at the front went out: write the next ones, and read again.
void Connection::ContinueAfterAnswers() {
  if (slots_.empty() && read_closed_) {
    Close();
    return;
  }
  MaybeWrite();
  if (reading_ && !parser_) SetWaitingDeadline();
  // Requests held back by the pipeline limit may go now.
  if (!parser_ && buffer_.size() > 0) {
    ParseBuffered();
  } else {
    ReadMore();
  }
}

void Connection::StartLinger() {
  lingering_ = true;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    Close();
    return;
  }
  parser_.reset();
  buffer_.consume(buffer_.size());
  SetReadDeadline(DeadlineAfter(kLingerTimeoutMs));
  ReadMore();
}

// ---- Event streams ----------------------------------------------------------------------------

void Connection::StartStream() {
  Slot& slot = slots_.front();
  if (peer_eof_) {
    Close();  // the client hung up before its stream began
    return;
  }
  ActiveStream& stream = stream_.emplace();
  stream.next = std::move(slot.response.stream->next);
  stream.interval =
      std::max(slot.response.stream->interval, std::chrono::milliseconds(kStreamIntervalMinMs));
  stream.chunked = slot.version >= 11;
  stream.last_write = SteadyClock::now();  // the head: no heartbeat is due yet
  ++stream_generation_;
  // As in MaybeWrite: the connection closes after this answer when the client asked for it or
  // nothing more will be read; a close-delimited stream always ends with the close.
  const bool close = !stream.chunked || slot.close || (read_closed_ && slots_.size() == 1);
  if (close) read_closed_ = true;

  std::string out;
  AppendHead(slot, close, out);
  AppendStreamStep(PullStream(), out);
  if (stopping_ && stream_ && !stream_->ending) AppendStreamEnd(out);
  WriteStream(std::move(out));
  if (closed_ || !stream_) return;
  if (!stream_->ending) ArmStreamTimer();
  ReadMore();  // a read stays outstanding, so a client hanging up is seen at once
}

void Connection::ArmStreamTimer() {
  if (!stream_timer_) stream_timer_.emplace(socket_.get_executor());
  stream_timer_->expires_after(stream_->interval);
  stream_timer_->async_wait([self = shared_from_this(),
                             generation = stream_generation_](const boost::system::error_code& ec) {
    if (!ec) self->OnStreamTick(generation);
  });
}

void Connection::OnStreamTick(std::uint64_t generation) {
  if (closed_ || !stream_ || generation != stream_generation_ || stream_->ending) return;
  // One write in flight: while the client has not taken the last one, the source is not asked,
  // so the states in between are never made; the next write carries the latest.
  if (!writing_) {
    std::string out;
    AppendStreamStep(PullStream(), out);
    if (!out.empty() || stream_->ending) WriteStream(std::move(out));
  }
  if (!closed_ && stream_ && !stream_->ending) ArmStreamTimer();
}

StreamStep Connection::PullStream() {
  // Exceptions must not cross into Asio: a source that throws ends its stream.
  try {
    return stream_->next();
  } catch (const std::exception& e) {
    LogError("http_stream_source_threw", {{"error", e.what()}});
  } catch (...) {
    LogError("http_stream_source_threw", {{"error", "not a std::exception"}});
  }
  return StreamStep::End();
}

void Connection::AppendStreamStep(const StreamStep& step, std::string& out) {
  ActiveStream& stream = *stream_;
  std::string frame;
  switch (step.kind) {
    case StreamStep::Kind::kEnd:
      AppendStreamEnd(out);
      return;
    case StreamStep::Kind::kEvent:
      AppendEventFrame(step.data, frame);
      server_.CountStreamEvent();
      break;
    case StreamStep::Kind::kNoChange:
      if (SteadyClock::now() - stream.last_write < server_.options().stream_heartbeat_ms) return;
      frame = kStreamHeartbeat;
      break;
  }
  if (stream.chunked) {
    AppendHex(out, frame.size());
    out += "\r\n";
    out += frame;
    out += "\r\n";
  } else {
    out += frame;
  }
  if (step.kind == StreamStep::Kind::kEvent && step.last) AppendStreamEnd(out);
}

void Connection::AppendStreamEnd(std::string& out) {
  stream_->ending = true;
  if (stream_->chunked) out += kLastChunk;
}

void Connection::WriteStream(std::string data) {
  if (data.empty()) {
    // Only a close-delimited stream ends with nothing to write.
    if (stream_->ending) FinishStream();
    return;
  }
  write_data_ = std::move(data);
  writing_ = true;
  write_deadline_ns_.store(DeadlineAfter(kWriteTimeoutS), std::memory_order_relaxed);
  net::async_write(socket_, net::buffer(write_data_),
                   [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                     self->OnStreamWrite(ec);
                   });
}

void Connection::OnStreamWrite(const boost::system::error_code& ec) {
  writing_ = false;
  write_deadline_ns_.store(kNoDeadline, std::memory_order_relaxed);
  if (closed_ || !stream_) return;
  if (ec) {
    Close();
    return;
  }
  stream_->last_write = SteadyClock::now();
  if (stream_->ending) {
    FinishStream();
  } else if (stream_->end_requested) {
    EndStream();
  }
}

// Ends the stream as soon as no write is in flight; a client that does not take the write in
// flight within kStreamStopGraceMs is dropped by the sweeper.
void Connection::EndStream() {
  if (!stream_ || stream_->ending) return;
  if (writing_) {
    stream_->end_requested = true;
    write_deadline_ns_.store(std::min(write_deadline_ns_.load(std::memory_order_relaxed),
                                      DeadlineAfter(kStreamStopGraceMs)),
                             std::memory_order_relaxed);
    return;
  }
  std::string out;
  AppendStreamEnd(out);
  WriteStream(std::move(out));
}

// The stream's last bytes are out: its answer is done, and the connection goes on (chunked) or
// closes (close-delimited).
void Connection::FinishStream() {
  const bool chunked = stream_->chunked;
  stream_.reset();
  ++stream_generation_;
  if (stream_timer_) stream_timer_->cancel();
  slots_.pop_front();  // gives back its lease
  ++first_sequence_;
  if (!chunked) {
    CloseAfterFinalAnswer(false);
    return;
  }
  ContinueAfterAnswers();
}

// Gives back every place among max_streams this connection holds and drops the stream's source
// (and whatever it keeps alive) now, not whenever the last handler holding the connection runs.
void Connection::ReleaseStreams() {
  stream_.reset();
  ++stream_generation_;
  stream_timer_.reset();
  for (Slot& slot : slots_) slot.stream_lease.Release();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  auto self = shared_from_this();  // the registry may hold the last reference
  ReleaseStreams();
  SetReadDeadline(kNoDeadline);
  write_deadline_ns_.store(kNoDeadline, std::memory_order_relaxed);
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  server_.OnConnectionClosed(this, !reject_);
}

// The peer, unless it is a trusted proxy: then the right-most X-Forwarded-For entry that is not
// itself a trusted proxy. Entries are read right to left because only the right end was written
// by proxies we trust; anything further left is whatever the client claimed.
std::string Connection::ClientAddress(const Request& request) const {
  if (!peer_trusted_) return peer_address_;
  const CidrList& trusted = server_.trusted_proxies();
  std::string client = peer_address_;
  for (auto header = request.headers.rbegin(); header != request.headers.rend(); ++header) {
    if (header->first != "x-forwarded-for") continue;
    std::string_view list = header->second;
    while (!list.empty()) {
      const auto comma = list.rfind(',');
      std::string_view entry = comma == std::string_view::npos ? list : list.substr(comma + 1);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
      while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) {
        entry.remove_prefix(1);
      }
      while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) {
        entry.remove_suffix(1);
      }
      const auto address = IpAddress::Parse(entry);
      // Garbage where an address should be: trust stops at the last hop that wrote it.
      if (!address) return client;
      client = address->ToString();
      if (!trusted.Contains(*address)) return client;
    }
  }
  return client;
}

// ---- ServerCore -------------------------------------------------------------------------------

std::atomic<std::uint64_t> next_server_id{1};

CidrList ParseTrustedProxies(const std::vector<std::string>& items) {
  auto parsed = CidrList::Parse(items);
  if (!parsed) throw std::invalid_argument("trusted_proxies: " + parsed.error().message);
  return std::move(parsed).value();
}

ServerCore::ServerCore(ServerOptions options, const Router& router, MetricsRegistry& metrics)
    : options_(std::move(options)),
      router_(router),
      metrics_(metrics),
      trusted_proxies_(ParseTrustedProxies(options_.trusted_proxies)),
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
      ios_(options_.threads == 0 ? std::max(1u, std::thread::hardware_concurrency())
                                 : options_.threads) {
  for (auto& io : ios_) {
    io = std::make_unique<net::io_context>(1);  // one thread runs it
    io_work_.push_back(net::make_work_guard(*io));
  }
  control_.emplace(ios_.front()->get_executor());
  acceptor_.emplace(*control_);
  sweep_timer_.emplace(*control_);
  drain_timer_.emplace(*control_);
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
  drain_timer_.reset();
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
    ScheduleSweep();
  });
}

void ServerCore::Sweep() {
  const std::int64_t now = NowNs();
  std::lock_guard lock(connections_mutex_);
  for (const auto& [raw, connection] : connections_) {
    if (connection->DeadlinePassed(now)) connection->PostTimeout();
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
  drain_timer_->expires_after(options_.drain_timeout_s);
  drain_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    std::size_t left = 0;
    {
      std::lock_guard lock(connections_mutex_);
      left = connections_.size();
    }
    if (left > 0) LogWarn("http_drain_timeout", {{"connections_closed", left}});
    FinishStop();
  });
}

void ServerCore::FinishStop() {
  if (stop_finished_) return;
  stop_finished_ = true;
  drain_timer_->cancel();
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

}  // namespace

struct Server::Impl : ServerCore {
  using ServerCore::ServerCore;
};

Server::Server(ServerOptions options, const Router& router, MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics)) {}

Server::~Server() = default;

void Server::Listen() { impl_->Listen(); }
std::uint16_t Server::port() const { return impl_->port(); }
void Server::Run() { impl_->Run(); }
void Server::Stop() { impl_->Stop(); }
bool Server::accepting() const { return impl_->accepting(); }
void Server::Post(std::function<void()> task) { impl_->Post(std::move(task)); }

}  // namespace boxoffice::http
