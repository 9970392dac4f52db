// Check-in at the door: POST /v1/events/{id}/checkin (operator or scanner key) and
// POST /v1/events/{id}/scanner-keys (operator).
#include <boost/json/object.hpp>

#include "api/routes.hpp"
#include "api/support.hpp"
#include "common/time.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;

void CreateScannerKey(ApiContext& context, const http::Request& request, http::Respond respond) {
  if (Status allowed = RequireOperator(request, context.admin_key); !allowed) {
    return respond(http::ErrorResponse(allowed.error()));
  }
  std::shared_ptr<Event> event = context.catalog.Find(request.PathParam("id"));
  if (!event) return respond(http::ErrorResponse(EventNotFound(request.PathParam("id"))));
  context.check_in->CreateScannerKey(
      event->definition().id, [respond](Result<IssuedScannerKey> issued) {
        if (!issued) return respond(http::ErrorResponse(issued.error()));
        respond(JsonResponse(
            201, json::object{
                     {"id", issued->id}, {"key", issued->key}, {"event_id", issued->event_id}}));
      });
}

void CheckIn(ApiContext& context, const http::Request& request, http::Respond respond) {
  std::shared_ptr<Event> event = context.catalog.Find(request.PathParam("id"));
  if (!event) return respond(http::ErrorResponse(EventNotFound(request.PathParam("id"))));
  Result<json::value> body = ParseJsonBody(request);
  if (!body) return respond(http::ErrorResponse(body.error()));
  const json::object* object = body->if_object();
  const json::value* code = object ? object->if_contains("code") : nullptr;
  if (code == nullptr || !code->is_string()) {
    return respond(
        http::ErrorResponse(FieldError("code", "The body must be {\"code\": \"...\"}.")));
  }
  const bool as_operator = RequireOperator(request, context.admin_key).ok();
  const std::string bearer(BearerToken(request).value_or(""));
  const std::string event_id = event->definition().id;
  // A scanner key is looked up in the ledger: on an order worker, never on an I/O thread.
  auto run = [&context, event_id, code = std::string(code->get_string()), as_operator, bearer,
              respond] {
    std::string scanner_id(kOperatorScannerId);
    if (!as_operator) {
      Result<std::string> scanner = context.check_in->AuthenticateScanner(bearer, event_id);
      if (!scanner) return respond(http::ErrorResponse(scanner.error()));
      scanner_id = std::move(scanner).value();
    }
    context.check_in->CheckIn(event_id, code, scanner_id, [respond](Result<CheckedIn> checked) {
      if (!checked) return respond(http::ErrorResponse(checked.error()));
      respond(JsonResponse(
          200, json::object{{"status", "checked_in"},
                            {"event_id", checked->ticket.event_id},
                            {"ticket_id", checked->ticket.ticket_id},
                            {"seat_id", checked->ticket.seat_id},
                            {"order_id", checked->ticket.order_id},
                            {"checked_in_at", FormatRfc3339Millis(checked->checked_in_at)}}));
    });
  };
  if (context.orders == nullptr || !context.orders->Run(run)) {
    Error busy =
        Error::Make(ErrorKind::kUnavailable, "overloaded", "Too many requests; try again shortly.");
    busy.retry_after_s = 1;
    respond(http::ErrorResponse(busy));
  }
}

}  // namespace

void RegisterCheckInRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kPost, "/v1/events/{id}/checkin",
             [&context](const http::Request& request, http::Respond respond) {
               CheckIn(context, request, std::move(respond));
             });
  router.Add(Method::kPost, "/v1/events/{id}/scanner-keys",
             [&context](const http::Request& request, http::Respond respond) {
               CreateScannerKey(context, request, std::move(respond));
             });
}

}  // namespace boxoffice::api
