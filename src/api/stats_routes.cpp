// Operator statistics: GET /v1/events/{id}/stats, and its history for the console's charts,
// GET /v1/events/{id}/stats/series and GET /v1/events/{id}/stats/stream (api/stats_series.hpp);
// the busiest client networks, GET /v1/events/{id}/stats/clients; and the card gateways'
// health, GET /v1/payments/gateways.
// Each domain adds its own object to the snapshot through one function: `inventory` here,
// `queue` from the waiting room (queue_routes.cpp), `orders` from order_routes.cpp; the history's
// samples are read out of that same snapshot.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>
#include <chrono>
#include <limits>

#include "api/routes.hpp"
#include "api/stats_series.hpp"
#include "api/support.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;

// GET .../stats/clients: the window and the number of prefixes, by default and at most.
constexpr std::int64_t kClientPrefixWindowDefaultS = 60;
constexpr std::int64_t kClientPrefixWindowMaxS = 3600;
constexpr std::int64_t kClientPrefixesDefault = 10;
constexpr std::int64_t kClientPrefixesMax = 100;

// A stats stream looks for a new sample this often: four looks per one-second sample keep an
// event at most a quarter of a second behind the sampler, for the few operators watching.
constexpr auto kStatsStreamInterval = std::chrono::milliseconds(250);

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

// The checks every stats route makes, in this order: an operator key that may read (401, 403),
// then the event (404). One function, so that a change of who may read stats reaches every
// route; the stats only read, so a viewer key is enough.
Result<std::shared_ptr<Event>> StatsEvent(ApiContext& context, const http::Request& request) {
  if (Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kViewer);
      !caller) {
    return caller.error();
  }
  std::shared_ptr<Event> event = context.catalog.Find(request.PathParam("id"));
  if (!event) return EventNotFound(request.PathParam("id"));
  return event;
}

void GetEventStats(ApiContext& context, const http::Request& request, Reply reply) {
  Result<std::shared_ptr<Event>> event = StatsEvent(context, request);
  if (!event) return reply(event.error());
  Result<json::object> body = EventStatsJson(context, *event);
  if (!body) return reply(body.error());
  reply(JsonResponse(200, *body));
}

// `since` of the series: a unix time in seconds, 0 or more; absent, every sample held.
Result<std::int64_t> SinceParameter(const http::Request& request) {
  const std::optional<std::string_view> text = request.Query("since");
  if (!text) return std::numeric_limits<std::int64_t>::min();
  std::int64_t since = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), since);
  if (error != std::errc() || end != text->data() + text->size() || since < 0) {
    return FieldError("since",
                      "Query parameter 'since' must be a time in unix seconds, 0 or more.");
  }
  return since;
}

void GetStatsSeries(ApiContext& context, const http::Request& request, Reply reply) {
  Result<std::shared_ptr<Event>> event = StatsEvent(context, request);
  if (!event) return reply(event.error());
  Result<std::int64_t> since = SinceParameter(request);
  if (!since) return reply(since.error());
  const std::string& event_id = (*event)->definition().id;
  // An event not sampled yet (just created, or older than the newest sampled) has no ring: its
  // series is empty, with every column named, which a chart draws as an empty plot.
  std::shared_ptr<const SampleRing> ring = context.stats_series->Find(event_id);
  const SampleWindow window = ring ? ring->Since(*since) : SampleWindow{};
  reply(JsonResponse(200, StatsSeriesJson(event_id, window)));
}

// GET /v1/events/{id}/stats/clients: the client networks that sent the event the most scored
// requests (queue joins and holds) in the last `window_s` seconds, read from the defence's
// decision log. The read walks up to the whole ring, so it runs on an order worker, not here.
void GetClientPrefixes(ApiContext& context, const http::Request& request, Reply reply) {
  Result<std::shared_ptr<Event>> event = StatsEvent(context, request);
  if (!event) return reply(event.error());
  Result<std::int64_t> window_s =
      QueryInteger(request, "window_s", kClientPrefixWindowDefaultS, 1, kClientPrefixWindowMaxS);
  if (!window_s) return reply(window_s.error());
  Result<std::int64_t> limit =
      QueryInteger(request, "limit", kClientPrefixesDefault, 1, kClientPrefixesMax);
  if (!limit) return reply(limit.error());
  RunOnOrderWorker(context, reply,
                   [&context, reply, event_id = (*event)->definition().id, window_s = *window_s,
                    limit = static_cast<std::size_t>(*limit)] {
                     const Defense& defense = context.defense;
                     const TimePoint since = defense.clock().Now() - std::chrono::seconds(window_s);
                     json::array items;
                     for (const PrefixCount& count :
                          defense.decision_log().TopPrefixes(event_id, since, limit)) {
                       items.push_back(json::object{{"prefix", count.prefix},
                                                    {"requests", count.requests},
                                                    {"challenged", count.challenged},
                                                    {"blocked", count.blocked}});
                     }
                     reply(JsonResponse(200, json::object{{"event_id", event_id},
                                                          {"window_s", window_s},
                                                          {"items", std::move(items)}}));
                   });
}

// The source of one stats stream: each look sends the event's latest sample when it is newer than
// the last one sent. A reader slower than the sampler skips samples rather than falling behind
// (its events' `t` show the gap, and the series fills it).
class StatsStreamSource {
 public:
  StatsStreamSource(const StatsSeries& series, std::string event_id)
      : series_(&series), event_id_(std::move(event_id)) {}

  http::StreamStep operator()() {
    // Looked up on every look: the event's ring appears with its first sample.
    std::shared_ptr<const SampleRing> ring = series_->Find(event_id_);
    if (!ring) return http::StreamStep::NoChange();
    std::optional<SampleRow> latest = ring->LatestAfter(last_sent_t_);
    if (!latest) return http::StreamStep::NoChange();
    last_sent_t_ = latest->t;
    return http::StreamStep::Event(StatsSampleJson(*latest));
  }

 private:
  const StatsSeries* series_;
  std::string event_id_;
  std::int64_t last_sent_t_ = std::numeric_limits<std::int64_t>::min();
};

void StreamStats(ApiContext& context, const http::Request& request, Reply reply) {
  Result<std::shared_ptr<Event>> event = StatsEvent(context, request);
  if (!event) return reply(event.error());
  http::Response response;
  response.stream = http::EventStream{
      StatsStreamSource(*context.stats_series, (*event)->definition().id), kStatsStreamInterval};
  reply(std::move(response));
}

}  // namespace

Result<json::object> EventStatsJson(ApiContext& context, const std::shared_ptr<Event>& event) {
  const std::string& event_id = event->definition().id;
  json::object body{{"event_id", event_id}};
  body["inventory"] = InventoryStats(context, event);
  if (context.waiting_room != nullptr) {
    Result<json::object> queue = QueueStatsJson(context, event_id);
    if (!queue) return std::move(queue).error();
    // The settings in force beside the figures, so that a chart of admissions can draw the
    // configured rate and cap they run against.
    Result<json::object> settings = context.waiting_room->PublicQueueJson(event_id);
    if (!settings) return std::move(settings).error();
    (*queue)["settings"] = std::move(*settings);
    body["queue"] = std::move(*queue);
  }
  if (context.orders != nullptr) {
    Result<json::object> orders = OrderStatsJson(context, event_id);
    if (!orders) return std::move(orders).error();
    body["orders"] = std::move(*orders);
  }
  // The bot defence's decisions on this event's routes since start: {allowed, rate_limited, ...}.
  const DecisionCounts decisions = context.defense.EventDecisions(event_id);
  json::object defense;
  for (std::size_t i = 0; i < kDecisionCount; ++i) {
    defense[DecisionName(static_cast<Decision>(i))] = decisions[i];
  }
  body["defense"] = std::move(defense);
  return body;
}

// GET /v1/payments/gateways: each card gateway's breaker, the calls and failures of its window,
// and the latency of its calls of the last minute, for the console. Integers only: microseconds
// rather than fractional milliseconds, and the reader divides failures by calls.
void GetGatewayHealth(ApiContext& context, const http::Request& request, Reply reply) {
  if (Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kViewer);
      !caller) {
    return reply(caller.error());
  }
  json::array items;
  if (context.payment_router != nullptr) {
    for (const GatewayHealth& gateway : context.payment_router->Health()) {
      items.push_back(json::object{
          {"name", gateway.name},
          {"weight", gateway.weight},
          {"breaker", BreakerStateName(gateway.breaker)},
          {"window",
           json::object{{"calls", gateway.window.calls}, {"failures", gateway.window.failures}}},
          {"latency",
           json::object{{"window_s", std::chrono::seconds(PaymentRouter::kLatencyWindow).count()},
                        {"samples", gateway.latency_samples},
                        {"p50_us", gateway.latency_p50_us},
                        {"p99_us", gateway.latency_p99_us}}}});
    }
  }
  reply(JsonResponse(200, json::object{{"items", std::move(items)}, {"next_cursor", nullptr}}));
}

void RegisterStatsRoutes(http::Router& router, ApiContext& context) {
  router.Add(http::Method::kGet, "/v1/payments/gateways",
             Answering([&context](const http::Request& request, Reply reply) {
               GetGatewayHealth(context, request, std::move(reply));
             }));
  router.Add(http::Method::kGet, "/v1/events/{id}/stats",
             Answering([&context](const http::Request& request, Reply reply) {
               GetEventStats(context, request, std::move(reply));
             }));
  router.Add(http::Method::kGet, "/v1/events/{id}/stats/clients",
             Answering([&context](const http::Request& request, Reply reply) {
               GetClientPrefixes(context, request, std::move(reply));
             }));
  if (context.stats_series == nullptr) return;  // a server that keeps no history
  router.Add(http::Method::kGet, "/v1/events/{id}/stats/series",
             Answering([&context](const http::Request& request, Reply reply) {
               GetStatsSeries(context, request, std::move(reply));
             }));
  router.Add(http::Method::kGet, "/v1/events/{id}/stats/stream",
             Answering([&context](const http::Request& request, Reply reply) {
               StreamStats(context, request, std::move(reply));
             }));
}

}  // namespace boxoffice::api
