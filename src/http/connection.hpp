// One HTTP connection, and the exchange that carries a request to its handler and the answer
// back. Internal to src/http.
//
// Shape of one connection (all of it runs on the one I/O thread whose io_context it lives on):
//
//   socket ─► read chunk ─► parser ─► Route ─► handler ─ Respond (any thread) ─┐
//                 ▲            │                                               │
//                 └─ paused while `pipeline_limit` answers (or 4 MiB) wait     ▼
//   socket ◄─ one gathered write of every ready answer at the front, in order ◄─ slot
//
// Answers are owed in request order: each request gets a slot in `slots_` when it is read, the
// handler fills it whenever it answers, and the ready slots at the front go out together. An
// answer with an event stream takes over the writing when it reaches the front (event_stream.hpp).
#pragma once

#include <boost/beast/core/flat_buffer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "http/event_stream.hpp"
#include "http/message.hpp"
#include "http/request_parser.hpp"
#include "http/server_internal.hpp"
#include "http/transport.hpp"

namespace boxoffice::http::internal {

// Bytes of answers written ahead of a client's reading, beyond which its requests wait (see
// Connection::Backlogged). Far above what any one API answer but the whole seat list of a large
// event needs.
constexpr std::size_t kAnswerBytesWaitingMax = 4 << 20;
// A client that does not take its answer within this is dropped.
constexpr auto kWriteTimeoutS = std::chrono::seconds(30);

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

  void operator()(Response response) const;

 private:
  std::shared_ptr<Exchange> exchange_;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerCore& server, Socket socket, bool reject)
      : server_(server), transport_(std::move(socket), server.tls_context()), reject_(reject) {}

  void Start();
  // Called from any thread. Written at once when it comes from this connection's own handler
  // call; otherwise posted to the connection's I/O thread.
  void Deliver(std::uint64_t sequence, Response response);
  void PostStop();
  void PostTimeout();

  bool DeadlinePassed(std::int64_t now_ns) const {
    return std::min(read_deadline_ns_.load(std::memory_order_relaxed),
                    write_deadline_ns_.load(std::memory_order_relaxed)) <= now_ns;
  }

  // Only once no thread runs the io_contexts any more (end of Run), so no hop is needed.
  void ForceClose();

  bool ServerStopped() const { return server_.hard_stopped(); }

 private:
  struct Slot {
    std::shared_ptr<Exchange> exchange;  // null for an interim 100 Continue
    Response response;
    std::string_view route = kUnmatchedRoute;
    std::int64_t started_ns = 0;  // when its request was read whole
    int version = 11;
    bool ready = false;
    bool close = false;        // the connection closes after this answer
    bool linger = false;       // ...and the client may still be sending (body not read, 503)
    StreamLease stream_lease;  // held while the answer is an event stream
  };

  // connection.cpp: reading, routing, answering.
  void OnStart();
  void OnHandshake(const boost::system::error_code& ec);
  void Begin();  // after the handshake, if any: read the first request (or refuse at the cap)
  void OnStop();
  void OnTimeout();
  void ReadMore();
  void OnRead(const boost::system::error_code& ec, std::size_t bytes);
  void ParseBuffered();
  void StartRequest();
  void FinishRequest();
  // The answer to a request the parser refused (ec and parser_->refusal()), and sending it.
  Response RefusalResponse(const beast::error_code& ec) const;
  void FailRequest(Response response);
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
  void StartLinger();
  void Close();
  std::string ClientAddress(const Request& request) const;
  void SetReadDeadline(std::int64_t deadline_ns) {
    read_deadline_ns_.store(deadline_ns, std::memory_order_relaxed);
  }
  // True while answers wait to be written: pipeline_limit of them, or kAnswerBytesWaitingMax of
  // their bodies. No further request is read then, so a client that pipelines requests for large
  // answers and reads none holds one answer's worth of memory, not one per request.
  bool Backlogged() const {
    return slots_.size() >= server_.options().pipeline_limit ||
           answer_bytes_waiting_ >= kAnswerBytesWaitingMax;
  }
  // The deadline while waiting for a request to begin: idle if nothing is outstanding; none
  // while answers are pending, because then the client is waiting for us, not we for it.
  void SetWaitingDeadline() {
    SetReadDeadline(slots_.empty() ? DeadlineAfter(now_ns_, server_.options().idle_timeout_s)
                                   : kNoDeadline);
  }

  // event_stream.cpp: writing the stream at the front.
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

  ServerCore& server_;
  Transport transport_;
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
  std::size_t answer_bytes_waiting_ = 0;  // bodies of the ready answers in slots_
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

  // The server's clock as read when this connection's current I/O event began (and again when an
  // answer is completed): every deadline set while handling the event counts from it, so that
  // the clock is read a few times per request rather than once per deadline.
  std::int64_t now_ns_ = 0;

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

}  // namespace boxoffice::http::internal
