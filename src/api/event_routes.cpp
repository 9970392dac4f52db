// Events and seat maps: POST /v1/events (operator), GET /v1/events, GET /v1/events/{id},
// GET /v1/events/{id}/seats.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/routes.hpp"
#include "api/support.hpp"
#include "common/crypto.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;

constexpr std::int64_t kEventsPageDefault = 50;
constexpr std::int64_t kEventsPageMax = 200;

// How long a cache (a CDN, the browser) may keep a public read, and then serve it stale while it
// asks again (docs/api.md, "Caching"). Events change rarely (their queue settings at most);
// seat availability changes by the second, and a hold is the truth about a seat anyway.
constexpr unsigned kEventsMaxAgeS = 5;
constexpr unsigned kEventsStaleS = 30;
constexpr unsigned kSeatsMaxAgeS = 1;
constexpr unsigned kSeatsStaleS = 5;

void MarkCacheable(http::Response& response, unsigned max_age_s, unsigned stale_s) {
  response.SetHeader("Cache-Control", "public, max-age=" + std::to_string(max_age_s) +
                                          ", stale-while-revalidate=" + std::to_string(stale_s));
}

// 304 with the validator and the caching rule, when the client's copy is current.
http::Response NotModified(const std::string& etag, unsigned max_age_s, unsigned stale_s) {
  http::Response not_modified;
  not_modified.status = 304;
  not_modified.SetHeader("ETag", etag);
  MarkCacheable(not_modified, max_age_s, stale_s);
  return not_modified;
}

// A public 200 with a validator made from its bytes, or 304 when the client holds those bytes.
http::Response Cacheable(const http::Request& request, http::Response response) {
  const std::string etag = "\"" + Sha256Hex(response.body).substr(0, 32) + "\"";
  if (request.IfNoneMatch(etag)) return NotModified(etag, kEventsMaxAgeS, kEventsStaleS);
  response.SetHeader("ETag", etag);
  MarkCacheable(response, kEventsMaxAgeS, kEventsStaleS);
  return response;
}

// A list entry: the event without its seat map, which can be large, and with the queue settings
// in force (the operator may have changed them since the event was created).
json::object EventSummary(ApiContext& context, const Event& event) {
  const EventDefinition& definition = event.definition();
  json::object summary = EventToJson(definition);
  summary.erase("sections");
  summary.erase("price_tiers");
  if (context.waiting_room != nullptr) {
    if (Result<json::object> queue = context.waiting_room->PublicQueueJson(definition.id)) {
      summary["queue"] = std::move(*queue);
    }
  }
  return summary;
}

// The whole event as POST and GET answer it: the cached JSON plus, when tickets are signed, the
// event's public ticket key. Spliced in rather than re-rendered: the key is derived, never stored.
std::string EventBody(const ApiContext& context, const Event& event) {
  std::string body = event.json();
  if (context.tickets != nullptr && body.size() >= 2 && body.back() == '}') {
    body.pop_back();
    body += ",\"ticket_public_key\":\"" + context.tickets->PublicKeyBase64(event.definition().id) +
            "\"}";
  }
  return body;
}

json::object SeatJson(const Event& event, std::uint32_t index, const SeatState& state) {
  const SeatMap& map = event.seat_map();
  const SeatInfo& seat = map.Seat(index);
  const PriceTier& tier = map.TierOf(index);
  return json::object{{"id", map.SeatId(index)},
                      {"section", map.SectionOf(index).id},
                      {"row", map.RowOf(index).label},
                      {"number", seat.number},
                      {"tier", tier.id},
                      {"price_cents", tier.price_cents},
                      {"accessible", seat.accessible},
                      {"status", SeatStatusName(state.status)},
                      {"version", state.version}};
}

// The last step of a creation, once the event's queue can take fans: the audit entry, then 201.
void AnswerCreated(ApiContext& context, const OperatorIdentity& caller,
                   const std::shared_ptr<Event>& created, Reply reply) {
  // The summary, not the seat map: an entry stays small however large the venue, and the seat
  // map is the event's own to show.
  AuditEntry audit{audit_action::kEventCreate, created->definition().id, std::nullopt,
                   EventSummary(context, *created)};
  RecordControl(context, caller, std::move(audit), [&context, reply, created] {
    http::Response response = JsonResponse(201, EventBody(context, *created));
    response.SetHeader("Location", "/v1/events/" + created->definition().id);
    reply(std::move(response));
  });
}

void CreateEvent(ApiContext& context, const http::Request& request, Reply reply) {
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kOperator);
  if (!caller) return reply(caller.error());
  Result<json::value> body = ParseJsonBody(request);
  if (!body) return reply(body.error());
  Result<EventDefinition> definition = ParseEventDefinition(*body);
  if (!definition) return reply(definition.error());
  context.catalog.Create(
      std::move(definition).value(),
      [&context, caller = std::move(caller).value(), reply](Result<std::shared_ptr<Event>> event) {
        if (!event) return reply(event.error());
        // Answer once the queue can take fans: its first sequence numbers are durable.
        std::shared_ptr<Event> created = *event;
        AttachEventQueue(context, created, false, [&context, caller, reply, created](Status ready) {
          if (!ready) return reply(ready.error());
          AnswerCreated(context, caller, created, reply);
        });
      });
}

void ListEvents(ApiContext& context, const http::Request& request, Reply reply) {
  Result<std::int64_t> limit =
      QueryInteger(request, "limit", kEventsPageDefault, 1, kEventsPageMax);
  if (!limit) return reply(limit.error());
  Result<EventPage> page =
      context.catalog.List(static_cast<std::size_t>(*limit), request.Query("cursor"));
  if (!page) return reply(page.error());
  json::array items;
  items.reserve(page->items.size());
  for (const auto& event : page->items) items.push_back(EventSummary(context, *event));
  json::object body{{"items", std::move(items)}};
  body["next_cursor"] = page->next_cursor ? json::value(*page->next_cursor) : nullptr;
  reply(Cacheable(request, JsonResponse(200, body)));
}

void GetEvent(ApiContext& context, const http::Request& request, Reply reply) {
  std::shared_ptr<Event> event = context.catalog.Find(request.PathParam("id"));
  if (!event) return reply(EventNotFound(request.PathParam("id")));
  reply(Cacheable(request, JsonResponse(200, EventBody(context, *event))));
}

// The seat list's validator: the seat table's change counter, prefixed by a value chosen at
// process start, because the counter starts again from 0 after a restart while the seats may
// differ. A cache keys entries by URL, so one tag can serve every filter of the same state.
std::string SeatsEtag(const SeatInventory& inventory) {
  static const std::string kBoot = RandomToken(8);
  return "\"" + kBoot + "-" + std::to_string(inventory.changes()) + "\"";
}

void ListSeats(ApiContext& context, const http::Request& request, Reply reply) {
  std::shared_ptr<Event> event = context.catalog.Find(request.PathParam("id"));
  if (!event) return reply(EventNotFound(request.PathParam("id")));
  // Read before the seats: a change during the read leaves an older tag, so the next poll
  // fetches again rather than keeping a mixed list.
  const SeatInventory& inventory = context.holds->InventoryFor(event);
  const std::string etag = SeatsEtag(inventory);
  if (request.IfNoneMatch(etag)) return reply(NotModified(etag, kSeatsMaxAgeS, kSeatsStaleS));

  std::optional<SeatStatus> status_filter;
  if (std::optional<std::string_view> status = request.Query("status")) {
    for (SeatStatus candidate : {SeatStatus::kAvailable, SeatStatus::kHeld, SeatStatus::kSold}) {
      if (*status == SeatStatusName(candidate)) status_filter = candidate;
    }
    if (!status_filter) {
      return reply(
          InvalidParameter("status", "Query parameter 'status' must be available, held or sold."));
    }
  }
  std::uint32_t first = 0;
  std::uint32_t end = event->seat_map().size();
  if (std::optional<std::string_view> section = request.Query("section")) {
    // An unknown section filters everything out, as any filter that matches nothing does.
    const auto range = event->seat_map().SectionRange(*section);
    first = range ? range->first : 0;
    end = range ? range->second : 0;
  }
  json::array seats;
  seats.reserve(end - first);
  for (std::uint32_t index = first; index < end; ++index) {
    const SeatState state = inventory.Seat(index);
    if (status_filter && state.status != *status_filter) continue;
    seats.push_back(SeatJson(*event, index, state));
  }
  http::Response response = JsonResponse(
      200, json::object{{"event_id", event->definition().id}, {"seats", std::move(seats)}});
  response.SetHeader("ETag", etag);
  MarkCacheable(response, kSeatsMaxAgeS, kSeatsStaleS);
  reply(std::move(response));
}

}  // namespace

void RegisterEventRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kPost, "/v1/events",
             Answering([&context](const http::Request& request, Reply reply) {
               CreateEvent(context, request, std::move(reply));
             }));
  router.Add(Method::kGet, "/v1/events",
             Answering([&context](const http::Request& request, Reply reply) {
               ListEvents(context, request, std::move(reply));
             }));
  router.Add(Method::kGet, "/v1/events/{id}",
             Answering([&context](const http::Request& request, Reply reply) {
               GetEvent(context, request, std::move(reply));
             }));
  router.Add(Method::kGet, "/v1/events/{id}/seats",
             Answering([&context](const http::Request& request, Reply reply) {
               ListSeats(context, request, std::move(reply));
             }));
}

}  // namespace boxoffice::api
