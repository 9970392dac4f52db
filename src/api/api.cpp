#include "api/api.hpp"

#include "api/routes.hpp"

namespace boxoffice::api {

void RegisterRoutes(http::Router& router, ApiContext& context) {
  RegisterSystemRoutes(router, context);
  RegisterEventRoutes(router, context);
  RegisterSessionRoutes(router, context);
  RegisterDefenseRoutes(router, context);
  RegisterStatsRoutes(router, context);
  if (context.holds != nullptr) RegisterHoldRoutes(router, context);
  RegisterQueueRoutes(router, context);
  if (context.orders != nullptr) RegisterOrderRoutes(router, context);
  if (context.check_in != nullptr) RegisterCheckInRoutes(router, context);
}

}  // namespace boxoffice::api
