#include "api/api.hpp"

#include "api/routes.hpp"
#include "common/check.hpp"

namespace boxoffice::api {

void RegisterRoutes(http::Router& router, ApiContext& context) {
  BOXOFFICE_CHECK(context.holds != nullptr, "the api reads seats through the hold service");
  RegisterSystemRoutes(router, context);
  RegisterEventRoutes(router, context);
  RegisterSessionRoutes(router, context);
  RegisterDefenseRoutes(router, context);
  RegisterStatsRoutes(router, context);
  RegisterHoldRoutes(router, context);
  RegisterQueueRoutes(router, context);
  if (context.orders != nullptr) RegisterOrderRoutes(router, context);
  if (context.check_in != nullptr) RegisterCheckInRoutes(router, context);
  RegisterOperatorRoutes(router, context);
  RegisterWebRoutes(router, context);
}

}  // namespace boxoffice::api
