// Turning answers into bytes: the head of an answer (status line, the headers the server manages
// itself, the handler's headers once checked), chunked transfer framing, and the Date header,
// formatted once per second per thread. Appends to a std::string the connection then writes, so
// that a pipelined batch of answers goes out in one gathered write. Internal to src/http.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace boxoffice::http::internal {

// The end of a chunked body: the zero-size chunk and an empty trailer.
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// What the head says about the request it answers.
struct HeadContext {
  std::string_view request_id;  // echoed in X-Request-Id
  int version = 11;             // the request's HTTP version, 10 or 11
  bool close = false;           // the connection closes after this answer
  std::int64_t now_ns = 0;      // the server's clock, nanoseconds since the Unix epoch: the Date
  std::string_view hsts;        // the Strict-Transport-Security value; empty: none
};

// Appends the head of `response` (the status line to the blank line). An answer with a stream
// gets the event-stream head instead of a length: chunked on HTTP/1.1, close-delimited on
// HTTP/1.0. Handler headers the server manages, and ones that would split the head, are dropped.
void AppendResponseHead(const Response& response, const HeadContext& context, std::string& out);

// The interim answer to `Expect: 100-continue`.
void AppendContinueHead(std::string& out);

// Appends one chunk of a chunked body holding `data` (which must not be empty: that is the end).
void AppendChunk(std::string_view data, std::string& out);

void AppendNumber(std::string& out, std::uint64_t value);

// The IMF-fixdate of `now_ns` ("Sun, 06 Nov 1994 08:49:37 GMT"), valid until this thread's next
// call. Formatted once per second per thread: a clock moving backwards only formats again.
std::string_view HttpDate(std::int64_t now_ns);

}  // namespace boxoffice::http::internal
