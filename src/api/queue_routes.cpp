// The waiting room's routes: POST /v1/events/{id}/queue (join), GET /v1/events/{id}/queue/status,
// PATCH /v1/events/{id}/queue (operator); the `queue` object of GET /v1/events/{id}/stats.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/routes.hpp"
#include "api/support.hpp"
#include "catalog/event.hpp"
#include "common/time.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;

// A device fingerprint is an opaque id; anything longer is not one.
constexpr std::size_t kDeviceIdMaxChars = 128;

Error EventNotFound(std::string_view id) {
  return Error::Make(ErrorKind::kNotFound, "event_not_found", "No event has this id.",
                     {{"event_id", id}});
}

Error NoWaitingRoom() {
  Error error =
      Error::Make(ErrorKind::kUnavailable, "queue_unavailable", "The waiting room is not running.");
  error.retry_after_s = 1;
  return error;
}

http::Response FanViewResponse(int status, const FanView& view) {
  json::object body;
  body["queue_ticket"] = view.queue_ticket;
  body["state"] = FanStateName(view.state);
  body["position"] = view.position ? json::value(*view.position) : json::value(nullptr);
  body["eta_s"] = view.eta_s ? json::value(*view.eta_s) : json::value(nullptr);
  body["retry_after_s"] = view.retry_after_s;
  if (view.state == FanState::kAdmitted) {
    body["access_token"] = view.access_token;
    body["access_expires_at"] = FormatRfc3339(view.access_expires_at);
  }
  if (view.seats_held) {
    // No seat is for sale now, but holds could still return some: worth waiting.
    body["seats_left"] = 0;
    body["seats_held"] = *view.seats_held;
  }
  http::Response response = JsonResponse(status, body);
  response.SetHeader("Retry-After", std::to_string(view.retry_after_s));
  return response;
}

void JoinQueue(ApiContext& context, const http::Request& request, http::Respond respond) {
  Result<Session> session = RequireSession(request, context.accounts);
  if (!session) return respond(http::ErrorResponse(session.error()));
  if (context.waiting_room == nullptr) return respond(http::ErrorResponse(NoWaitingRoom()));
  const std::string_view event_id = request.PathParam("id");
  if (!context.catalog.Find(event_id)) {
    return respond(http::ErrorResponse(EventNotFound(event_id)));
  }
  FanIdentity fan{session->session_id, session->customer_id, ""};
  if (std::optional<std::string_view> device = request.Header("x-device-id")) {
    if (device->size() > kDeviceIdMaxChars) {
      return respond(http::ErrorResponse(Error::Make(
          ErrorKind::kMalformed, "invalid_header",
          "X-Device-Id must be at most " + std::to_string(kDeviceIdMaxChars) + " characters.",
          {{"header", "X-Device-Id"}})));
    }
    fan.device_id = std::string(*device);
  }
  Result<FanView> view = context.waiting_room->Join(event_id, fan);
  if (!view) return respond(http::ErrorResponse(view.error()));
  respond(FanViewResponse(view->created ? 201 : 200, *view));
}

void QueueStatus(ApiContext& context, const http::Request& request, http::Respond respond) {
  Result<Session> session = RequireSession(request, context.accounts);
  if (!session) return respond(http::ErrorResponse(session.error()));
  if (context.waiting_room == nullptr) return respond(http::ErrorResponse(NoWaitingRoom()));
  const std::string_view event_id = request.PathParam("id");
  if (!context.catalog.Find(event_id)) {
    return respond(http::ErrorResponse(EventNotFound(event_id)));
  }
  Result<FanView> view = context.waiting_room->Poll(event_id, session->session_id,
                                                    request.Header("x-queue-ticket").value_or(""));
  if (!view) return respond(http::ErrorResponse(view.error()));
  respond(FanViewResponse(200, *view));
}

// Reads one optional unsigned field of the PATCH body within [1, max].
Status ReadControl(const json::object& body, std::string_view field, std::uint32_t max,
                   std::optional<std::uint32_t>& out) {
  const json::value* value = body.if_contains(field);
  if (value == nullptr || value->is_null()) return {};
  const bool integral = value->is_int64() || value->is_uint64();
  const std::int64_t number =
      value->is_int64() ? value->get_int64()
      : value->is_uint64()
          ? static_cast<std::int64_t>(std::min<std::uint64_t>(value->get_uint64(), max + 1ull))
          : 0;
  if (!integral || number < 1 || number > static_cast<std::int64_t>(max)) {
    return Error::Make(ErrorKind::kUnprocessable, "validation_failed",
                       "Field '" + std::string(field) + "' must be an integer between 1 and " +
                           std::to_string(max) + ".",
                       {{"field", field}});
  }
  out = static_cast<std::uint32_t>(number);
  return {};
}

void PatchQueue(ApiContext& context, const http::Request& request, http::Respond respond) {
  if (Status allowed = RequireOperator(request, context.admin_key); !allowed) {
    return respond(http::ErrorResponse(allowed.error()));
  }
  if (context.waiting_room == nullptr) return respond(http::ErrorResponse(NoWaitingRoom()));
  const std::string event_id(request.PathParam("id"));
  if (!context.catalog.Find(event_id)) {
    return respond(http::ErrorResponse(EventNotFound(event_id)));
  }
  Result<json::value> body = ParseJsonBody(request);
  if (!body) return respond(http::ErrorResponse(body.error()));
  if (!body->is_object()) {
    return respond(
        http::ErrorResponse(Error::Make(ErrorKind::kUnprocessable, "validation_failed",
                                        "The body must be a JSON object.", {{"field", ""}})));
  }
  const json::object& object = body->get_object();
  QueueControls controls;
  if (Status read = ReadControl(object, "admission_rate_per_s", kAdmissionRateMaxPerS,
                                controls.admission_rate_per_s);
      !read) {
    return respond(http::ErrorResponse(read.error()));
  }
  if (Status read = ReadControl(object, "max_active", kMaxActiveMax, controls.max_active); !read) {
    return respond(http::ErrorResponse(read.error()));
  }
  if (const json::value* paused = object.if_contains("paused"); paused && !paused->is_null()) {
    if (!paused->is_bool()) {
      return respond(http::ErrorResponse(Error::Make(ErrorKind::kUnprocessable, "validation_failed",
                                                     "Field 'paused' must be true or false.",
                                                     {{"field", "paused"}})));
    }
    controls.paused = paused->get_bool();
  }
  context.waiting_room->Control(
      event_id, controls, [&context, event_id, respond](Result<QueueSettings> settings) {
        if (!settings) return respond(http::ErrorResponse(settings.error()));
        Result<json::object> queue = context.waiting_room->PublicQueueJson(event_id);
        if (!queue) return respond(http::ErrorResponse(queue.error()));
        respond(JsonResponse(200, *queue));
      });
}

}  // namespace

Result<boost::json::object> QueueStatsJson(ApiContext& context, std::string_view event_id) {
  if (context.waiting_room == nullptr) return NoWaitingRoom();
  Result<QueueStats> stats = context.waiting_room->Stats(event_id);
  if (!stats) return stats.error();
  return json::object{{"joined", stats->joined},
                      {"waiting", stats->waiting},
                      {"served", stats->serving},
                      {"serving", stats->serving},
                      {"active", stats->active},
                      {"admitted", stats->admitted},
                      {"admitted_per_s", stats->admitted_per_s},
                      {"abandoned", stats->abandoned}};
}

void RefreshEventJson(ApiContext& context, const std::string& event_id) {
  std::shared_ptr<Event> event = context.catalog.Find(event_id);
  if (!event || context.waiting_room == nullptr) return;
  Result<json::object> queue = context.waiting_room->PublicQueueJson(event_id);
  if (!queue) return;
  json::object rendered = EventToJson(event->definition());
  rendered["queue"] = std::move(*queue);
  event->SetJson(json::serialize(rendered));
}

void AttachEventQueue(ApiContext& context, const std::shared_ptr<Event>& event, bool restore,
                      std::function<void(Status)> ready) {
  if (context.waiting_room == nullptr) {
    if (ready) ready(Status());
    return;
  }
  // The probe keeps the event alive; events are never removed from the catalog.
  context.waiting_room->Attach(
      event->definition(),
      [event] {
        const SeatCounts counts = event->seats().Count();
        return InventoryLevel{counts.available, counts.held};
      },
      restore,
      [&context, id = event->definition().id, ready = std::move(ready)](Status durable) {
        // Rendered before anyone is told the event exists, so its seed commitment is shown.
        RefreshEventJson(context, id);
        if (ready) ready(std::move(durable));
      });
}

void RegisterQueueRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kPost, "/v1/events/{id}/queue",
             [&context](const http::Request& request, http::Respond respond) {
               JoinQueue(context, request, std::move(respond));
             });
  router.Add(Method::kPatch, "/v1/events/{id}/queue",
             [&context](const http::Request& request, http::Respond respond) {
               PatchQueue(context, request, std::move(respond));
             });
  router.Add(Method::kGet, "/v1/events/{id}/queue/status",
             [&context](const http::Request& request, http::Respond respond) {
               QueueStatus(context, request, std::move(respond));
             });
}

}  // namespace boxoffice::api
