// Orders: POST /v1/orders, GET /v1/orders/{id}, and the orders block of the event stats.
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <functional>
#include <optional>

#include "api/routes.hpp"
#include "api/support.hpp"
#include "common/crypto.hpp"
#include "common/json_text.hpp"
#include "common/mail_address.hpp"
#include "common/text.hpp"
#include "common/time.hpp"
#include "tickets/qr_svg.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;

// GET /v1/orders?email=: how many orders one search answers by default and at most. An address
// holds few orders (per_customer bounds a customer's per event), so there is no cursor: the
// newest are the ones asked for.
constexpr std::int64_t kOrderSearchDefault = 20;
constexpr std::int64_t kOrderSearchMax = 100;
using http::Method;

Status ReadIdempotencyKey(const http::Request& request, std::string& key);

json::object OrderJson(const OrderRecord& order) {
  json::array tickets;
  tickets.reserve(order.tickets.size());
  for (const TicketRecord& ticket : order.tickets) {
    json::object item{{"id", ticket.id},
                      {"seat_id", ticket.seat_id},
                      {"price_cents", ticket.price_cents},
                      {"status", ticket.revoked_at_ms > 0 ? "revoked" : "valid"}};
    // A code exists once the order is completed (captured and ticketed).
    if (!ticket.code.empty()) item["code"] = ticket.code;
    tickets.push_back(std::move(item));
  }
  return json::object{
      {"order_id", order.id},
      {"event_id", order.event_id},
      {"hold_id", order.hold_id},
      {"status", order.status},
      {"email", order.email},
      {"total_cents", order.total_cents},
      {"currency", order.currency},
      {"payment", json::object{{"status", order.payment_status}, {"gateway", order.gateway}}},
      {"tickets", std::move(tickets)},
      {"created_at", FormatRfc3339(FromUnixMillis(order.created_at_ms))},
      {"updated_at", FormatRfc3339(FromUnixMillis(order.updated_at_ms))}};
}

http::Response ToHttp(RenderedAnswer answer) {
  http::Response response = JsonResponse(answer.status, std::move(answer.body));
  if (answer.retry_after_s > 0) {
    response.SetHeader("Retry-After", std::to_string(answer.retry_after_s));
  }
  if (answer.replayed) response.SetHeader("Idempotent-Replayed", "true");
  return response;
}

// A string field of at most `max_chars`, non-empty.
Result<std::string> RequiredString(const json::object& object, std::string_view field,
                                   std::size_t max_chars, std::string_view path) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || !value->is_string() || value->get_string().empty() ||
      value->get_string().size() > max_chars) {
    return FieldError(std::string(path), "'" + std::string(path) + "' must be a string of 1 to " +
                                             std::to_string(max_chars) + " characters.");
  }
  return std::string(value->get_string());
}

void PlaceOrder(ApiContext& context, const http::Request& request, Reply reply) {
  Result<Session> session = RequireSession(request, context.accounts);
  if (!session) return reply(session.error());
  Result<json::object> object = ParseJsonObjectBody(request);
  if (!object) return reply(object.error());
  PlaceOrderRequest order;
  order.session_id = session->session_id;
  order.customer_id = session->customer_id;
  Result<std::string> hold_id = RequiredString(*object, "hold_id", 128, "hold_id");
  if (!hold_id) return reply(hold_id.error());
  order.hold_id = std::move(hold_id).value();
  // The mailer's own rule: an address it would refuse must not be taken, or the fan pays for
  // tickets that can never be mailed (a CR/LF, a display name or a list never gets this far).
  Result<std::string> email = RequiredString(*object, "email", kEmailMaxChars, "email");
  if (!email || !IsPlainMailAddress(*email)) {
    return reply(FieldError("email",
                            "'email' must be one plain address such as fan@example.com: ASCII, "
                            "no display name, spaces or line breaks, at most 254 characters."));
  }
  order.email = std::move(email).value();
  const json::value* payment = object->if_contains("payment");
  if (payment == nullptr || !payment->is_object()) {
    return reply(FieldError("payment", "'payment' must be {\"token\": \"tok_...\"}."));
  }
  Result<std::string> token =
      RequiredString(payment->get_object(), "token", kPaymentTokenMaxChars, "payment.token");
  if (!token) return reply(token.error());
  order.payment_token = std::move(token).value();
  order.access_token = std::string(request.Header("x-access-token").value_or(""));
  if (Status key = ReadIdempotencyKey(request, order.idempotency_key); !key) {
    return reply(key.error());
  }
  // The method and path are part of the hash, so a key reused on another route is "reused".
  order.request_hash = Sha256Hex("POST /v1/orders\n" + request.body);
  context.orders->Place(std::move(order),
                        [reply](RenderedAnswer answer) { reply(ToHttp(std::move(answer))); });
}

// Who reads an order or a ticket: the operator (or a viewer key), or a fan's session (and its
// customer).
struct Reader {
  bool as_operator = false;
  // Ticket codes admit their bearer at the door, so only the operator key and the buyer see them:
  // a viewer key reads an order without its codes.
  bool sees_codes = true;
  std::string session_id;
  std::string customer_id;
};

// An operator key of at least `operator_scope`, else a session. Answers and returns nothing for
// neither (401), or for an operator key of too narrow a scope (403: it is plainly an operator's
// call, and trying it as a session would only say 401).
std::optional<Reader> IdentifyReader(ApiContext& context, const http::Request& request,
                                     OperatorScope operator_scope, const Reply& reply) {
  Reader reader;
  Result<OperatorIdentity> caller = RequireOperator(context, request, operator_scope);
  if (!caller && caller.error().kind == ErrorKind::kForbidden) {
    reply(caller.error());
    return std::nullopt;
  }
  if (caller) {
    reader.as_operator = true;
    reader.sees_codes = caller->scope == OperatorScope::kOperator;
    return reader;
  }
  Result<Session> session = RequireSession(request, context.accounts);
  if (!session) {
    reply(session.error());
    return std::nullopt;
  }
  reader.session_id = session->session_id;
  reader.customer_id = session->customer_id;
  return reader;
}

void GetOrder(ApiContext& context, const http::Request& request, Reply reply) {
  std::optional<Reader> reader = IdentifyReader(context, request, OperatorScope::kViewer, reply);
  if (!reader) return;
  RunOnOrderWorker(context, reply,
                   [&context, order_id = std::string(request.PathParam("id")),
                    reader = std::move(*reader), reply] {
                     Result<OrderRecord> order = context.orders->Get(
                         order_id, reader.session_id, reader.customer_id, reader.as_operator);
                     if (!order) return reply(order.error());
                     if (!reader.sees_codes) {
                       for (TicketRecord& ticket : order->tickets) ticket.code.clear();
                     }
                     reply(JsonResponse(200, OrderJson(*order)));
                   });
}

// GET /v1/orders?email=ADDRESS&limit=N: an operator (or viewer) finds a fan's orders by the
// address they gave, newest first; a viewer sees them without ticket codes. Not for sessions:
// a fan reads their own orders by id, never someone else's by guessing an address.
void FindOrders(ApiContext& context, const http::Request& request, Reply reply) {
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kViewer);
  if (!caller) return reply(caller.error());
  const std::string email(TrimBlanks(request.Query("email").value_or("")));
  // The rule an order's email was taken under: no other address can have placed one.
  if (!IsPlainMailAddress(email)) {
    return reply(InvalidParameter("email", "Query parameter 'email' must be an e-mail address."));
  }
  Result<std::int64_t> limit =
      QueryInteger(request, "limit", kOrderSearchDefault, 1, kOrderSearchMax);
  if (!limit) return reply(limit.error());
  RunOnOrderWorker(context, reply,
                   [&context, email, limit = static_cast<std::size_t>(*limit),
                    sees_codes = caller->scope == OperatorScope::kOperator, reply] {
                     Result<std::vector<OrderRecord>> orders =
                         context.orders->FindByEmail(email, limit);
                     if (!orders) return reply(orders.error());
                     json::array items;
                     for (OrderRecord& order : *orders) {
                       if (!sees_codes) {
                         for (TicketRecord& ticket : order.tickets) ticket.code.clear();
                       }
                       items.push_back(OrderJson(order));
                     }
                     reply(JsonResponse(200, json::object{{"items", std::move(items)}}));
                   });
}

// GET /v1/tickets/{id}/qr.svg: the ticket's signed code as a QR code, for its owner or the
// operator (not a viewer key: the code is the ticket). The code is a bearer credential, so the
// image is never cached by the way.
void GetTicketQr(ApiContext& context, const http::Request& request, Reply reply) {
  std::optional<Reader> reader = IdentifyReader(context, request, OperatorScope::kOperator, reply);
  if (!reader) return;
  RunOnOrderWorker(
      context, reply,
      [&context, ticket_id = std::string(request.PathParam("id")), reader = std::move(*reader),
       reply] {
        Result<TicketRecord> ticket = context.orders->GetTicket(
            ticket_id, reader.session_id, reader.customer_id, reader.as_operator);
        if (!ticket) return reply(ticket.error());
        if (ticket->revoked_at_ms != 0) {
          return reply(Error::Make(ErrorKind::kConflict, "ticket_revoked",
                                   "This ticket was revoked (its order was refunded)."));
        }
        if (ticket->code.empty()) {
          Error pending = Error::Make(ErrorKind::kConflict, "ticket_not_issued",
                                      "The ticket's code is signed once the payment is captured, "
                                      "usually within a second; try again shortly.");
          pending.retry_after_s = 1;
          return reply(pending);
        }
        Result<std::string> svg = RenderQrSvg(ticket->code);
        if (!svg) return reply(svg.error());
        http::Response response;
        response.status = 200;
        response.content_type = "image/svg+xml";
        response.body = std::move(svg).value();
        response.SetHeader("Cache-Control", "private, no-store");
        reply(std::move(response));
      });
}

// Reads an optional Idempotency-Key header into `key`; 400 when it is not a usable key, and 400
// raw_card_number when it holds a card number: the key is stored in the ledger (the idempotency
// record and the payment attempt), so it is checked as a body is.
Status ReadIdempotencyKey(const http::Request& request, std::string& key) {
  const std::optional<std::string_view> header = request.Header("idempotency-key");
  if (!header) return {};
  if (Status card = RefuseCardNumberInHeader(request, "Idempotency-Key"); !card) return card;
  const bool printable = std::all_of(header->begin(), header->end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (header->empty() || header->size() > kIdempotencyKeyMaxChars || !printable) {
    return Error::Make(ErrorKind::kMalformed, "invalid_idempotency_key",
                       "Idempotency-Key must be 1 to " + std::to_string(kIdempotencyKeyMaxChars) +
                           " printable characters without spaces.");
  }
  key = std::string(*header);
  return {};
}

// The audit's state after a refund, from the refunded order's answer: what became of the order
// and its payment. Empty when the body is not an order (it always is; the entry then has none).
std::optional<json::object> RefundedStateJson(std::string_view body) {
  std::error_code error;
  const json::value order = json::parse(body, error);
  const json::object* object = order.if_object();
  if (error || object == nullptr) return std::nullopt;
  json::object state;
  for (std::string_view field : {"status", "payment", "total_cents", "currency"}) {
    if (const json::value* value = object->if_contains(field)) state[field] = *value;
  }
  return state;
}

void RefundOrder(ApiContext& context, const http::Request& request, Reply reply) {
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kOperator);
  if (!caller) return reply(caller.error());
  Result<json::value> body = ParseJsonBody(request);  // unused, but refused if it holds a card
  if (!body) return reply(body.error());
  RefundRequest refund;
  refund.order_id = std::string(request.PathParam("id"));
  if (Status key = ReadIdempotencyKey(request, refund.idempotency_key); !key) {
    return reply(key.error());
  }
  refund.request_hash =
      Sha256Hex("POST /v1/orders/" + refund.order_id + "/refund\n" + request.body);
  std::string order_id = refund.order_id;
  context.orders->Refund(std::move(refund), [&context, caller = std::move(caller).value(),
                                             order_id = std::move(order_id),
                                             reply](RenderedAnswer answer) mutable {
    // A replay repeats the first refund's answer and refunds nothing: only the first is audited.
    if (answer.status != 200 || answer.replayed) return reply(ToHttp(std::move(answer)));
    AuditEntry audit{audit_action::kOrderRefund, std::move(order_id), std::nullopt,
                     RefundedStateJson(answer.body)};
    RecordControl(context, caller, std::move(audit), [reply, answer = std::move(answer)]() mutable {
      reply(ToHttp(std::move(answer)));
    });
  });
}

}  // namespace

void RunOnOrderWorker(ApiContext& context, const Reply& reply, std::function<void()> task) {
  if (context.orders != nullptr && context.orders->Run(std::move(task))) return;
  Error busy =
      Error::Make(ErrorKind::kUnavailable, "overloaded", "Too many requests; try again shortly.");
  busy.retry_after_s = 1;
  reply(busy);
}

OrderRendering MakeOrderRendering() {
  const auto order_answer = [](int status) {
    return [status](const OrderRecord& order) {
      return RenderedAnswer{status, SerializeJson(OrderJson(order)), 0, false};
    };
  };
  return OrderRendering{
      order_answer(201), order_answer(200), [](const Error& error) {
        http::Response response = ErrorAnswer(error);
        int retry_after_s = 0;
        for (const auto& [name, value] : response.headers) {
          if (name == "Retry-After") retry_after_s = std::atoi(value.c_str());
        }
        return RenderedAnswer{response.status, std::move(response.body), retry_after_s, false};
      }};
}

Result<json::object> OrderStatsJson(ApiContext& context, std::string_view event_id) {
  Result<OrderCounts> counts = context.orders->CountOrders(std::string(event_id));
  if (!counts) return counts.error();
  // `placed` counts every order the event ever confirmed, whatever became of it since: a running
  // total, where `confirmed` (not captured yet) and `completed` move as orders move on.
  return json::object{{"placed", counts->confirmed + counts->completed + counts->refunded},
                      {"confirmed", counts->confirmed},
                      {"completed", counts->completed},
                      {"refunded", counts->refunded},
                      {"tickets_sold", counts->tickets_sold},
                      {"revenue_cents", counts->revenue_cents},
                      {"outbox_pending", counts->outbox_pending},
                      {"outbox_dead", counts->outbox_dead}};
}

void RegisterOrderRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kPost, "/v1/orders",
             Answering([&context](const http::Request& request, Reply reply) {
               PlaceOrder(context, request, std::move(reply));
             }));
  router.Add(Method::kPost, "/v1/orders/{id}/refund",
             Answering([&context](const http::Request& request, Reply reply) {
               RefundOrder(context, request, std::move(reply));
             }));
  router.Add(Method::kGet, "/v1/orders",
             Answering([&context](const http::Request& request, Reply reply) {
               FindOrders(context, request, std::move(reply));
             }));
  router.Add(Method::kGet, "/v1/orders/{id}",
             Answering([&context](const http::Request& request, Reply reply) {
               GetOrder(context, request, std::move(reply));
             }));
  router.Add(Method::kGet, "/v1/tickets/{id}/qr.svg",
             Answering([&context](const http::Request& request, Reply reply) {
               GetTicketQr(context, request, std::move(reply));
             }));
}

}  // namespace boxoffice::api
