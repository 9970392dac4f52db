// Route groups, one file each; RegisterRoutes (api.cpp) calls them all.
#pragma once

#include "api/api.hpp"

namespace boxoffice::api {

void RegisterSystemRoutes(http::Router& router, ApiContext& context);
void RegisterEventRoutes(http::Router& router, ApiContext& context);
void RegisterSessionRoutes(http::Router& router, ApiContext& context);
void RegisterDefenseRoutes(http::Router& router, ApiContext& context);
void RegisterHoldRoutes(http::Router& router, ApiContext& context);
void RegisterStatsRoutes(http::Router& router, ApiContext& context);

}  // namespace boxoffice::api
