// Route groups, one file each; RegisterRoutes (api.cpp) calls them all.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <string_view>

#include "api/api.hpp"
#include "api/reply.hpp"

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
// /v1/operator-keys when the context has operator keys, GET /v1/audit when it has an audit trail.
void RegisterOperatorRoutes(http::Router& router, ApiContext& context);

// Records an operator control in the audit trail and then runs `then` (which answers the
// request): once the entry is durable, or at once when the context keeps no audit trail. Routes
// call it only after their action succeeded (operators/audit_trail.hpp).
void RecordControl(ApiContext& context, const OperatorIdentity& actor, AuditEntry entry,
                   std::function<void()> then);

// Runs `task` (a ledger read) on an order worker, so that an I/O thread never waits on disk;
// answers 503 overloaded on `reply` when the workers' queue is full or the server has none.
void RunOnOrderWorker(ApiContext& context, const Reply& reply, std::function<void()> task);

// The body of GET /v1/events/{id}/stats: `inventory`, `queue` (with the `settings` in force)
// when the server runs a waiting room, `orders` when it takes orders, and `defense`. The stats
// history (stats_series.hpp) reads its samples out of this object, so the two never disagree.
Result<boost::json::object> EventStatsJson(ApiContext& context,
                                           const std::shared_ptr<Event>& event);

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
