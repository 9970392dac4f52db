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

void CreateScannerKey(ApiContext& context, const http::Request& request, Reply reply) {
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kOperator);
  if (!caller) return reply(caller.error());
  std::shared_ptr<Event> event = context.catalog.Find(request.PathParam("id"));
  if (!event) return reply(EventNotFound(request.PathParam("id")));
  context.check_in->CreateScannerKey(
      event->definition().id,
      [&context, caller = std::move(caller).value(), reply](Result<IssuedScannerKey> issued) {
        if (!issued) return reply(issued.error());
        // The key's id and event, never the key: the entry is read by viewers too.
        AuditEntry audit{audit_action::kScannerKeyCreate, issued->id, std::nullopt,
                         json::object{{"event_id", issued->event_id}}};
        json::object body{{"id", issued->id}, {"key", issued->key}, {"event_id", issued->event_id}};
        RecordControl(context, caller, std::move(audit),
                      [reply, body = std::move(body)] { reply(JsonResponse(201, body)); });
      });
}

void CheckIn(ApiContext& context, const http::Request& request, Reply reply) {
  std::shared_ptr<Event> event = context.catalog.Find(request.PathParam("id"));
  if (!event) return reply(EventNotFound(request.PathParam("id")));
  Result<json::value> body = ParseJsonBody(request);
  if (!body) return reply(body.error());
  const json::object* object = body->if_object();
  const json::value* code = object ? object->if_contains("code") : nullptr;
  if (code == nullptr || !code->is_string()) {
    return reply(FieldError("code", "The body must be {\"code\": \"...\"}."));
  }
  // Checking in changes a ticket, so a viewer key is refused (403) rather than tried as a
  // scanner key; any other credential that is not the operator's may be a scanner key.
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kOperator);
  if (!caller && caller.error().kind == ErrorKind::kForbidden) return reply(caller.error());
  const bool as_operator = caller.ok();
  const std::string bearer(BearerToken(request).value_or(""));
  const std::string event_id = event->definition().id;
  // A scanner key is looked up in the ledger: on an order worker, never on an I/O thread.
  RunOnOrderWorker(
      context, reply,
      [&context, event_id, code = std::string(code->get_string()), as_operator, bearer, reply] {
        std::string scanner_id(kOperatorScannerId);
        if (!as_operator) {
          Result<std::string> scanner = context.check_in->AuthenticateScanner(bearer, event_id);
          if (!scanner) return reply(scanner.error());
          scanner_id = std::move(scanner).value();
        }
        context.check_in->CheckIn(event_id, code, scanner_id, [reply](Result<CheckedIn> checked) {
          if (!checked) return reply(checked.error());
          reply(JsonResponse(
              200, json::object{{"status", "checked_in"},
                                {"event_id", checked->ticket.event_id},
                                {"ticket_id", checked->ticket.ticket_id},
                                {"seat_id", checked->ticket.seat_id},
                                {"order_id", checked->ticket.order_id},
                                {"checked_in_at", FormatRfc3339Millis(checked->checked_in_at)}}));
        });
      });
}

}  // namespace

void RegisterCheckInRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kPost, "/v1/events/{id}/checkin",
             Answering([&context](const http::Request& request, Reply reply) {
               CheckIn(context, request, std::move(reply));
             }));
  router.Add(Method::kPost, "/v1/events/{id}/scanner-keys",
             Answering([&context](const http::Request& request, Reply reply) {
               CreateScannerKey(context, request, std::move(reply));
             }));
}

}  // namespace boxoffice::api
