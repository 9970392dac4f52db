// The HTTP front door, a whole connection's worth of bytes at a time: the bytes are read in slices
// as a socket hands them over and parsed as src/http/connection.cpp's ParseBuffered does (put()
// in a loop, consume what it used, a new RequestParser per request, the bound on a buffered
// chunk-size line or trailer, pipelined requests one after another), and each request that parses
// is routed as Connection::Route does: ParseRequestTarget, then Router::Match against the API's
// patterns, OPTIONS answered by the CORS policy.
//
// Input: one configuration byte, then the bytes the client sends. Bit 0 of the configuration
// picks small limits (512-byte header, 2 KiB body) instead of the server's defaults, so that
// inputs of libFuzzer's usual sizes reach the limits; bits 1-3 pick the size of each read
// ('0' is the server's 16 KiB reads with its default limits).
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/support.hpp"
#include "common/card_digits.hpp"
#include "fuzz_input.hpp"
#include "http/cors.hpp"
#include "http/request_parser.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace {

using boxoffice::http::Method;
using boxoffice::http::RouteMatch;
namespace bhttp = boost::beast::http;

// The patterns the API registers (src/api/*_routes.cpp) and the fan page's routes; the handlers
// are not needed to route.
struct Pattern {
  Method method;
  std::string_view path;
};
constexpr Pattern kPatterns[] = {
    {Method::kGet, "/healthz"},
    {Method::kGet, "/readyz"},
    {Method::kGet, "/metrics"},
    {Method::kGet, "/v1/openapi.yaml"},
    {Method::kGet, "/v1/config"},
    {Method::kPost, "/v1/events"},
    {Method::kGet, "/v1/events"},
    {Method::kGet, "/v1/events/{id}"},
    {Method::kGet, "/v1/events/{id}/seats"},
    {Method::kGet, "/v1/events/{id}/stats"},
    {Method::kGet, "/v1/events/{id}/stats/series"},
    {Method::kGet, "/v1/events/{id}/stats/stream"},
    {Method::kPost, "/v1/events/{id}/holds"},
    {Method::kGet, "/v1/holds/{id}"},
    {Method::kDelete, "/v1/holds/{id}"},
    {Method::kPost, "/v1/events/{id}/queue"},
    {Method::kDelete, "/v1/events/{id}/queue"},
    {Method::kPatch, "/v1/events/{id}/queue"},
    {Method::kGet, "/v1/events/{id}/queue/status"},
    {Method::kGet, "/v1/events/{id}/queue/stream"},
    {Method::kPost, "/v1/events/{id}/checkin"},
    {Method::kPost, "/v1/events/{id}/scanner-keys"},
    {Method::kPost, "/v1/sessions"},
    {Method::kGet, "/v1/sessions/current"},
    {Method::kPost, "/v1/customers"},
    {Method::kPost, "/v1/orders"},
    {Method::kPost, "/v1/orders/{id}/refund"},
    {Method::kGet, "/v1/orders/{id}"},
    {Method::kGet, "/v1/tickets/{id}/qr.svg"},
    {Method::kPost, "/v1/defense/blocklist"},
    {Method::kGet, "/v1/defense/blocklist"},
    {Method::kDelete, "/v1/defense/blocklist"},
    {Method::kPost, "/v1/defense/allowlist"},
    {Method::kGet, "/v1/defense/allowlist"},
    {Method::kDelete, "/v1/defense/allowlist"},
    {Method::kGet, "/v1/defense/decisions"},
    {Method::kGet, "/v1/challenge"},
    {Method::kPost, "/v1/telemetry"},
    {Method::kPost, "/v1/operator-keys"},
    {Method::kGet, "/v1/operator-keys"},
    {Method::kDelete, "/v1/operator-keys/{id}"},
    {Method::kGet, "/v1/audit"},
    {Method::kGet, "/"},
    {Method::kGet, "/events/{id}"},
    {Method::kGet, "/events/{id}/{page}"},
    {Method::kGet, "/orders/{id}"},
    {Method::kGet, "/console"},
    {Method::kGet, "/console/events/{id}"},
    {Method::kGet, "/scan"},
    {Method::kGet, "/assets/index.js"},
};

constexpr Method kImplementedMethods[] = {Method::kGet,    Method::kHead,  Method::kPost,
                                          Method::kPut,    Method::kPatch, Method::kDelete,
                                          Method::kOptions};

// How many bytes one read hands over (async_read_some may return fewer than asked for).
constexpr std::size_t kReadSizes[] = {16 * 1024, 1, 2, 3, 7, 64, 500, 4096};

struct Routing {
  boxoffice::http::Router router;
  boxoffice::http::CorsPolicy cors;

  Routing() {
    for (const Pattern& pattern : kPatterns) {
      router.Add(pattern.method, pattern.path,
                 [](const boxoffice::http::Request&, boxoffice::http::Respond) {});
    }
    cors = *boxoffice::http::CorsPolicy::Parse({"https://tickets.example.com"});
  }
};

const Routing& TheRouting() {
  static const Routing* routing = new Routing();  // never destroyed: the fuzzer exits anyhow
  return *routing;
}

std::size_t Parameters(std::string_view pattern) {
  return static_cast<std::size_t>(std::count(pattern.begin(), pattern.end(), '{'));
}

// Connection::Route, without the answer: what a request that parsed goes through.
void RouteRequest(boxoffice::http::Request& request, int version) {
  const Routing& routing = TheRouting();
  // The promises of the parser: the limits and the Host rule held for every request it passed.
  FUZZ_EXPECT(request.target.size() <= boxoffice::http::internal::kRequestTargetBytesMax);
  FUZZ_EXPECT(request.headers.size() <= boxoffice::http::internal::kHeaderFieldsMax);
  std::size_t hosts = 0;
  for (const auto& [name, value] : request.headers) {
    FUZZ_EXPECT(
        std::none_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
    if (name == "host") ++hosts;
  }
  FUZZ_EXPECT(hosts <= 1);
  FUZZ_EXPECT(version < 11 || hosts == 1);

  // What the server reads off every request's headers before a handler runs.
  if (auto id = request.Header("x-request-id")) boxoffice::ContainsCardNumber(*id);
  boxoffice::api::BearerToken(request);

  if (request.method == Method::kOther) return;  // 501
  if (request.method == Method::kOptions && request.target == "*") {
    routing.cors.Options(request, {std::begin(kImplementedMethods), std::end(kImplementedMethods)});
    return;
  }
  std::string_view encoded_path;
  if (!boxoffice::http::ParseRequestTarget(request.target, request.path, request.query,
                                           &encoded_path)) {
    return;  // 400
  }
  FUZZ_EXPECT(!encoded_path.empty() && encoded_path.front() == '/');
  FUZZ_EXPECT(!request.path.empty() && request.path.front() == '/');
  const RouteMatch match = routing.router.Match(request.method, encoded_path);
  switch (match.outcome) {
    case RouteMatch::Outcome::kFound: {
      FUZZ_EXPECT(match.handler != nullptr);
      FUZZ_EXPECT(match.params.size() == Parameters(match.pattern));
      for (const auto& [name, value] : match.params) FUZZ_EXPECT(!value.empty());
      // HEAD is answered wherever GET is.
      if (request.method == Method::kGet) {
        FUZZ_EXPECT(routing.router.Match(Method::kHead, encoded_path).outcome ==
                    RouteMatch::Outcome::kFound);
      }
      boxoffice::http::Response response;
      routing.cors.Decorate(request, response);
      break;
    }
    case RouteMatch::Outcome::kMethodNotAllowed: {
      FUZZ_EXPECT(!match.allowed.empty());
      FUZZ_EXPECT(std::find(match.allowed.begin(), match.allowed.end(), request.method) ==
                  match.allowed.end());
      if (request.method == Method::kOptions) routing.cors.Options(request, match.allowed);
      break;
    }
    case RouteMatch::Outcome::kNotFound:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto configuration = static_cast<unsigned char>(data[0]);
  const bool small_limits = (configuration & 1) != 0;
  const std::size_t read_size = kReadSizes[(configuration >> 1) & 7];
  const boxoffice::http::ServerOptions defaults;
  const std::size_t header_limit = small_limits ? 512 : defaults.header_limit_bytes;
  const std::size_t body_limit = small_limits ? 2048 : defaults.body_limit_bytes;
  const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string buffer;  // what was read and not yet consumed, as the connection's flat_buffer
  std::size_t sent = 0;
  std::optional<boxoffice::http::internal::RequestParser> parser;
  bool closed = false;
  while (!closed) {
    if (sent == wire.size()) break;  // the client sent all it will
    const std::size_t bytes = std::min(read_size, wire.size() - sent);
    buffer.append(wire.substr(sent, bytes));
    sent += bytes;
    // ParseBuffered.
    while (!closed && !buffer.empty()) {
      if (!parser) parser.emplace(header_limit, body_limit);
      boost::beast::error_code ec;
      const std::size_t used =
          parser->put(boost::asio::const_buffer(buffer.data(), buffer.size()), ec);
      FUZZ_EXPECT(used <= buffer.size());
      buffer.erase(0, used);
      if (ec == bhttp::error::need_more) {
        // Inside a body what stays buffered is a chunk-size line or the trailer: bounded.
        if (parser->is_header_done() && buffer.size() > header_limit) closed = true;  // 400
        break;
      }
      if (ec) {
        closed = true;  // the refusal is answered and the connection closes
        break;
      }
      if (parser->is_done()) {
        FUZZ_EXPECT(parser->request().body.size() <= body_limit);
        const bool keep_alive = parser->keep_alive();
        boxoffice::http::Request request = std::move(parser->request());
        const int version = parser->version();
        parser.reset();
        RouteRequest(request, version);
        if (!keep_alive) closed = true;
        continue;
      }
      if (used == 0) break;
    }
  }
  return 0;
}
