#include "api/api.hpp"

#include "api/routes.hpp"

namespace boxoffice::api {

void RegisterRoutes(http::Router& router, ApiContext& context) {
  RegisterSystemRoutes(router, context);
  RegisterEventRoutes(router, context);
  RegisterSessionRoutes(router, context);
  RegisterQueueRoutes(router, context);
}

}  // namespace boxoffice::api
