// Liveness, readiness, metrics and the API's own description.
#include "api/routes.hpp"
#include "api/support.hpp"

namespace boxoffice::api {

using http::Method;

void RegisterSystemRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kGet, "/healthz", [](const http::Request&, http::Respond respond) {
    respond(JsonResponse(200, std::string(R"({"status":"ok"})")));
  });
  router.Add(Method::kGet, "/readyz", [&context](const http::Request&, http::Respond respond) {
    if (!context.ready()) {
      Error error = Error::Make(ErrorKind::kUnavailable, "not_ready",
                                "The server is starting or shutting down.");
      error.retry_after_s = 1;
      respond(http::ErrorResponse(error));
      return;
    }
    respond(JsonResponse(200, std::string(R"({"status":"ready"})")));
  });
  router.Add(Method::kGet, "/metrics", [&context](const http::Request&, http::Respond respond) {
    http::Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = context.metrics.Render();
    respond(std::move(response));
  });
  router.Add(Method::kGet, "/v1/openapi.yaml",
             [&context](const http::Request&, http::Respond respond) {
               http::Response response;
               response.content_type = "application/yaml";
               response.body = context.openapi_yaml;
               respond(std::move(response));
             });
}

}  // namespace boxoffice::api
