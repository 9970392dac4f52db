// The request and response as the rest of boxoffice sees them: plain structs with no Beast types,
// so handlers in src/api/ compile without Boost.Beast headers (only server.cpp includes them).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boxoffice::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view MethodName(Method method);

struct Request {
  Method method = Method::kGet;
  std::string target;  // as sent: path and query, still percent-encoded
  std::string path;    // decoded path without the query
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string client_address;  // the peer, or X-Forwarded-For from a trusted proxy
  std::string request_id;      // echoed from X-Request-Id or generated
  std::vector<std::pair<std::string, std::string>> path_params;  // filled by the router

  // First value of a header; `name` must be lower case.
  std::optional<std::string_view> Header(std::string_view name) const;
  std::optional<std::string_view> Query(std::string_view name) const;
  // Empty when the route has no such parameter.
  std::string_view PathParam(std::string_view name) const;
  // Whether If-None-Match names `etag` (a quoted tag) or is `*`: the client's copy is current.
  bool IfNoneMatch(std::string_view etag) const;
};

// Whether an If-None-Match value (a list of tags, or `*`) names `etag`. Weak tags compare by
// their opaque part, as RFC 9110 section 13.1.2 asks for If-None-Match, so the weak tag of a
// compressed answer still matches the strong one it was made from.
bool EtagListNames(std::string_view if_none_match, std::string_view etag);

// One step of a server-sent events stream (see `EventStream`).
struct StreamStep {
  enum class Kind { kNoChange, kEvent, kEnd };
  Kind kind = Kind::kNoChange;
  std::string data;   // kEvent: the event's data; the server frames it ("data: ...\n\n")
  bool last = false;  // kEvent: the stream ends after this event

  static StreamStep NoChange() { return {}; }
  static StreamStep Event(std::string data, bool last = false) {
    return {Kind::kEvent, std::move(data), last};
  }
  static StreamStep End() { return {Kind::kEnd, {}, false}; }
};

// A handler answers with a stream instead of a body by setting `Response::stream`. The server
// sends the head (`Content-Type: text/event-stream`, `Cache-Control: no-store`, no
// Content-Length) and then calls `next` on the connection's I/O thread: once at once (its event is
// the first one) and then every `interval`, but never while an earlier write is still in flight,
// so a client that does not read only ever gets the latest state when it reads again. Between
// events it writes a comment line as a heartbeat. The stream ends on kEnd, after an event marked
// `last`, on client disconnect and on a graceful stop; `next` is released then. `next` must not
// block: it runs on an I/O thread.
struct EventStream {
  std::function<StreamStep()> next;
  std::chrono::milliseconds interval{1000};
};

struct Response {
  int status = 200;
  // Text that outlives the response, in practice a literal: "application/json" is one byte too
  // long for a std::string's inline storage, and every answer would allocate it.
  std::string_view content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set (with status 200) to answer with server-sent events; `body` is ignored then. Over the
  // server's cap on open streams the client gets 503 overloaded instead.
  std::optional<EventStream> stream;

  void SetHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

// Handlers answer exactly once through `Respond`, from any thread, now or later (after a durable
// write, say). The server keeps the Request alive until then.
using Respond = std::function<void(Response)>;
using Handler = std::function<void(const Request&, Respond)>;

}  // namespace boxoffice::http
