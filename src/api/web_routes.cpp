// The fan page and the operator console (web/, built into --web-dir): their files, the page
// routes that answer index.html or console.html (each routes itself on the client), and the
// security headers every page carries.
// Also GET /v1/config, what the page needs to know about this server before a fan pays.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "api/routes.hpp"
#include "api/support.hpp"
#include "http/static_site.hpp"

namespace boxoffice::api {
namespace {

using http::Method;

// No script or style but the page's own files, no framing, no plugins; the ALTCHA solver runs in
// a worker the page starts from its own origin. Images may be data: and blob: URLs: the tickets'
// QR codes are fetched with the fan's token and shown from memory.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self' blob:; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The client-side routes of web/src (its routers): the fan's answer index.html, the operator
// console's and the door scanner's console.html.
constexpr std::string_view kPageRoutes[] = {"/", "/events/{id}", "/events/{id}/{page}",
                                            "/orders/{id}"};
constexpr std::string_view kConsoleRoutes[] = {"/console", "/console/events/{id}",
                                               "/console/defense", "/scan"};

void AddSecurityHeaders(http::Response& response) {
  response.SetHeader("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.SetHeader("X-Content-Type-Options", "nosniff");
  response.SetHeader("Referrer-Policy", "no-referrer");
  response.SetHeader("X-Frame-Options", "DENY");
}

http::Handler ServeFile(const http::StaticFile& file) {
  return Answering([&file](const http::Request& request, Reply reply) {
    http::Response response = http::StaticSite::Answer(request, file);
    AddSecurityHeaders(response);
    reply(std::move(response));
  });
}

}  // namespace

void RegisterWebRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kGet, "/v1/config", Answering([&context](const http::Request&, Reply reply) {
               boost::json::array cards;
               for (const std::string& card : context.test_cards) cards.emplace_back(card);
               reply(JsonResponse(200, boost::json::object{{"test_cards", std::move(cards)}}));
             }));
  if (context.site == nullptr) return;
  for (const http::StaticFile& file : context.site->files()) {
    // A name with a brace would read as a route parameter; a web build has none.
    if (file.path == "/index.html" || file.path == "/console.html" ||
        file.path.find_first_of("{}") != std::string::npos) {
      continue;
    }
    router.Add(Method::kGet, file.path, ServeFile(file));
  }
  const http::StaticFile* index = context.site->Find("/index.html");
  for (std::string_view route : kPageRoutes) router.Add(Method::kGet, route, ServeFile(*index));
  // A web build from before the console has none; the fan's pages are served all the same.
  if (const http::StaticFile* console = context.site->Find("/console.html")) {
    for (std::string_view route : kConsoleRoutes) {
      router.Add(Method::kGet, route, ServeFile(*console));
    }
  }
}

}  // namespace boxoffice::api
