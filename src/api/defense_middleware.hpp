// The bot defence as router middleware: every route is classified once, at registration, and
// each request passes Defense::Screen (lists, rate limits, and for queue joins and holds the
// event's `defense.challenge` policy: risk score and proof of work) before its handler runs.
// Every decision is counted in /metrics (boxoffice_defense_decisions_total), per event for
// event routes (GET /v1/events/{id}/stats), and logged with its reason.
#pragma once

#include <string_view>

#include "accounts/accounts.hpp"
#include "catalog/catalog.hpp"
#include "common/metrics.hpp"
#include "defense/defense.hpp"
#include "http/router.hpp"

namespace boxoffice::api {

RouteClass ClassifyRoute(http::Method method, std::string_view pattern);
// Whether the event's `defense.challenge` setting gates the route: queue joins and new holds.
bool IsChallengeGated(http::Method method, std::string_view pattern);

// The request headers the risk score reads (views into `request`). An unscored request (no
// challenge policy) only feeds the per-client state, which reads X-Device-Id alone: with
// `scored` false only that header is looked up, on the path every request takes.
RequestSignals SignalsOf(const http::Request& request, bool scored = true);

// All four must outlive the router.
http::Router::Decorator DefenseMiddleware(Defense& defense, const Accounts& accounts,
                                          const Catalog& catalog, MetricsRegistry& metrics);

}  // namespace boxoffice::api
