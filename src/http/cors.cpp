#include "http/cors.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "http/ascii.hpp"

namespace boxoffice::http {
namespace {

// The request headers this API reads that a browser does not send on its own; a preflight that
// asks for others is answered without them and the browser refuses the call (the API would have
// ignored them anyway).
constexpr std::string_view kAllowedHeaders[] = {
    "authorization", "content-type", "idempotency-key", "if-none-match", "x-access-token",
    "x-altcha",      "x-device-id",  "x-queue-ticket",  "x-request-id"};
// The answer headers a page from the other origin may read, beyond the few every page may.
constexpr std::string_view kExposedHeaders =
    "ETag, Idempotent-Replayed, Location, Retry-After, X-Request-Id";
// How long a browser may keep a preflight's answer: ten minutes, so a fan's page asks once per
// route, not once per poll.
constexpr std::string_view kPreflightMaxAgeS = "600";

bool IsOriginHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '[' ||
         c == ']' || c == ':';
}

// "scheme://host[:port]" in lower case, as browsers serialize an origin.
bool IsOrigin(std::string_view origin) {
  std::string_view rest;
  if (origin.starts_with("https://")) {
    rest = origin.substr(8);
  } else if (origin.starts_with("http://")) {
    rest = origin.substr(7);
  } else {
    return false;
  }
  return !rest.empty() && std::all_of(rest.begin(), rest.end(), IsOriginHostChar);
}

std::string AllowList(const std::vector<Method>& allowed) {
  std::string list;
  for (Method method : allowed) {
    if (!list.empty()) list += ", ";
    list += MethodName(method);
  }
  return list;
}

// The requested headers this API reads, as a list for Access-Control-Allow-Headers.
std::string AllowedRequestHeaders(std::string_view requested) {
  std::string list;
  while (!requested.empty()) {
    const auto comma = requested.find(',');
    const std::string_view name = TrimBlanks(requested.substr(0, comma));
    requested = comma == std::string_view::npos ? std::string_view() : requested.substr(comma + 1);
    const bool known = std::any_of(
        std::begin(kAllowedHeaders), std::end(kAllowedHeaders),
        [name](std::string_view allowed) { return internal::EqualsIgnoreCase(name, allowed); });
    if (!known) continue;
    if (!list.empty()) list += ", ";
    list += name;
  }
  return list;
}

}  // namespace

Result<CorsPolicy> CorsPolicy::Parse(const std::vector<std::string>& origins) {
  CorsPolicy policy;
  for (const std::string& origin : origins) {
    if (!IsOrigin(origin)) {
      return Error::Make(ErrorKind::kMalformed, "invalid_cors_origin",
                         "\"" + origin +
                             "\" is not an origin: write scheme://host[:port] in lower case, "
                             "without a path (https://tickets.example.com).");
    }
    policy.origins_.push_back(origin);
  }
  return policy;
}

bool CorsPolicy::allows(std::string_view origin) const {
  return std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

Response CorsPolicy::Options(const Request& request, const std::vector<Method>& allowed) const {
  Response response;
  response.status = 204;
  response.SetHeader("Allow", AllowList(allowed));
  const auto origin = request.Header("origin");
  const auto method = request.Header("access-control-request-method");
  if (!origin || !method) return response;  // a plain OPTIONS, not a preflight
  // The answer differs by origin, so a cache must not hand one origin's answer to another.
  response.SetHeader("Vary", "Origin");
  if (!allows(*origin)) return response;
  const bool method_allowed = std::any_of(allowed.begin(), allowed.end(), [&](Method candidate) {
    return MethodName(candidate) == *method;
  });
  if (!method_allowed) return response;
  response.SetHeader("Access-Control-Allow-Origin", std::string(*origin));
  response.SetHeader("Access-Control-Allow-Methods", AllowList(allowed));
  if (const auto requested = request.Header("access-control-request-headers")) {
    if (std::string headers = AllowedRequestHeaders(*requested); !headers.empty()) {
      response.SetHeader("Access-Control-Allow-Headers", std::move(headers));
    }
  }
  response.SetHeader("Access-Control-Max-Age", std::string(kPreflightMaxAgeS));
  return response;
}

void CorsPolicy::Decorate(const Request& request, Response& response) const {
  if (origins_.empty()) return;
  const auto origin = request.Header("origin");
  if (!origin) return;
  response.SetHeader("Vary", "Origin");
  if (!allows(*origin)) return;
  response.SetHeader("Access-Control-Allow-Origin", std::string(*origin));
  response.SetHeader("Access-Control-Expose-Headers", std::string(kExposedHeaders));
}

}  // namespace boxoffice::http
