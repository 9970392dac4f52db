// OPTIONS, and cross-origin requests (CORS) for a front end served from another origin.
//
// boxoffice's own pages are served by the same origin as the API, so by default no origin is
// allowed: the browser's same-origin policy then keeps every other site's scripts from calling
// the API with a fan's token. An operator who hosts a front end elsewhere lists its origins
// (`--cors-origins https://tickets.example.com`); requests from those get the headers that let
// the browser read the answer, and their preflights are answered with what the route allows.
// Credentials are bearer tokens in headers, never cookies, so Allow-Credentials is never sent.
//
// OPTIONS itself (RFC 9110 section 9.3.7) is answered for every path a route serves, whether or
// not the request is a preflight: 204 with Allow. `OPTIONS *` names the server's methods.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "http/message.hpp"

namespace boxoffice::http {

class CorsPolicy {
 public:
  CorsPolicy() = default;
  // Origins as a browser sends them: scheme, host and an optional port, no path
  // ("https://tickets.example.com", "http://localhost:5173"). An error names the first bad one.
  static Result<CorsPolicy> Parse(const std::vector<std::string>& origins);

  bool allows(std::string_view origin) const;

  // The answer to OPTIONS on a path served by `allowed` methods (OPTIONS and HEAD included by
  // the caller as they apply). A preflight from an allowed origin asking for an allowed method
  // gets the Access-Control-Allow-* headers; any other gets Allow alone, which a browser reads
  // as a refusal.
  Response Options(const Request& request, const std::vector<Method>& allowed) const;
  // The headers an actual (not preflight) request from an allowed origin needs; nothing for
  // another origin or none.
  void Decorate(const Request& request, Response& response) const;

 private:
  std::vector<std::string> origins_;
};

}  // namespace boxoffice::http
