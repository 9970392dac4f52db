// Operator statistics: GET /v1/events/{id}/stats. Each domain adds its own object to the answer
// through one function: `inventory` here, `queue` from the waiting room (queue_routes.cpp).
#include <boost/json/object.hpp>

#include "api/routes.hpp"
#include "api/support.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;

// {available, held, sold, capacity} from the inventory's counters, plus its hold totals.
json::object InventoryStats(ApiContext& context, const std::shared_ptr<Event>& event) {
  const SeatInventory& inventory = context.holds->InventoryFor(event);
  const SeatCounts counts = inventory.Counts();
  const HoldCounters counters = inventory.counters();
  return json::object{{"available", counts.available},
                      {"held", counts.held},
                      {"sold", counts.sold},
                      {"capacity", inventory.size()},
                      {"holds", json::object{{"live", inventory.live_holds()},
                                             {"created", counters.created},
                                             {"conflicts", counters.conflicts},
                                             {"not_enough_seats", counters.not_enough_seats},
                                             {"limit_exceeded", counters.limit_exceeded},
                                             {"released", counters.released},
                                             {"expired", counters.expired},
                                             {"ordered", counters.ordered}}}};
}

void GetEventStats(ApiContext& context, const http::Request& request, Reply reply) {
  if (Status allowed = RequireOperator(request, context.admin_key); !allowed) {
    return reply(allowed.error());
  }
  std::shared_ptr<Event> event = context.catalog.Find(request.PathParam("id"));
  if (!event) {
    return reply(EventNotFound(request.PathParam("id")));
  }
  json::object body{{"event_id", event->definition().id}};
  body["inventory"] = InventoryStats(context, event);
  if (context.waiting_room != nullptr) {
    Result<json::object> queue = QueueStatsJson(context, event->definition().id);
    if (!queue) return reply(queue.error());
    body["queue"] = std::move(*queue);
  }
  if (context.orders != nullptr) {
    Result<json::object> orders = OrderStatsJson(context, event->definition().id);
    if (!orders) return reply(orders.error());
    body["orders"] = std::move(*orders);
  }
  // The bot defence's decisions on this event's routes since start: {allowed, rate_limited, ...}.
  const DecisionCounts decisions = context.defense.EventDecisions(event->definition().id);
  json::object defense;
  for (std::size_t i = 0; i < kDecisionCount; ++i) {
    defense[DecisionName(static_cast<Decision>(i))] = decisions[i];
  }
  body["defense"] = std::move(defense);
  reply(JsonResponse(200, body));
}

}  // namespace

void RegisterStatsRoutes(http::Router& router, ApiContext& context) {
  router.Add(http::Method::kGet, "/v1/events/{id}/stats",
             Answering([&context](const http::Request& request, Reply reply) {
               GetEventStats(context, request, std::move(reply));
             }));
}

}  // namespace boxoffice::api
