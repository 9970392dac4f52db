// The HTTP API of API.md: registers every route's handler on the router. Handlers translate
// JSON to domain calls and domain results back to JSON; errors go through http::ErrorResponse.
#pragma once

#include <functional>
#include <string>

#include "accounts/accounts.hpp"
#include "catalog/catalog.hpp"
#include "common/metrics.hpp"
#include "http/router.hpp"
#include "waitingroom/waiting_room.hpp"

namespace boxoffice::api {

struct ApiContext {
  Catalog& catalog;
  Accounts& accounts;
  MetricsRegistry& metrics;
  std::string admin_key;
  std::function<bool()> ready;          // /readyz: the server accepts and its stores answer
  std::string openapi_yaml;             // served at GET /v1/openapi.yaml
  WaitingRoom* waiting_room = nullptr;  // the queue routes answer 503 without one
};

// `context` must outlive the router.
void RegisterRoutes(http::Router& router, ApiContext& context);

}  // namespace boxoffice::api
