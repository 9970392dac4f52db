#include "api/defense_middleware.hpp"

#include "api/support.hpp"
#include "common/log.hpp"

namespace boxoffice::api {

using http::Method;

RouteClass ClassifyRoute(Method method, std::string_view pattern) {
  if (pattern == "/healthz" || pattern == "/readyz" || pattern == "/metrics") {
    return RouteClass::kExempt;
  }
  const bool write = method != Method::kGet && method != Method::kHead;
  if (pattern.starts_with("/v1/defense") || pattern.ends_with("/stats") ||
      pattern.ends_with("/refund") || pattern.ends_with("/checkin") ||
      (write && pattern == "/v1/events") ||
      (method == Method::kPatch && pattern.ends_with("/queue"))) {
    return RouteClass::kOperator;
  }
  if (method == Method::kPost && (pattern == "/v1/sessions" || pattern == "/v1/customers")) {
    return RouteClass::kSessionCreate;
  }
  if (method == Method::kPost && pattern == "/v1/events/{id}/queue") return RouteClass::kQueueJoin;
  if (pattern.ends_with("/queue/status") || pattern.ends_with("/queue/stream")) {
    return RouteClass::kQueuePoll;
  }
  if (pattern.find("/holds") != std::string_view::npos) return RouteClass::kHold;
  if (write && pattern.starts_with("/v1/orders")) return RouteClass::kOrder;
  return RouteClass::kRead;
}

http::Router::Decorator DefenseMiddleware(Defense& defense, const Accounts& accounts,
                                          MetricsRegistry& metrics) {
  return [&defense, &accounts, &metrics](Method method, std::string_view pattern,
                                         http::Handler inner) -> http::Handler {
    const RouteClass route_class = ClassifyRoute(method, pattern);
    if (route_class == RouteClass::kExempt) return inner;
    auto decisions = [&](std::string_view decision) -> Counter& {
      return metrics.GetCounter("boxoffice_defense_decisions_total",
                                "Requests by the bot defence's decision and route class.",
                                {{"route_class", std::string(RouteClassName(route_class))},
                                 {"decision", std::string(decision)}});
    };
    Counter& allowed = decisions("allowed");
    Counter& limited = decisions("rate_limited");
    Counter& blocked = decisions("blocked");
    return [&defense, &accounts, route_class, inner = std::move(inner), &allowed, &limited,
            &blocked](const http::Request& request, http::Respond respond) {
      RequestFacts facts{route_class, request.client_address, {}, {}};
      // Verifying the token costs one MAC; a forged token simply counts as no session here and
      // the handler refuses it.
      std::optional<Result<Session>> session;
      if (std::optional<std::string_view> token = BearerToken(request)) {
        session.emplace(accounts.Authenticate(*token));
        if (session->ok()) {
          facts.session_id = (*session)->session_id;
          facts.customer_id = (*session)->customer_id;
        }
      }
      Status verdict = defense.Check(facts);
      if (!verdict.ok()) {
        const bool is_block = verdict.error().code == "blocked";
        (is_block ? blocked : limited).Inc();
        // Blocks are rare and worth seeing; rate limiting can fire thousands of times a second
        // under attack, so it logs at debug and shows in /metrics.
        Log(is_block ? spdlog::level::warn : spdlog::level::debug, "defense_decision",
            {{"decision", verdict.error().code},
             {"route_class", RouteClassName(route_class)},
             {"client", request.client_address},
             {"request_id", request.request_id}});
        respond(http::ErrorResponse(verdict.error()));
        return;
      }
      allowed.Inc();
      inner(request, std::move(respond));
    };
  };
}

}  // namespace boxoffice::api
