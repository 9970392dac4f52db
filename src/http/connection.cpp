#include "http/connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json/array.hpp>

#include <algorithm>
#include <random>
#include <thread>
#include <utility>

#include "common/card_digits.hpp"
#include "common/log.hpp"
#include "http/ascii.hpp"
#include "http/compression.hpp"
#include "http/error_response.hpp"
#include "http/request_target.hpp"
#include "http/response_writer.hpp"

namespace boxoffice::http::internal {
namespace {

// Bytes asked of the kernel per read; a typical request fits in one.
constexpr std::size_t kReadChunkBytes = 16 * 1024;
// A client's X-Request-Id longer than this (or with other than visible ASCII, or a card number)
// is replaced.
constexpr std::size_t kRequestIdBytesMax = 128;
// After a final answer (413, 503, Connection: close) the server half-closes and drains what the
// client still sends, so the client reads the answer instead of a reset; bounded both ways.
constexpr auto kLingerTimeoutMs = std::chrono::milliseconds(2000);
constexpr std::size_t kLingerBytesMax = 1 << 20;
// Answers gathered into one write when a client pipelines.
constexpr std::size_t kWriteBatchResponsesMax = 16;
// Bodies up to this size are copied next to their header, so most writes are one buffer.
constexpr std::size_t kInlineBodyBytesMax = 16 * 1024;

bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > kRequestIdBytesMax) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;  // visible ASCII only: it goes into logs and headers
  }
  // It is logged with every line about the request and kept in the defence's decision log: a
  // card number pasted there must reach neither.
  return IsCanonicalUuid(id) || !ContainsCardNumber(id);
}

// 16 hex digits from a per-thread SplitMix64: unique enough to find a request in the logs, and
// no lock or system call per request.
std::string GenerateRequestId() {
  thread_local std::uint64_t state = [] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device() ^
           // Entropy only, so the steady clock, not the server's (a FakeClock in tests).
           static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
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

Response InternalErrorResponse() {
  return ErrorResponse(Error::Internal("The server failed to answer this request."));
}

// What `OPTIONS *` answers; Method::kOther is not among them (501).
constexpr Method kImplementedMethods[] = {Method::kGet,    Method::kHead,  Method::kPost,
                                          Method::kPut,    Method::kPatch, Method::kDelete,
                                          Method::kOptions};

// OPTIONS among a path's methods: the server answers it wherever a route serves the path.
void WithOptions(std::vector<Method>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), Method::kOptions) == allowed.end()) {
    allowed.push_back(Method::kOptions);
  }
}

// A request refused before routing, with a status no ErrorKind has (414, 431, 501); the body keeps
// the API's error shape.
Response RefusedResponse(int status, std::string code, std::string message,
                         boost::json::object details = {}) {
  Response response = ErrorResponse(
      Error::Make(ErrorKind::kMalformed, std::move(code), std::move(message), std::move(details)));
  response.status = status;
  return response;
}

// The connection whose handler this thread is calling right now (Connection::Route), if any. Its
// answer is written at once; an answer for any other connection, even one on this thread, is
// posted to it, so that answering never runs another connection's code (its event stream, say)
// inside the caller's, under whatever lock the caller holds.
thread_local const Connection* dispatching_connection = nullptr;

}  // namespace

bool Answer(Exchange& exchange, Response response) {
  if (exchange.answered.exchange(true, std::memory_order_acq_rel)) return false;
  // Here, on the answering thread (a worker's, when the handler answered later), rather than on
  // the I/O thread that writes it.
  MaybeCompress(exchange.request, response);
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

void Responder::operator()(Response response) const {
  if (!Answer(*exchange_, std::move(response))) {
    LogWarn("http_duplicate_answer_dropped", {{"request_id", exchange_->request.request_id}});
  }
}

void Connection::Start() {
  net::post(transport_.get_executor(), [self = shared_from_this()] { self->OnStart(); });
}

void Connection::Deliver(std::uint64_t sequence, Response response) {
  if (server_.hard_stopped()) return;
  if (dispatching_connection == this) {
    OnResponse(sequence, std::move(response));
    return;
  }
  net::post(transport_.get_executor(),
            [self = shared_from_this(), sequence, response = std::move(response)]() mutable {
              self->OnResponse(sequence, std::move(response));
            });
}

void Connection::PostStop() {
  net::post(transport_.get_executor(), [self = shared_from_this()] { self->OnStop(); });
}

void Connection::PostTimeout() {
  net::post(transport_.get_executor(), [self = shared_from_this()] { self->OnTimeout(); });
}

void Connection::ForceClose() {
  closed_ = true;
  ReleaseStreams();
  boost::system::error_code ignored;
  transport_.socket().close(ignored);
}

void Connection::OnStart() {
  now_ns_ = server_.NowNs();
  boost::system::error_code ec;
  const auto endpoint = transport_.socket().remote_endpoint(ec);
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
  if (!transport_.tls()) {
    Begin();
    return;
  }
  // The handshake must be done within the read timeout, as a request must.
  SetReadDeadline(DeadlineAfter(now_ns_, server_.options().read_timeout_s));
  transport_.AsyncHandshake(
      [self = shared_from_this()](const boost::system::error_code& ec) { self->OnHandshake(ec); });
}

void Connection::OnHandshake(const boost::system::error_code& ec) {
  // Counted even when the connection is closed already: the read timeout ended the handshake.
  if (ec) server_.CountTlsHandshakeFailure();
  if (closed_) return;
  now_ns_ = server_.NowNs();
  if (ec) {
    // Debug only: scanners and plain-HTTP clients fail handshakes all day; the metric counts them.
    Log(spdlog::level::debug, "tls_handshake_failed",
        {{"client", peer_address_}, {"error", ec.message()}});
    Close();
    return;
  }
  SetReadDeadline(kNoDeadline);
  Begin();
}

void Connection::Begin() {
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
  now_ns_ = server_.NowNs();
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
  now_ns_ = server_.NowNs();
  if (DeadlinePassed(now_ns_)) Close();
}

void Connection::ReadMore() {
  if (reading_ || closed_) return;
  if (!lingering_) {
    if (read_closed_) {
      // No request may follow, but a stream's client is still watched for hanging up.
      if (!stream_ || peer_eof_) return;
    } else if (!parser_) {
      if (Backlogged()) {
        SetReadDeadline(kNoDeadline);  // paused until answers drain; resumed by OnWrite
        return;
      }
      SetWaitingDeadline();
    }
  }
  reading_ = true;
  transport_.AsyncReadSome(
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
    if (Transport::IsPeerClose(ec) && !parser_) {
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
  now_ns_ = server_.NowNs();
  while (!closed_ && !read_closed_ && buffer_.size() > 0) {
    if (!parser_) {
      if (Backlogged()) break;  // resumed by OnWrite
      StartRequest();
    }
    beast::error_code ec;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more) {
      // Inside a body Beast consumes data as it comes, so what it leaves buffered is a chunk-size
      // line or the trailer, which it would otherwise wait for however long it grew.
      if (parser_->is_header_done() && buffer_.size() > server_.options().header_limit_bytes) {
        boost::json::object details;
        details["limit_bytes"] = server_.options().header_limit_bytes;
        FailRequest(
            RefusedResponse(400, "chunk_line_too_large",
                            "A chunk-size line or the trailer of the chunked body is too large.",
                            std::move(details)));
        return;
      }
      break;
    }
    if (ec) {
      FailRequest(RefusalResponse(ec));
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
  SetReadDeadline(DeadlineAfter(now_ns_, server_.options().read_timeout_s));
}

void Connection::FinishRequest() {
  const bool keep_alive = parser_->keep_alive();
  Slot& slot = PushSlot(std::move(parser_->request()), parser_->version(), !keep_alive);
  parser_.reset();
  if (!keep_alive || stopping_) read_closed_ = true;
  SetReadDeadline(kNoDeadline);  // re-armed by ReadMore or the next StartRequest
  Route(slot);
}

// The answer to a request the parser refused; the connection closes after it.
Response Connection::RefusalResponse(const beast::error_code& ec) const {
  const auto& options = server_.options();
  switch (parser_->refusal()) {
    case Refusal::kBadFraming:
      return RefusedResponse(
          400, "bad_transfer_encoding",
          "Transfer-Encoding must end in chunked, name it once, and not be sent by "
          "HTTP/1.0 (RFC 9112 section 6).");
    case Refusal::kUnsupportedCoding:
      return RefusedResponse(501, "unsupported_transfer_coding",
                             "This server implements no transfer coding but chunked.");
    case Refusal::kBadHost:
      return RefusedResponse(400, "bad_host",
                             "An HTTP/1.1 request carries exactly one Host header.");
    case Refusal::kTargetTooLong: {
      boost::json::object details;
      details["limit_bytes"] = kRequestTargetBytesMax;
      return RefusedResponse(414, "uri_too_long", "The request target is too long.",
                             std::move(details));
    }
    case Refusal::kNone:
      break;
  }
  if (ec == bhttp::error::body_limit) {
    boost::json::object details;
    details["limit_bytes"] = options.body_limit_bytes;
    return ErrorResponse(Error::Make(
        ErrorKind::kPayloadTooLarge, "payload_too_large",
        "The request body is larger than " + std::to_string(options.body_limit_bytes) + " bytes.",
        std::move(details)));
  }
  if (ec == bhttp::error::header_limit && !parser_->has_request_line()) {
    // The limit was reached inside the request line: the target is what is too long.
    boost::json::object details;
    details["limit_bytes"] = std::min(kRequestTargetBytesMax, options.header_limit_bytes);
    return RefusedResponse(414, "uri_too_long", "The request target is too long.",
                           std::move(details));
  }
  if (ec == bhttp::error::header_limit) {
    boost::json::object details;
    details["limit_bytes"] = options.header_limit_bytes;
    details["limit_fields"] = kHeaderFieldsMax;
    return RefusedResponse(431, "header_too_large", "The request header is too large.",
                           std::move(details));  // RFC 6585
  }
  return RefusedResponse(400, "malformed_request",
                         "The request is not valid HTTP/1.1: " + ec.message() + ".");
}

void Connection::FailRequest(Response response) {
  Slot& slot = PushSlot(std::move(parser_->request()), parser_->version(), true);
  parser_.reset();
  read_closed_ = true;
  buffer_.consume(buffer_.size());
  SetReadDeadline(kNoDeadline);
  slot.linger = true;
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
  slot.started_ns = now_ns_;
  return slot;
}

void Connection::Route(Slot& slot) {
  Exchange& exchange = *slot.exchange;
  Request& request = exchange.request;
  if (request.method == Method::kOther) {
    // RFC 9110 section 9.1: a method the server does not implement is 501 wherever it is sent
    // (405 is for a method it knows that the path does not take).
    Complete(slot, RefusedResponse(501, "not_implemented",
                                   "This server implements GET, HEAD, POST, PUT, PATCH, DELETE "
                                   "and OPTIONS only."));
    MaybeWrite();
    return;
  }
  if (request.method == Method::kOptions && request.target == "*") {
    Complete(slot, server_.cors().Options(
                       request, {std::begin(kImplementedMethods), std::end(kImplementedMethods)}));
    MaybeWrite();
    return;
  }
  std::string_view encoded_path;
  if (!ParseRequestTarget(request.target, request.path, request.query, &encoded_path)) {
    Complete(slot, ErrorResponse(Error::Make(ErrorKind::kMalformed, "malformed_request",
                                             "The request target is not a valid path.")));
    MaybeWrite();
    return;
  }

  RouteMatch match = server_.router().Match(request.method, encoded_path);
  if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed &&
      request.method == Method::kOptions) {
    // No route answers OPTIONS itself: the server does, from the methods the path takes.
    WithOptions(match.allowed);
    Complete(slot, server_.cors().Options(request, match.allowed));
    MaybeWrite();
    return;
  }
  if (match.outcome == RouteMatch::Outcome::kNotFound) {
    Complete(slot, ErrorResponse(Error::Make(ErrorKind::kNotFound, "not_found",
                                             "There is nothing at " + request.path + ".")));
    MaybeWrite();
    return;
  }
  if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed) {
    WithOptions(match.allowed);  // the server answers it on every route's path
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
  server_.cors().Decorate(slot.exchange->request, response);
  slot.response = std::move(response);
  slot.ready = true;
  answer_bytes_waiting_ += slot.response.body.size();

  const Request& request = slot.exchange->request;
  // Read here rather than at the I/O event: the handler's own time is what the histogram shows.
  // The writes that follow count their deadlines from it too.
  now_ns_ = server_.NowNs();
  const std::chrono::nanoseconds elapsed(now_ns_ - slot.started_ns);
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
    AppendContinueHead(out);
    return;
  }
  AppendResponseHead(
      slot.response,
      {slot.exchange->request.request_id, slot.version, close, now_ns_, server_.hsts()}, out);
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
  write_deadline_ns_.store(DeadlineAfter(now_ns_, kWriteTimeoutS), std::memory_order_relaxed);
  transport_.AsyncWrite(write_buffers_,
                        [self = shared_from_this()](const boost::system::error_code& ec,
                                                    std::size_t) { self->OnWrite(ec); });
}

void Connection::OnWrite(const boost::system::error_code& ec) {
  writing_ = false;
  write_deadline_ns_.store(kNoDeadline, std::memory_order_relaxed);
  if (closed_) return;
  now_ns_ = server_.NowNs();
  if (ec) {
    Close();
    return;
  }
  for (std::size_t i = 0; i < slots_in_write_; ++i) {
    answer_bytes_waiting_ -= slots_.front().response.body.size();
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
  const bool input_pending =
      linger || buffer_.size() > 0 || transport_.socket().available(ec_available) > 0;
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
  transport_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    Close();
    return;
  }
  parser_.reset();
  buffer_.consume(buffer_.size());
  SetReadDeadline(DeadlineAfter(now_ns_, kLingerTimeoutMs));
  ReadMore();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  auto self = shared_from_this();  // the registry may hold the last reference
  ReleaseStreams();
  SetReadDeadline(kNoDeadline);
  write_deadline_ns_.store(kNoDeadline, std::memory_order_relaxed);
  boost::system::error_code ignored;
  transport_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  transport_.socket().close(ignored);
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

}  // namespace boxoffice::http::internal
