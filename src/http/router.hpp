// Maps a method and a path as sent (still percent-encoded) to a handler. The path is split into
// segments before anything is decoded, so an escaped slash is data inside a segment ("%2F" never
// separates); literal segments are compared decoded and parameters are handed over decoded.
// Patterns are literal segments and `{name}` parameters, e.g. "/v1/events/{id}/seats"; a literal
// segment wins over a parameter. A path that matches a pattern under another method is a 405 with
// the methods that would have matched. Paths match exactly, with no normalising: "/v1/events/" is
// not "/v1/events" (404), and an empty segment never fills a parameter. Match() is const and safe
// from many threads once routes are added; registration is for start-up only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.hpp"

namespace boxoffice::http {

struct RouteMatch {
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  Outcome outcome = Outcome::kNotFound;
  const Handler* handler = nullptr;
  std::string_view pattern;  // the route's pattern, the metrics label; "" when not found
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<Method> allowed;  // for kMethodNotAllowed
};

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Wraps a route's handler at registration: middleware such as the bot defence decides per
  // route once, here, instead of matching patterns again on every request.
  using Decorator = std::function<Handler(Method method, std::string_view pattern, Handler)>;

  // Applies `decorator` to every route added after this call; the first decorator added runs
  // outermost.
  void Use(Decorator decorator);

  // Registering the same method and pattern twice is a programming error (asserts).
  void Add(Method method, std::string_view pattern, Handler handler);
  // Answers every request no route takes, instead of the server's 404 or 405 (with pattern "*"
  // for the metrics): for a server that mimics another API's errors, as gateway-sim does.
  void SetFallback(Handler handler);
  // HEAD is answered by a GET route when no HEAD route exists. `path` is percent-encoded (see
  // above); one with a malformed escape matches nothing.
  RouteMatch Match(Method method, std::string_view path) const;

 private:
  RouteMatch MatchRoutes(Method method, std::string_view path) const;

  struct Node;
  std::unique_ptr<Node> root_;
  std::vector<Decorator> decorators_;
  Handler fallback_;
};

}  // namespace boxoffice::http
