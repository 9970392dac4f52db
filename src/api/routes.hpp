// Route groups, one file each; RegisterRoutes (api.cpp) calls them all.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <string_view>

#include "api/api.hpp"

namespace boxoffice::api {

void RegisterSystemRoutes(http::Router& router, ApiContext& context);
void RegisterEventRoutes(http::Router& router, ApiContext& context);
void RegisterSessionRoutes(http::Router& router, ApiContext& context);
void RegisterDefenseRoutes(http::Router& router, ApiContext& context);
void RegisterHoldRoutes(http::Router& router, ApiContext& context);
void RegisterStatsRoutes(http::Router& router, ApiContext& context);
void RegisterQueueRoutes(http::Router& router, ApiContext& context);
void RegisterOrderRoutes(http::Router& router, ApiContext& context);
void RegisterCheckInRoutes(http::Router& router, ApiContext& context);
// GET /v1/config, and the fan page's files and page routes when the context has a site.
void RegisterWebRoutes(http::Router& router, ApiContext& context);

// The `orders` object of GET /v1/events/{id}/stats.
Result<boost::json::object> OrderStatsJson(ApiContext& context, std::string_view event_id);

// The `queue` object of GET /v1/events/{id}/stats: joined, waiting, serving, active, admitted,
// admitted_per_s, abandoned. 404 for an unknown event.
Result<boost::json::object> QueueStatsJson(ApiContext& context, std::string_view event_id);

// Re-renders the cached JSON of an event after the waiting room changed its public queue object
// (live settings, revealed seed). Does nothing for an unknown event.
void RefreshEventJson(ApiContext& context, const std::string& event_id);

// Makes a newly created or loaded event's queue known to the waiting room; `ready` runs once its
// first block of sequence numbers is durable.
void AttachEventQueue(ApiContext& context, const std::shared_ptr<Event>& event, bool restore,
                      std::function<void(Status)> ready = nullptr);

}  // namespace boxoffice::api
