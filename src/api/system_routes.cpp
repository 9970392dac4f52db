// Liveness, readiness, metrics and the API's own description.
#include "api/routes.hpp"
#include "api/support.hpp"

namespace boxoffice::api {

using http::Method;

void RegisterSystemRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kGet, "/healthz", Answering([](const http::Request&, Reply reply) {
               reply(JsonResponse(200, std::string(R"({"status":"ok"})")));
             }));
  router.Add(Method::kGet, "/readyz", Answering([&context](const http::Request&, Reply reply) {
               if (!context.ready()) {
                 Error error = Error::Make(ErrorKind::kUnavailable, "not_ready",
                                           "The server is starting or shutting down.");
                 error.retry_after_s = 1;
                 reply(error);
                 return;
               }
               reply(JsonResponse(200, std::string(R"({"status":"ready"})")));
             }));
  router.Add(Method::kGet, "/metrics", Answering([&context](const http::Request&, Reply reply) {
               http::Response response;
               response.content_type = "text/plain; version=0.0.4; charset=utf-8";
               response.body = context.metrics.Render();
               reply(std::move(response));
             }));
  router.Add(Method::kGet, "/v1/openapi.yaml",
             Answering([&context](const http::Request&, Reply reply) {
               http::Response response;
               response.content_type = "application/yaml";
               response.body = context.openapi_yaml;
               reply(std::move(response));
             }));
}

}  // namespace boxoffice::api
