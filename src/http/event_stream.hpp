// Server-sent event streams (message.hpp, `EventStream`) as a connection writes them. An answer
// with a stream takes over the connection's writing once it reaches the front: the head, then one
// event or heartbeat per tick of a timer of its own (streams are few and long, so a timer each is
// cheap there), one write in flight at a time. It is sent with chunked transfer coding on HTTP/1.1
// rather than delimited by closing the connection: the end of the stream is then explicit (a
// proxy can tell a finished stream from a cut one) and the connection stays usable for the
// client's next request. HTTP/1.0 has no chunking, so there the stream is close-delimited.
//
// The Connection members that drive a stream are defined in event_stream.cpp; this header holds
// what connection.hpp needs to declare them. Internal to src/http.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "http/message.hpp"
#include "http/server_internal.hpp"

namespace boxoffice::http::internal {

// A stream's source is not asked more often than this, whatever interval it asks for.
constexpr auto kStreamIntervalMinMs = std::chrono::milliseconds(10);
// On a graceful stop, a stream whose client is not taking its last write is dropped after this.
constexpr auto kStreamStopGraceMs = std::chrono::milliseconds(1000);
// Retry-After of the 503 answered beyond max_streams.
constexpr int kStreamsFullRetryAfterS = 5;
constexpr std::string_view kStreamHeartbeat = ": keep-alive\n\n";

// One server-sent event: every line of `data` as its own "data:" field (CR, LF and CRLF all end
// a line in SSE, so none may pass through raw), then the blank line that dispatches it.
void AppendEventFrame(std::string_view data, std::string& out);

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

// The event stream a connection is writing. It belongs to the connection's front slot, which
// stays queued (holding back the answers behind it) until the stream has ended.
struct ActiveStream {
  std::function<StreamStep()> next;
  std::chrono::milliseconds interval{1000};
  bool chunked = true;             // HTTP/1.1; HTTP/1.0 streams end by closing
  bool ending = false;             // the write in flight (or none, if close-delimited) is the end
  bool end_requested = false;      // end once the write in flight is done
  std::int64_t last_write_ns = 0;  // on the server's clock; a heartbeat is due a while after
};

}  // namespace boxoffice::http::internal
