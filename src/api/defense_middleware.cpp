#include "api/defense_middleware.hpp"

#include "api/support.hpp"
#include "common/log.hpp"

#include <spdlog/spdlog.h>

namespace boxoffice::api {

using http::Method;

RouteClass ClassifyRoute(Method method, std::string_view pattern) {
  if (pattern == "/healthz" || pattern == "/readyz" || pattern == "/metrics") {
    return RouteClass::kExempt;
  }
  const bool write = method != Method::kGet && method != Method::kHead;
  if (pattern.starts_with("/v1/defense") || pattern.starts_with("/v1/events/{id}/stats") ||
      pattern.ends_with("/refund") || pattern.ends_with("/checkin") ||
      pattern.starts_with("/v1/operator-keys") || pattern == "/v1/audit" ||
      pattern.starts_with("/v1/payments") || (write && pattern == "/v1/events") ||
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

bool IsChallengeGated(Method method, std::string_view pattern) {
  return method == Method::kPost &&
         (pattern == "/v1/events/{id}/queue" || pattern == "/v1/events/{id}/holds");
}

RequestSignals SignalsOf(const http::Request& request, bool scored) {
  RequestSignals signals;
  signals.device_id = request.Header("x-device-id").value_or("");
  if (!scored) return signals;
  signals.user_agent = request.Header("user-agent");
  signals.accept_language = request.Header("accept-language");
  signals.sec_ch_ua = request.Header("sec-ch-ua");
  signals.sec_ch_ua_mobile = request.Header("sec-ch-ua-mobile");
  signals.sec_ch_ua_platform = request.Header("sec-ch-ua-platform");
  return signals;
}

namespace {

ChallengePolicy PolicyOf(ChallengeMode mode) {
  switch (mode) {
    case ChallengeMode::kRisk:
      return ChallengePolicy::kRisk;
    case ChallengeMode::kAlways:
      return ChallengePolicy::kAlways;
    case ChallengeMode::kOff:
      return ChallengePolicy::kOff;
  }
  return ChallengePolicy::kRisk;
}

// Refusals that can come by the thousand under attack log at debug (and show in /metrics);
// blocks are rare and worth a warning; challenges are worth seeing at info.
spdlog::level::level_enum LevelOf(Decision decision) {
  switch (decision) {
    case Decision::kAllowed:
    case Decision::kRateLimited:
      return spdlog::level::debug;
    case Decision::kBlocked:
    case Decision::kRiskBlocked:
      return spdlog::level::warn;
    case Decision::kChallenged:
    case Decision::kChallengePassed:
    case Decision::kChallengeFailed:
      return spdlog::level::info;
  }
  return spdlog::level::info;
}

}  // namespace

http::Router::Decorator DefenseMiddleware(Defense& defense, const Accounts& accounts,
                                          const Catalog& catalog, MetricsRegistry& metrics) {
  return [&defense, &accounts, &catalog, &metrics](Method method, std::string_view pattern,
                                                   http::Handler inner) -> http::Handler {
    const RouteClass route_class = ClassifyRoute(method, pattern);
    if (route_class == RouteClass::kExempt) return inner;
    std::array<Counter*, kDecisionCount> decisions{};
    for (std::size_t i = 0; i < kDecisionCount; ++i) {
      decisions[i] =
          &metrics.GetCounter("boxoffice_defense_decisions_total",
                              "Requests by the bot defence's decision and route class.",
                              {{"route_class", std::string(RouteClassName(route_class))},
                               {"decision", std::string(DecisionName(static_cast<Decision>(i)))}});
    }
    const bool gated = IsChallengeGated(method, pattern);
    // A fan's routes of one event; the operator's own calls (stats, queue controls) are not
    // the event's traffic and would only inflate its counts.
    const bool event_route =
        route_class != RouteClass::kOperator && pattern.starts_with("/v1/events/{id}");
    return
        [&defense, &accounts, &catalog, route_class, gated, event_route, inner = std::move(inner),
         decisions](const http::Request& request, http::Respond respond) {
          RequestFacts facts{route_class, request.client_address, {}, {}, request.request_id};
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
          // Only an event that exists has a policy and a row in the stats; an unknown id is the
          // handler's 404.
          std::shared_ptr<Event> event;
          if (event_route) event = catalog.Find(request.PathParam("id"));
          if (event) facts.event_id = event->definition().id;
          const ChallengePolicy policy =
              gated && event ? PolicyOf(event->definition().challenge) : ChallengePolicy::kNone;
          const bool scored = policy != ChallengePolicy::kNone;
          Verdict verdict = defense.Screen(facts, SignalsOf(request, scored), policy,
                                           scored ? request.Header("x-altcha") : std::nullopt);
          decisions[static_cast<std::size_t>(verdict.decision)]->Inc();
          if (event) defense.CountEventDecision(event->definition().id, verdict.decision);
          if (const spdlog::level::level_enum level = LevelOf(verdict.decision);
              (verdict.decision != Decision::kAllowed || !verdict.reason.empty()) &&
              spdlog::should_log(level)) {
            boost::json::object fields{{"decision", DecisionName(verdict.decision)},
                                       {"reason", verdict.reason},
                                       {"route_class", RouteClassName(route_class)},
                                       {"client", request.client_address},
                                       {"request_id", request.request_id}};
            if (event) fields["event_id"] = event->definition().id;
            Log(level, "defense_decision", std::move(fields));
          }
          if (!verdict.status.ok()) {
            respond(ErrorAnswer(verdict.status.error()));
            return;
          }
          inner(request, std::move(respond));
        };
  };
}

}  // namespace boxoffice::api
