#include "http/router.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>

#include "http/request_target.hpp"

namespace boxoffice::http {
namespace {

constexpr std::size_t kMethodCount = static_cast<std::size_t>(Method::kOther) + 1;
constexpr Method kAllMethods[] = {Method::kGet,     Method::kHead,  Method::kPost,
                                  Method::kPut,     Method::kPatch, Method::kDelete,
                                  Method::kOptions, Method::kOther};

std::size_t Index(Method method) { return static_cast<std::size_t>(method); }

// Parameters one pattern may have. Their values are collected in a fixed array while matching,
// so a lookup allocates nothing until it has found its route.
constexpr std::size_t kParamsMax = 8;
struct ParamValues {
  std::array<std::string_view, kParamsMax> values;
  std::size_t count = 0;
};

// Route tables are built once at start-up from code, so a bad pattern is a bug in the caller:
// fail loudly in every build rather than serve a half-registered API.
void Require(bool condition, std::string_view what, std::string_view pattern) {
  if (condition) return;
  std::fprintf(stderr, "router: %.*s: \"%.*s\"\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(pattern.size()), pattern.data());
  std::abort();
}

bool IsParameter(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Splits "a/b" into "a" and the rest; `last` is true when no slash follows.
struct Segment {
  std::string_view text;
  std::string_view rest;
  bool last;
};

Segment NextSegment(std::string_view path) {
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) return {path, {}, true};
  return {path.substr(0, slash), path.substr(slash + 1), false};
}

struct TrieNode {
  struct Route {
    Handler handler;
    std::string pattern;
    std::vector<std::string> param_names;  // in path order
  };

  // Few children per node in a REST API, so a vector scan is the fast lookup.
  std::vector<std::pair<std::string, std::unique_ptr<TrieNode>>> literals;
  std::unique_ptr<TrieNode> parameter;
  std::array<std::unique_ptr<Route>, kMethodCount> routes;

  TrieNode* Literal(std::string_view text) const {
    for (const auto& [key, child] : literals) {
      if (key == text) return child.get();
    }
    return nullptr;
  }

  // The child for a segment as sent: compared decoded, so "%65vents" is "events" but
  // "v1%2Fevents" is one segment that no literal (which never holds a '/') equals.
  TrieNode* EncodedLiteral(std::string_view encoded) const {
    if (encoded.find('%') == std::string_view::npos) return Literal(encoded);
    std::string decoded;
    if (!PercentDecode(encoded, PlusSign::kLiteral, decoded)) return nullptr;
    return Literal(decoded);
  }

  const Route* RouteFor(Method method) const {
    if (const auto& route = routes[Index(method)]) return route.get();
    // HEAD is GET without the body; the server drops the body when it writes the answer.
    if (method == Method::kHead) return routes[Index(Method::kGet)].get();
    return nullptr;
  }
};

// Depth-first, literal before parameter, so "/events/special" wins over "/events/{id}" but a
// path that only the parameter branch completes ("/events/special/seats") still matches it.
const TrieNode::Route* Find(const TrieNode& node, std::string_view path, bool at_end, Method method,
                            ParamValues& values) {
  if (at_end) return node.RouteFor(method);
  const Segment segment = NextSegment(path);
  if (const TrieNode* child = node.EncodedLiteral(segment.text)) {
    if (const auto* route = Find(*child, segment.rest, segment.last, method, values)) return route;
  }
  // A parameter never matches an empty segment: "/events//seats" is not "/events/{id}/seats".
  if (node.parameter && !segment.text.empty()) {
    // Add() bounds the parameters on any path through the tree, so count stays in range.
    values.values[values.count++] = segment.text;
    if (const auto* route = Find(*node.parameter, segment.rest, segment.last, method, values)) {
      return route;
    }
    --values.count;
  }
  return nullptr;
}

// Every method that some pattern would accept for this path, as a bit set by Method index.
void CollectAllowed(const TrieNode& node, std::string_view path, bool at_end, unsigned& allowed) {
  if (at_end) {
    for (std::size_t i = 0; i < kMethodCount; ++i) {
      if (node.routes[i]) allowed |= 1u << i;
    }
    return;
  }
  const Segment segment = NextSegment(path);
  if (const TrieNode* child = node.EncodedLiteral(segment.text)) {
    CollectAllowed(*child, segment.rest, segment.last, allowed);
  }
  if (node.parameter && !segment.text.empty()) {
    CollectAllowed(*node.parameter, segment.rest, segment.last, allowed);
  }
}

// "/" has no segments; "/a/b" has "a" and "b"; "/a/" has "a" and "" (so it is not "/a").
std::pair<std::string_view, bool> Segments(std::string_view path) {
  path.remove_prefix(1);
  return {path, path.empty()};
}

}  // namespace

// The root; the tree type lives in this file so that its helpers need no friendship.
struct Router::Node : TrieNode {};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;

void Router::Use(Decorator decorator) { decorators_.push_back(std::move(decorator)); }

void Router::Add(Method method, std::string_view pattern, Handler handler) {
  Require(!pattern.empty() && pattern.front() == '/', "pattern must start with '/'", pattern);
  Require(handler != nullptr, "handler is empty", pattern);
  for (auto decorator = decorators_.rbegin(); decorator != decorators_.rend(); ++decorator) {
    handler = (*decorator)(method, pattern, std::move(handler));
    Require(handler != nullptr, "a decorator returned no handler", pattern);
  }
  auto route = std::make_unique<TrieNode::Route>();
  route->handler = std::move(handler);
  route->pattern = std::string(pattern);

  TrieNode* node = root_.get();
  auto [rest, at_end] = Segments(pattern);
  while (!at_end) {
    const Segment segment = NextSegment(rest);
    Require(!segment.text.empty(), "empty segment (or trailing slash) in pattern", pattern);
    if (IsParameter(segment.text)) {
      const auto name = segment.text.substr(1, segment.text.size() - 2);
      Require(!name.empty() && name.find_first_of("{}") == std::string_view::npos,
              "bad parameter name", pattern);
      for (const auto& existing : route->param_names) {
        Require(existing != name, "parameter name used twice", pattern);
      }
      route->param_names.emplace_back(name);
      Require(route->param_names.size() <= kParamsMax, "too many parameters", pattern);
      if (!node->parameter) node->parameter = std::make_unique<TrieNode>();
      node = node->parameter.get();
    } else {
      Require(segment.text.find_first_of("{}") == std::string_view::npos,
              "braces inside a literal segment", pattern);
      TrieNode* child = node->Literal(segment.text);
      if (child == nullptr) {
        child = node->literals.emplace_back(std::string(segment.text), std::make_unique<TrieNode>())
                    .second.get();
      }
      node = child;
    }
    rest = segment.rest;
    at_end = segment.last;
  }
  Require(node->routes[Index(method)] == nullptr, "method and pattern registered twice", pattern);
  node->routes[Index(method)] = std::move(route);
}

void Router::SetFallback(Handler handler) { fallback_ = std::move(handler); }

RouteMatch Router::Match(Method method, std::string_view path) const {
  RouteMatch match = MatchRoutes(method, path);
  if (match.outcome == RouteMatch::Outcome::kFound || !fallback_) return match;
  RouteMatch fallback;
  fallback.outcome = RouteMatch::Outcome::kFound;
  fallback.handler = &fallback_;
  fallback.pattern = "*";
  return fallback;
}

RouteMatch Router::MatchRoutes(Method method, std::string_view path) const {
  RouteMatch match;
  if (path.empty() || path.front() != '/') return match;
  const auto [rest, at_end] = Segments(path);

  ParamValues values;
  if (const TrieNode::Route* route = Find(*root_, rest, at_end, method, values)) {
    match.outcome = RouteMatch::Outcome::kFound;
    match.handler = &route->handler;
    match.pattern = route->pattern;
    match.params.reserve(values.count);
    for (std::size_t i = 0; i < values.count; ++i) {
      std::string value;
      if (!PercentDecode(values.values[i], PlusSign::kLiteral, value)) return RouteMatch{};
      match.params.emplace_back(route->param_names[i], std::move(value));
    }
    return match;
  }

  unsigned allowed = 0;
  CollectAllowed(*root_, rest, at_end, allowed);
  if (allowed == 0) return match;
  if (allowed & (1u << Index(Method::kGet))) allowed |= 1u << Index(Method::kHead);
  match.outcome = RouteMatch::Outcome::kMethodNotAllowed;
  for (Method candidate : kAllMethods) {
    if (allowed & (1u << Index(candidate))) match.allowed.push_back(candidate);
  }
  return match;
}

}  // namespace boxoffice::http
