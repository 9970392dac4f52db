// Seat holds: POST /v1/events/{id}/holds, GET /v1/holds/{id}, DELETE /v1/holds/{id}, and the
// inventory's /metrics families.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <tuple>

#include "api/routes.hpp"
#include "api/support.hpp"
#include "common/time.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;

json::object HoldJson(const Event& event, const Hold& hold) {
  const SeatMap& map = event.seat_map();
  json::array seats;
  seats.reserve(hold.seats.size());
  for (const HeldSeat& seat : hold.seats) {
    seats.push_back(json::object{{"id", map.SeatId(seat.index)},
                                 {"version", seat.version},
                                 {"price_cents", map.TierOf(seat.index).price_cents}});
  }
  return json::object{{"hold_id", hold.id},
                      {"event_id", hold.event_id},
                      {"status", HoldStatusName(hold.status)},
                      {"seats", std::move(seats)},
                      {"total_cents", hold.total_cents},
                      {"currency", event.definition().currency},
                      {"created_at", FormatRfc3339(hold.created_at)},
                      {"expires_at", FormatRfc3339(hold.expires_at)}};
}

// {"seats": [{"id", "version"}...]}: the seats as the fan saw them.
Result<std::vector<SeatRequest>> ParseSeats(const SeatMap& map, const json::value& seats) {
  if (!seats.is_array() || seats.get_array().empty()) {
    return FieldError("seats", "'seats' must be a non-empty array of {\"id\", \"version\"}.");
  }
  // Bounded before any lookup: a hold never takes more than kPerOrderMax seats.
  if (seats.get_array().size() > kPerOrderMax) {
    return Error::Make(ErrorKind::kUnprocessable, "limit_exceeded",
                       "A hold takes at most " + std::to_string(kPerOrderMax) + " seats.",
                       {{"limit", "per_order"}, {"max", kPerOrderMax}});
  }
  std::vector<SeatRequest> out;
  for (std::size_t i = 0; i < seats.get_array().size(); ++i) {
    const std::string field = "seats[" + std::to_string(i) + "]";
    const json::object* seat = seats.get_array()[i].if_object();
    const json::value* id = seat ? seat->if_contains("id") : nullptr;
    const json::value* version = seat ? seat->if_contains("version") : nullptr;
    if (id == nullptr || !id->is_string()) {
      return FieldError(field + ".id", "Each seat needs its 'id' as a string.");
    }
    if (version == nullptr || !(version->is_int64() || version->is_uint64()) ||
        (version->is_int64() && version->get_int64() < 0) ||
        (version->is_int64() && version->get_int64() > SeatState::kVersionMask) ||
        (version->is_uint64() && version->get_uint64() > SeatState::kVersionMask)) {
      return FieldError(field + ".version",
                        "Each seat needs the 'version' it was seen at, a non-negative integer.");
    }
    const std::optional<std::uint32_t> index = map.Find(id->get_string());
    if (!index) return FieldError(field + ".id", "The event has no seat with this id.");
    const std::uint32_t seen = static_cast<std::uint32_t>(
        version->is_int64() ? version->get_int64()
                            : static_cast<std::int64_t>(version->get_uint64()));
    out.push_back(SeatRequest{*index, seen});
  }
  return out;
}

// {"best_available": {"quantity", "section"?, "accessible"?}}
Result<BestAvailableRequest> ParseBestAvailable(const json::value& value) {
  const json::object* object = value.if_object();
  if (object == nullptr) return FieldError("best_available", "'best_available' must be an object.");
  BestAvailableRequest request;
  const json::value* quantity = object->if_contains("quantity");
  if (quantity == nullptr || !quantity->is_int64() || quantity->get_int64() < 1 ||
      quantity->get_int64() > 1'000) {
    return FieldError("best_available.quantity", "'quantity' must be a positive integer.");
  }
  request.quantity = static_cast<std::uint32_t>(quantity->get_int64());
  if (const json::value* section = object->if_contains("section");
      section != nullptr && !section->is_null()) {
    if (!section->is_string()) {
      return FieldError("best_available.section", "'section' must be a section id.");
    }
    request.section = std::string(section->get_string());
  }
  if (const json::value* accessible = object->if_contains("accessible");
      accessible != nullptr && !accessible->is_null()) {
    if (!accessible->is_bool()) {
      return FieldError("best_available.accessible", "'accessible' must be true or false.");
    }
    request.accessible = accessible->get_bool();
  }
  return request;
}

void CreateHold(ApiContext& context, const http::Request& request, Reply reply) {
  Result<Session> session = RequireSession(request, context.accounts);
  if (!session) return reply(session.error());
  std::shared_ptr<Event> event = context.catalog.Find(request.PathParam("id"));
  if (!event) return reply(EventNotFound(request.PathParam("id")));
  if (event->definition().queue.enabled && context.admission != nullptr) {
    const std::string_view token = request.Header("x-access-token").value_or("");
    if (Status admitted =
            context.admission->VerifyAccess(event->definition().id, session->session_id, token);
        !admitted) {
      return reply(admitted.error());
    }
  }
  Result<json::value> body = ParseJsonBody(request);
  if (!body) return reply(body.error());
  const json::object* object = body->if_object();
  const json::value* seats = object ? object->if_contains("seats") : nullptr;
  const json::value* best = object ? object->if_contains("best_available") : nullptr;
  if ((seats == nullptr) == (best == nullptr)) {
    return reply(FieldError("", "The body needs exactly one of 'seats' and 'best_available'."));
  }
  SeatInventory& inventory = context.holds->InventoryFor(event);
  const HoldOwner owner{session->session_id, session->customer_id};
  Result<Hold> held = Error::Internal("unreachable");
  if (seats != nullptr) {
    Result<std::vector<SeatRequest>> wanted = ParseSeats(event->seat_map(), *seats);
    if (!wanted) return reply(wanted.error());
    held = inventory.HoldSeats(owner, std::move(wanted).value());
  } else {
    Result<BestAvailableRequest> wanted = ParseBestAvailable(*best);
    if (!wanted) return reply(wanted.error());
    held = inventory.HoldBestAvailable(owner, *wanted);
  }
  if (!held) return reply(held.error());
  context.holds->Acknowledge(inventory, std::move(held).value(), [event, reply](Result<Hold> hold) {
    if (!hold) return reply(hold.error());
    http::Response response = JsonResponse(201, HoldJson(*event, *hold));
    response.SetHeader("Location", "/v1/holds/" + hold->id);
    reply(std::move(response));
  });
}

void GetHold(ApiContext& context, const http::Request& request, Reply reply) {
  Result<Session> session = RequireSession(request, context.accounts);
  if (!session) return reply(session.error());
  const std::string_view hold_id = request.PathParam("id");
  Result<Hold> hold = context.holds->Get(hold_id, session->session_id);
  if (!hold) return reply(hold.error());
  std::shared_ptr<Event> event = context.catalog.Find(hold->event_id);
  reply(JsonResponse(200, HoldJson(*event, *hold)));
}

void DeleteHold(ApiContext& context, const http::Request& request, Reply reply) {
  Result<Session> session = RequireSession(request, context.accounts);
  if (!session) return reply(session.error());
  context.holds->Release(request.PathParam("id"), session->session_id, [reply](Status status) {
    if (!status) return reply(status.error());
    http::Response response;
    response.status = 204;
    reply(std::move(response));
  });
}

}  // namespace

void RegisterHoldRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kPost, "/v1/events/{id}/holds",
             Answering([&context](const http::Request& request, Reply reply) {
               CreateHold(context, request, std::move(reply));
             }));
  router.Add(Method::kGet, "/v1/holds/{id}",
             Answering([&context](const http::Request& request, Reply reply) {
               GetHold(context, request, std::move(reply));
             }));
  router.Add(Method::kDelete, "/v1/holds/{id}",
             Answering([&context](const http::Request& request, Reply reply) {
               DeleteHold(context, request, std::move(reply));
             }));
}

void RegisterHoldMetrics(MetricsRegistry& metrics, Catalog& catalog, HoldService& holds) {
  // Hold outcomes since start, summed over every event's inventory.
  const std::pair<std::string_view, std::uint64_t HoldCounters::*> outcomes[] = {
      {"boxoffice_holds_created_total", &HoldCounters::created},
      {"boxoffice_hold_conflicts_total", &HoldCounters::conflicts},
      {"boxoffice_holds_not_enough_seats_total", &HoldCounters::not_enough_seats},
      {"boxoffice_holds_limit_exceeded_total", &HoldCounters::limit_exceeded},
      {"boxoffice_holds_released_total", &HoldCounters::released},
      {"boxoffice_holds_expired_total", &HoldCounters::expired}};
  // `field = field` rather than `field`: clang before 16 cannot capture a structured binding,
  // and the fuzz build (fuzz/CMakeLists.txt) compiles this file with clang 14.
  for (const auto& [name, field] : outcomes) {
    metrics.AddSampledFamily(name, "Seat holds, by outcome, since start.", MetricType::kCounter,
                             [&holds, field = field](const MetricEmit& emit) {
                               std::uint64_t total = 0;
                               holds.ForEachInventory([&](const Event&, SeatInventory& inventory) {
                                 total += inventory.counters().*field;
                               });
                               emit({}, static_cast<double>(total));
                             });
  }
  // Per-event gauges from the inventories' counters: O(1) per event, no scan.
  const std::tuple<std::string_view, std::string_view, std::uint32_t SeatCounts::*> levels[] = {
      {"boxoffice_seats_available", "Seats on sale, per event.", &SeatCounts::available},
      {"boxoffice_seats_held", "Seats in a live hold, per event.", &SeatCounts::held},
      {"boxoffice_seats_sold", "Seats sold, per event.", &SeatCounts::sold}};
  for (const auto& [name, help, field] : levels) {
    metrics.AddSampledFamily(
        name, help, MetricType::kGauge, [&catalog, &holds, field = field](const MetricEmit& emit) {
          for (std::optional<std::string> cursor;;) {
            Result<EventPage> page = catalog.List(kEventsMax, cursor);
            if (!page) break;
            for (const auto& event : page->items) {
              const SeatCounts counts =
                  holds.InventoryFor(std::const_pointer_cast<Event>(event)).Counts();
              emit({{"event_id", event->definition().id}}, counts.*field);
            }
            if (!page->next_cursor) break;
            cursor = page->next_cursor;
          }
        });
  }
}

}  // namespace boxoffice::api
