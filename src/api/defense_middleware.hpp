// The bot defence as router middleware: every route is classified once, at registration, and
// each request passes Defense::Check (blocklist, then rate limits) before its handler runs.
#pragma once

#include <string_view>

#include "accounts/accounts.hpp"
#include "common/metrics.hpp"
#include "defense/defense.hpp"
#include "http/router.hpp"

namespace boxoffice::api {

RouteClass ClassifyRoute(http::Method method, std::string_view pattern);

// The three must outlive the router.
http::Router::Decorator DefenseMiddleware(Defense& defense, const Accounts& accounts,
                                          MetricsRegistry& metrics);

}  // namespace boxoffice::api
