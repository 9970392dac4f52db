// The waiting room's routes: POST /v1/events/{id}/queue (join), DELETE /v1/events/{id}/queue
// (leave), GET /v1/events/{id}/queue/status, GET /v1/events/{id}/queue/stream (the status as
// server-sent events), PATCH /v1/events/{id}/queue (operator); the `queue` object of
// GET /v1/events/{id}/stats.
#include <array>
#include <boost/json/object.hpp>
#include <charconv>

#include "api/routes.hpp"
#include "api/support.hpp"
#include "catalog/event.hpp"
#include "common/json_text.hpp"
#include "common/time.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;
using namespace std::string_view_literals;

// A device fingerprint is an opaque id; anything longer is not one.
constexpr std::size_t kDeviceIdMaxChars = 128;
// A stream looks at the fan's place at most this often (the issue: once a second per fan).
constexpr auto kQueueStreamInterval = std::chrono::seconds(1);

Error NoWaitingRoom() {
  Error error =
      Error::Make(ErrorKind::kUnavailable, "queue_unavailable", "The waiting room is not running.");
  error.retry_after_s = 1;
  return error;
}

// The body of join, status and every stream event. Written straight into one string rather than
// built as a json::object and serialised: this is the answer to every poll of every fan.
std::string FanViewJson(const FanView& view) {
  std::string out;
  out.reserve(160 + view.queue_ticket.size() + view.access_token.size());
  out += "{\"queue_ticket\":"sv;
  AppendJsonString(out, view.queue_ticket);
  out += ",\"state\":"sv;
  AppendJsonString(out, FanStateName(view.state));
  out += ",\"position\":"sv;
  if (view.position) {
    AppendJsonInteger(out, *view.position);
  } else {
    out += "null"sv;
  }
  out += ",\"eta_s\":"sv;
  if (view.eta_s) {
    AppendJsonInteger(out, *view.eta_s);
  } else {
    out += "null"sv;
  }
  out += ",\"retry_after_s\":"sv;
  AppendJsonInteger(out, std::uint64_t{view.retry_after_s});
  if (view.sequence) {
    out += ",\"sequence\":"sv;
    AppendJsonInteger(out, *view.sequence);
  }
  if (view.admitted_as) {
    out += ",\"admitted_as\":"sv;
    AppendJsonInteger(out, *view.admitted_as);
  }
  if (view.access_released) {
    out += ",\"access_released\":"sv;
    AppendJsonString(out, AccessReleaseName(*view.access_released));
  }
  if (view.state == FanState::kAdmitted) {
    out += ",\"access_token\":"sv;
    AppendJsonString(out, view.access_token);
    out += ",\"access_expires_at\":"sv;
    AppendJsonString(out, FormatRfc3339(view.access_expires_at));
  }
  if (view.paused) out += ",\"paused\":true"sv;
  if (!view.message.empty()) {
    out += ",\"message\":"sv;
    AppendJsonString(out, view.message);
  }
  if (view.seats_held) {
    // No seat is for sale now, but holds could still return some: worth waiting.
    out += ",\"seats_left\":0,\"seats_held\":"sv;
    AppendJsonInteger(out, std::uint64_t{*view.seats_held});
  }
  out += '}';
  return out;
}

http::Response FanViewResponse(int status, const FanView& view) {
  http::Response response = JsonResponse(status, FanViewJson(view));
  char seconds[12];
  const auto end = std::to_chars(seconds, seconds + sizeof seconds, view.retry_after_s).ptr;
  response.SetHeader("Retry-After", std::string(seconds, end));
  return response;
}

void JoinQueue(ApiContext& context, const http::Request& request, Reply reply) {
  Result<Session> session = RequireSession(request, context.accounts);
  if (!session) return reply(session.error());
  if (context.waiting_room == nullptr) return reply(NoWaitingRoom());
  const std::string_view event_id = request.PathParam("id");
  if (!context.catalog.Find(event_id)) {
    return reply(EventNotFound(event_id));
  }
  FanIdentity fan{session->session_id, session->customer_id, ""};
  if (std::optional<std::string_view> device = request.Header("x-device-id")) {
    if (device->size() > kDeviceIdMaxChars) {
      return reply(Error::Make(
          ErrorKind::kMalformed, "invalid_header",
          "X-Device-Id must be at most " + std::to_string(kDeviceIdMaxChars) + " characters.",
          {{"header", "X-Device-Id"}}));
    }
    fan.device_id = std::string(*device);
  }
  Result<FanView> view = context.waiting_room->Join(event_id, fan);
  if (!view) return reply(view.error());
  reply(FanViewResponse(view->created ? 201 : 200, *view));
}

// The checks of a status call, and the call itself: session, event, ticket. No catalog lookup:
// every event is attached to the room before its id is handed out (POST /v1/events answers
// after that), and the room answers 404 event_not_found itself.
Result<FanView> PollFan(ApiContext& context, const http::Request& request, Session& session) {
  Result<Session> authenticated = RequireSession(request, context.accounts);
  if (!authenticated) return authenticated.error();
  session = std::move(authenticated).value();
  if (context.waiting_room == nullptr) return NoWaitingRoom();
  return context.waiting_room->Poll(request.PathParam("id"), session.session_id,
                                    request.Header("x-queue-ticket").value_or(""));
}

void QueueStatus(ApiContext& context, const http::Request& request, Reply reply) {
  Session session;
  Result<FanView> view = PollFan(context, request, session);
  if (!view) return reply(view.error());
  reply(FanViewResponse(200, *view));
}

void LeaveQueue(ApiContext& context, const http::Request& request, Reply reply) {
  Result<Session> session = RequireSession(request, context.accounts);
  if (!session) return reply(session.error());
  if (context.waiting_room == nullptr) return reply(NoWaitingRoom());
  Status left = context.waiting_room->Leave(request.PathParam("id"), session->session_id,
                                            request.Header("x-queue-ticket").value_or(""));
  if (!left) return reply(left.error());
  reply(JsonResponse(204, std::string()));
}

// After these the fan's place cannot change any more, so the stream ends with them.
bool IsFinal(FanState state) {
  return state == FanState::kAdmitted || state == FanState::kSoldOut || state == FanState::kClosed;
}

// The source of one fan's stream: each tick polls the room as a status call would (so the fan
// counts as seen) and sends the view when its state or held seats changed, or when its position
// did and the poll budget's interval (`retry_after_s`) has passed since the last event: a fan far
// back hears of their progress as rarely as a polling fan would, but of admission, a sell-out or
// a pause at once. The first view, from the call that opened the stream, goes out at once.
class QueueStreamSource {
 public:
  QueueStreamSource(WaitingRoom& room, const http::Request& request, std::string session_id,
                    FanView first)
      : room_(&room),
        event_id_(request.PathParam("id")),
        session_id_(std::move(session_id)),
        ticket_(request.Header("x-queue-ticket").value_or("")),
        first_(std::move(first)) {}

  http::StreamStep operator()() {
    FanView view;
    if (first_) {
      view = std::move(*first_);
      first_.reset();
    } else {
      Result<FanView> polled = room_->Poll(event_id_, session_id_, ticket_);
      // The ticket was good when the stream opened, so this is the room going away; a status
      // call would tell the fan why.
      if (!polled) return http::StreamStep::End();
      view = std::move(polled).value();
    }
    Shown shown{view.state, view.paused, view.position, view.seats_held, view.message};
    ++ticks_since_event_;
    if (last_ && *last_ == shown) return http::StreamStep::NoChange();
    const bool only_moved = last_ && last_->state == shown.state && last_->paused == shown.paused &&
                            last_->seats_held == shown.seats_held &&
                            last_->message == shown.message;
    if (only_moved && ticks_since_event_ < view.retry_after_s) return http::StreamStep::NoChange();
    last_ = shown;
    ticks_since_event_ = 0;
    return http::StreamStep::Event(FanViewJson(view), IsFinal(view.state));
  }

 private:
  struct Shown {
    FanState state;
    bool paused;
    std::optional<std::uint64_t> position;
    std::optional<std::uint32_t> seats_held;
    std::string message;
    bool operator==(const Shown&) const = default;
  };

  WaitingRoom* room_;
  std::string event_id_;
  std::string session_id_;
  std::string ticket_;
  std::optional<FanView> first_;
  std::optional<Shown> last_;
  std::uint32_t ticks_since_event_ = 0;  // stream ticks (kQueueStreamInterval) since the last event
};

void QueueStream(ApiContext& context, const http::Request& request, Reply reply) {
  Session session;
  Result<FanView> view = PollFan(context, request, session);
  if (!view) return reply(view.error());
  http::Response response;
  response.stream =
      http::EventStream{QueueStreamSource(*context.waiting_room, request,
                                          std::move(session.session_id), std::move(view).value()),
                        kQueueStreamInterval};
  reply(std::move(response));
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

// The operator's message to fans in line: a string of at most kQueueMessageMaxChars characters
// without control characters (it is shown as one paragraph on every waiting fan's page); "" takes
// it down, absent or null leaves it as it is.
Status ReadMessage(const json::object& body, std::optional<std::string>& out) {
  const json::value* value = body.if_contains("message");
  if (value == nullptr || value->is_null()) return {};
  auto invalid = [](std::string message) {
    return Error::Make(ErrorKind::kUnprocessable, "validation_failed", std::move(message),
                       {{"field", "message"}});
  };
  if (!value->is_string()) return invalid("Field 'message' must be a string.");
  const std::string_view text = value->get_string();
  std::size_t characters = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    // The JSON parser has checked the UTF-8, so a character starts at every non-continuation
    // byte; C1 controls (U+0080..U+009F) are encoded C2 80..C2 9F.
    if ((byte & 0xC0) != 0x80) ++characters;
    const bool c1 =
        byte == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if (byte < 0x20 || byte == 0x7F || c1) {
      return invalid("Field 'message' must not contain control characters or line breaks.");
    }
  }
  if (characters > kQueueMessageMaxChars) {
    return invalid("Field 'message' must be at most " + std::to_string(kQueueMessageMaxChars) +
                   " characters.");
  }
  out = std::string(text);
  return {};
}

// A true/false control of PATCH: absent or null leaves it as it is.
Status ReadSwitch(const json::object& body, std::string_view field, std::optional<bool>& out) {
  const json::value* value = body.if_contains(field);
  if (value == nullptr || value->is_null()) return {};
  if (!value->is_bool()) {
    return Error::Make(ErrorKind::kUnprocessable, "validation_failed",
                       "Field '" + std::string(field) + "' must be true or false.",
                       {{"field", field}});
  }
  out = value->get_bool();
  return {};
}

// The settings PATCH controls, as the audit log records them before and after a change: the rest
// of the queue object cannot change after creation, so a reader compares these five.
json::object ControlledSettingsJson(const QueueSettings& settings) {
  return json::object{
      {"admission_rate_per_s", settings.admission_rate_per_s},
      {"max_active", settings.max_active},
      {"paused", settings.paused},
      {"message", settings.message.empty() ? json::value(nullptr) : json::value(settings.message)},
      {"closed", settings.closed}};
}

void PatchQueue(ApiContext& context, const http::Request& request, Reply reply) {
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kOperator);
  if (!caller) return reply(caller.error());
  if (context.waiting_room == nullptr) return reply(NoWaitingRoom());
  const std::string event_id(request.PathParam("id"));
  if (!context.catalog.Find(event_id)) {
    return reply(EventNotFound(event_id));
  }
  Result<json::object> body = ParseJsonObjectBody(request);
  if (!body) return reply(body.error());
  const json::object& object = *body;
  QueueControls controls;
  if (Status read = ReadControl(object, "admission_rate_per_s", kAdmissionRateMaxPerS,
                                controls.admission_rate_per_s);
      !read) {
    return reply(read.error());
  }
  if (Status read = ReadControl(object, "max_active", kMaxActiveMax, controls.max_active); !read) {
    return reply(read.error());
  }
  if (Status read = ReadSwitch(object, "paused", controls.paused); !read) {
    return reply(read.error());
  }
  if (Status read = ReadSwitch(object, "closed", controls.closed); !read) {
    return reply(read.error());
  }
  if (Status read = ReadMessage(object, controls.message); !read) return reply(read.error());
  context.waiting_room->Control(
      event_id, controls,
      [&context, event_id, caller = std::move(caller).value(), reply](Result<QueueChange> change) {
        if (!change) return reply(change.error());
        Result<json::object> queue = context.waiting_room->PublicQueueJson(event_id);
        if (!queue) return reply(queue.error());
        AuditEntry audit{audit_action::kQueueUpdate, event_id,
                         ControlledSettingsJson(change->before),
                         ControlledSettingsJson(change->after)};
        RecordControl(context, caller, std::move(audit), [reply, queue = std::move(queue).value()] {
          reply(JsonResponse(200, queue));
        });
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
                      {"abandoned", stats->abandoned},
                      {"left_waiting", stats->left_waiting},
                      {"resumed", stats->resumed},
                      {"released", json::object{{"ordered", stats->released_ordered},
                                                {"left", stats->released_left},
                                                {"idle", stats->released_idle},
                                                {"expired", stats->released_expired}}}};
}

void RefreshEventJson(ApiContext& context, const std::string& event_id) {
  std::shared_ptr<Event> event = context.catalog.Find(event_id);
  if (!event || context.waiting_room == nullptr) return;
  Result<json::object> queue = context.waiting_room->PublicQueueJson(event_id);
  if (!queue) return;
  json::object rendered = EventToJson(event->definition());
  rendered["queue"] = std::move(*queue);
  event->SetJson(SerializeJson(rendered));
}

void AttachEventQueue(ApiContext& context, const std::shared_ptr<Event>& event, bool restore,
                      std::function<void(Status)> ready) {
  if (context.waiting_room == nullptr) {
    if (ready) ready(Status());
    return;
  }
  // The probe keeps the event alive; events are never removed from the catalog.
  SeatInventory& inventory = context.holds->InventoryFor(event);
  context.waiting_room->Attach(
      event->definition(),
      [event, &inventory] {
        const SeatCounts counts = inventory.Counts();
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
             Answering([&context](const http::Request& request, Reply reply) {
               JoinQueue(context, request, std::move(reply));
             }));
  router.Add(Method::kDelete, "/v1/events/{id}/queue",
             Answering([&context](const http::Request& request, Reply reply) {
               LeaveQueue(context, request, std::move(reply));
             }));
  router.Add(Method::kPatch, "/v1/events/{id}/queue",
             Answering([&context](const http::Request& request, Reply reply) {
               PatchQueue(context, request, std::move(reply));
             }));
  router.Add(Method::kGet, "/v1/events/{id}/queue/status",
             Answering([&context](const http::Request& request, Reply reply) {
               QueueStatus(context, request, std::move(reply));
             }));
  router.Add(Method::kGet, "/v1/events/{id}/queue/stream",
             Answering([&context](const http::Request& request, Reply reply) {
               QueueStream(context, request, std::move(reply));
             }));
}

void RegisterQueueMetrics(MetricsRegistry& metrics, const WaitingRoom& room) {
  struct Family {
    std::string_view name;
    MetricType type;
    std::string_view help;
    double (*value)(const QueueStats&);
  };
  static constexpr Family kFamilies[] = {
      {"boxoffice_queue_joined_total", MetricType::kCounter, "Fans who joined the queue.",
       [](const QueueStats& s) { return static_cast<double>(s.joined); }},
      {"boxoffice_queue_waiting", MetricType::kGauge, "Fans waiting in the queue.",
       [](const QueueStats& s) { return static_cast<double>(s.waiting); }},
      {"boxoffice_queue_serving", MetricType::kGauge, "The serving counter.",
       [](const QueueStats& s) { return static_cast<double>(s.serving); }},
      {"boxoffice_queue_active", MetricType::kGauge, "Admitted fans whose access has not expired.",
       [](const QueueStats& s) { return static_cast<double>(s.active); }},
      {"boxoffice_queue_admitted_total", MetricType::kCounter, "Fans admitted.",
       [](const QueueStats& s) { return static_cast<double>(s.admitted); }},
      {"boxoffice_queue_admitted_per_second", MetricType::kGauge,
       "Measured admissions per second (EWMA).",
       [](const QueueStats& s) { return s.admitted_per_s; }},
      {"boxoffice_queue_abandoned_total", MetricType::kCounter,
       "Fans passed by the counter while away.",
       [](const QueueStats& s) { return static_cast<double>(s.abandoned); }},
      {"boxoffice_queue_left_waiting_total", MetricType::kCounter,
       "Fans who left the queue before they were admitted.",
       [](const QueueStats& s) { return static_cast<double>(s.left_waiting); }},
      {"boxoffice_queue_resumed_total", MetricType::kCounter,
       "Fans who came back to shop after their idle slot was given back.",
       [](const QueueStats& s) { return static_cast<double>(s.resumed); }},
  };
  for (const Family& family : kFamilies) {
    metrics.AddSampledFamily(family.name, family.help, family.type,
                             [&room, value = family.value](const MetricEmit& emit) {
                               for (const std::string& id : room.EventIds()) {
                                 Result<QueueStats> stats = room.Stats(id);
                                 if (stats) emit({{"event_id", id}}, value(*stats));
                               }
                             });
  }
  metrics.AddSampledFamily(
      "boxoffice_queue_released_total",
      "Active slots given back, by cause: ordered, left, idle (idle_release_s), expired.",
      MetricType::kCounter, [&room](const MetricEmit& emit) {
        for (const std::string& id : room.EventIds()) {
          Result<QueueStats> stats = room.Stats(id);
          if (!stats) continue;
          emit({{"event_id", id}, {"cause", "ordered"}},
               static_cast<double>(stats->released_ordered));
          emit({{"event_id", id}, {"cause", "left"}}, static_cast<double>(stats->released_left));
          emit({{"event_id", id}, {"cause", "idle"}}, static_cast<double>(stats->released_idle));
          emit({{"event_id", id}, {"cause", "expired"}},
               static_cast<double>(stats->released_expired));
        }
      });
}

}  // namespace boxoffice::api
