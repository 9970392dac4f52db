// The request and response as the rest of boxoffice sees them: plain structs with no Beast types,
// so handlers in src/api/ compile without Boost.Beast headers (only server.cpp includes them).
#pragma once

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
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void SetHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

// Handlers answer exactly once through `Respond`, from any thread, now or later (after a durable
// write, say). The server keeps the Request alive until then.
using Respond = std::function<void(Response)>;
using Handler = std::function<void(const Request&, Respond)>;

}  // namespace boxoffice::http
