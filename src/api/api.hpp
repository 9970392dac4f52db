// The HTTP API of API.md: registers every route's handler on the router. Handlers translate
// JSON to domain calls and domain results back to JSON; errors go through http::ErrorResponse.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "accounts/accounts.hpp"
#include "catalog/catalog.hpp"
#include "common/metrics.hpp"
#include "defense/defense.hpp"
#include "http/router.hpp"
#include "http/static_site.hpp"
#include "inventory/hold_service.hpp"
#include "operators/audit_trail.hpp"
#include "operators/operator_keys.hpp"
#include "orders/order_service.hpp"
#include "payments/payment_router.hpp"
#include "ports/admission.hpp"
#include "tickets/check_in.hpp"
#include "tickets/ticket_code.hpp"
#include "waitingroom/waiting_room.hpp"

namespace boxoffice::api {

class StatsSeries;

struct ApiContext {
  Catalog& catalog;
  Accounts& accounts;
  Defense& defense;
  MetricsRegistry& metrics;
  // The operator keys, each with every right on every operator route: more than one while a
  // rotation is under way (docs/security.md).
  std::vector<std::string> admin_keys;
  std::function<bool()> ready;  // /readyz: the server accepts and its stores answer
  std::string openapi_yaml;     // served at GET /v1/openapi.yaml
  // Seats and holds: every event's SeatInventory, behind the hold routes and every seat read.
  HoldService* holds = nullptr;
  // The waiting room's check for events whose queue is enabled; null until one is wired, and
  // then holds are allowed without an access token.
  AdmissionCheck* admission = nullptr;
  WaitingRoom* waiting_room = nullptr;  // the queue routes answer 503 without one
  OrderService* orders = nullptr;       // null: the order routes are not served
  // Signs ticket codes; GET /v1/events/{id} shows the event's public key when set.
  const TicketSigner* tickets = nullptr;
  CheckInService* check_in = nullptr;  // null: check-in and scanner keys are not served
  // The fan page's files (web/dist, read at start); null: no pages, only the API.
  const http::StaticSite* site = nullptr;
  // Card tokens a fan may pay with here (the demo's gateway simulator's), shown by the page.
  std::vector<std::string> test_cards = {};
  // The per-event history of stats samples (stats_series.hpp) behind the stats series and
  // stream routes; null: those routes are not served.
  const StatsSeries* stats_series = nullptr;
  // The keys the operator mints (viewer keys) and checks beside the operator key; null: only the
  // operator key is accepted, and /v1/operator-keys is not served.
  OperatorKeys* operator_keys = nullptr;
  // Where the operator's controls are recorded; null: they are not, and /v1/audit is not served.
  AuditTrail* audit = nullptr;
  // The card gateways' router, for GET /v1/payments/gateways; null: no gateway is configured
  // (the route lists none).
  const PaymentRouter* payment_router = nullptr;
};

// How the order service renders its answers: the order JSON of API.md and the API's errors.
OrderRendering MakeOrderRendering();

// `context` must outlive the router.
void RegisterRoutes(http::Router& router, ApiContext& context);

// /metrics families of the seat inventory and holds: counters and per-event gauges.
void RegisterHoldMetrics(MetricsRegistry& metrics, Catalog& catalog, HoldService& holds);
// /metrics families of the waiting room, one series per event (label event_id).
void RegisterQueueMetrics(MetricsRegistry& metrics, const WaitingRoom& room);

}  // namespace boxoffice::api
