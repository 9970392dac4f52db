// The operator's lists: POST, GET and DELETE /v1/defense/blocklist and /v1/defense/allowlist.
// Both take and show the same entries; the allowlist also shows the static ranges of
// --defense-allowlist (`"source": "static"`), which only the configuration can remove.
// GET /v1/defense/decisions reads the log of recent scored decisions (features, score, decision
// per queue join and hold), filtered by decision, route class and client range, for an operator
// asking why a fan was challenged and for `boxoffice botsim --train`. The fan's side: GET
// /v1/challenge (a proof-of-work challenge) and POST /v1/telemetry (the page's behaviour counts for
// the risk score).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/defense_middleware.hpp"
#include "api/routes.hpp"
#include "api/support.hpp"
#include "common/cidr.hpp"
#include "common/time.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;

json::object EntryJson(const CidrEntry& entry) {
  json::object out{{"cidr", entry.cidr},
                   {"reason", entry.reason},
                   {"created_at", FormatRfc3339(entry.created_at)}};
  out["expires_at"] = entry.expires_at ? json::value(FormatRfc3339(*entry.expires_at)) : nullptr;
  return out;
}

enum class ListKind { kBlock, kAllow };

// The runtime entry `cidr` has in the list now, in canonical form, for the audit's state before a
// change; nullopt when the range is not listed (or not a range: the change then fails anyway).
std::optional<json::object> ListedEntryJson(const ApiContext& context, ListKind kind,
                                            std::string_view cidr) {
  Result<Cidr> range = Cidr::Parse(cidr);
  if (!range) return std::nullopt;
  const std::string canonical = range->ToString();
  const std::vector<CidrEntry> entries =
      kind == ListKind::kBlock ? context.defense.Blocks() : context.defense.Allows();
  for (const CidrEntry& entry : entries) {
    if (entry.cidr == canonical) return EntryJson(entry);
  }
  return std::nullopt;
}

void AddEntry(ApiContext& context, ListKind kind, const http::Request& request, Reply reply) {
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kOperator);
  if (!caller) return reply(caller.error());
  Result<json::value> body = ParseJsonBody(request);
  if (!body) return reply(body.error());
  const json::object* object = body->if_object();
  const json::value* cidr = object ? object->if_contains("cidr") : nullptr;
  if (cidr == nullptr || !cidr->is_string()) {
    return reply(FieldError("cidr", "Field 'cidr' is required."));
  }
  std::string reason;
  if (const json::value* value = object->if_contains("reason"); value && !value->is_null()) {
    if (!value->is_string()) {
      return reply(FieldError("reason", "Field 'reason' must be a string."));
    }
    reason = std::string(value->get_string());
  }
  std::optional<std::int64_t> ttl_s;
  if (const json::value* value = object->if_contains("ttl_s"); value && !value->is_null()) {
    if (!value->is_int64()) {
      return reply(FieldError("ttl_s", "Field 'ttl_s' must be an integer."));
    }
    ttl_s = value->get_int64();
  }
  // Adding a listed range replaces its entry: the audit shows the one replaced. Read when the
  // request arrived; a change of the same range by someone else at the same moment may fall in
  // between.
  std::optional<json::object> before = ListedEntryJson(context, kind, cidr->get_string());
  auto done = [&context, kind, caller = std::move(caller).value(), before = std::move(before),
               reply](Result<CidrEntry> entry) mutable {
    if (!entry) return reply(entry.error());
    json::object after = EntryJson(*entry);
    AuditEntry audit{
        kind == ListKind::kBlock ? audit_action::kDefenseBlock : audit_action::kDefenseAllow,
        entry->cidr, std::move(before), after};
    RecordControl(context, caller, std::move(audit),
                  [reply, after] { reply(JsonResponse(201, after)); });
  };
  if (kind == ListKind::kBlock) {
    context.defense.Block(cidr->get_string(), std::move(reason), ttl_s, std::move(done));
  } else {
    context.defense.Allow(cidr->get_string(), std::move(reason), ttl_s, std::move(done));
  }
}

void ListEntries(ApiContext& context, ListKind kind, const http::Request& request, Reply reply) {
  if (Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kViewer);
      !caller) {
    return reply(caller.error());
  }
  json::array items;
  if (kind == ListKind::kBlock) {
    for (const CidrEntry& entry : context.defense.Blocks()) items.push_back(EntryJson(entry));
  } else {
    for (const Cidr& range : context.defense.static_allowlist().ranges()) {
      items.push_back(json::object{{"cidr", range.ToString()},
                                   {"reason", "--defense-allowlist"},
                                   {"created_at", nullptr},
                                   {"expires_at", nullptr},
                                   {"source", "static"}});
    }
    for (const CidrEntry& entry : context.defense.Allows()) {
      json::object item = EntryJson(entry);
      item["source"] = "runtime";
      items.push_back(std::move(item));
    }
  }
  reply(JsonResponse(200, json::object{{"items", std::move(items)}, {"next_cursor", nullptr}}));
}

void RemoveEntry(ApiContext& context, ListKind kind, const http::Request& request, Reply reply) {
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kOperator);
  if (!caller) return reply(caller.error());
  const std::optional<std::string_view> cidr = request.Query("cidr");
  if (!cidr) {
    return reply(InvalidParameter("cidr", "Query parameter 'cidr' names the range to remove."));
  }
  // Read when the request arrived, as for an addition.
  std::optional<json::object> before = ListedEntryJson(context, kind, *cidr);
  Result<Cidr> range = Cidr::Parse(*cidr);
  std::string target = range ? range->ToString() : std::string(*cidr);
  auto done = [&context, kind, caller = std::move(caller).value(), before = std::move(before),
               target = std::move(target), reply](Status status) mutable {
    if (!status.ok()) return reply(status.error());
    AuditEntry audit{
        kind == ListKind::kBlock ? audit_action::kDefenseUnblock : audit_action::kDefenseDisallow,
        std::move(target), std::move(before), std::nullopt};
    RecordControl(context, caller, std::move(audit),
                  [reply] { reply(JsonResponse(204, std::string())); });
  };
  if (kind == ListKind::kBlock) {
    context.defense.Unblock(*cidr, std::move(done));
  } else {
    context.defense.Disallow(*cidr, std::move(done));
  }
}

// A page of the decision log; a page of 1,000 entries is ~600 KB of JSON.
constexpr std::int64_t kDecisionsPageMax = 1'000;
constexpr std::int64_t kDecisionsPageDefault = 100;

json::object DecisionJson(const ScoredDecision& decision) {
  json::object features;
  for (std::size_t i = 0; i < kRiskFeatureCount; ++i) {
    features[RiskFeatureName(i)] = decision.features[i];
  }
  json::object out{{"sequence", decision.sequence},
                   {"request_id", decision.request_id},
                   {"at", FormatRfc3339Millis(decision.at)},
                   {"route_class", RouteClassName(decision.route_class)},
                   {"client", decision.client},
                   {"score", decision.score},
                   {"decision", DecisionName(decision.decision)},
                   {"features", std::move(features)}};
  out["event_id"] =
      decision.event_id.empty() ? json::value(nullptr) : json::value(decision.event_id);
  return out;
}

// `?decision=`, `?route_class=` and `?client=`, each optional. A value the log never holds
// (`rate_limited`, `read`) is refused like a misspelt one: the answer would always be empty.
Result<DecisionFilter> ReadDecisionFilter(const http::Request& request) {
  DecisionFilter filter;
  if (const std::optional<std::string_view> text = request.Query("decision")) {
    std::string names;
    for (Decision decision : kLoggedDecisions) {
      if (DecisionName(decision) == *text) filter.decision = decision;
      names += (names.empty() ? "" : ", ") + std::string(DecisionName(decision));
    }
    if (!filter.decision) {
      return InvalidParameter("decision",
                              "Query parameter 'decision' must be one of " + names + ".");
    }
  }
  if (const std::optional<std::string_view> text = request.Query("route_class")) {
    std::string names;
    for (RouteClass route_class : kScoredRouteClasses) {
      if (RouteClassName(route_class) == *text) filter.route_class = route_class;
      names += (names.empty() ? "" : " or ") + std::string(RouteClassName(route_class));
    }
    if (!filter.route_class) {
      return InvalidParameter("route_class",
                              "Query parameter 'route_class' must be " + names + ".");
    }
  }
  if (const std::optional<std::string_view> text = request.Query("client")) {
    Result<Cidr> range = Cidr::Parse(*text);
    if (!range) {
      return InvalidParameter("client",
                              "Query parameter 'client' must be an address or a CIDR range, "
                              "like 203.0.113.0/24.");
    }
    filter.client = std::move(range).value();
  }
  return filter;
}

void ListDecisions(ApiContext& context, const http::Request& request, Reply reply) {
  if (Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kViewer);
      !caller) {
    return reply(caller.error());
  }
  Result<PageQuery> query = ReadPageQuery(request, kDecisionsPageDefault, kDecisionsPageMax);
  if (!query) return reply(query.error());
  Result<std::int64_t> before =
      QueryInteger(request, "before", 0, 1, std::numeric_limits<std::int64_t>::max());
  if (!before) return reply(before.error());
  const bool backwards = request.Query("before").has_value();
  Result<DecisionFilter> filter = ReadDecisionFilter(request);
  if (!filter) return reply(filter.error());
  const auto after = static_cast<std::uint64_t>(query->after);
  const auto limit = static_cast<std::size_t>(query->limit);
  const DecisionLog& log = context.defense.decision_log();
  // Every read examines at most the whole ring (65,536 entries, ~3 ms with a client filter; see
  // BM_DecisionLogFilteredScan), so one call always answers for everything the ring holds.
  const DecisionLog::Page page =
      backwards ? log.Before(static_cast<std::uint64_t>(*before), after, limit, *filter)
                : log.After(after, limit, *filter);
  json::array items;
  for (const ScoredDecision& decision : page.items) items.push_back(DecisionJson(decision));
  // Where the next page starts, either way: after what this read examined, matching or not.
  const std::uint64_t next_after = page.last_scanned != 0 ? page.last_scanned : after;
  const std::uint64_t next_before = page.first_scanned != 0 ? page.first_scanned
                                    : backwards             ? static_cast<std::uint64_t>(*before)
                                                            : after + 1;
  const RiskModel& model = context.defense.risk_model();
  json::object weights;
  for (std::size_t i = 0; i < kRiskFeatureCount; ++i) {
    weights[RiskFeatureName(i)] = model.weights()[i];
  }
  reply(JsonResponse(200, json::object{{"items", std::move(items)},
                                       {"next_after", next_after},
                                       {"next_before", next_before},
                                       {"oldest", page.oldest},
                                       {"latest", page.latest},
                                       {"capacity", log.capacity()},
                                       {"model_version", model.version()},
                                       {"model_weights", std::move(weights)},
                                       {"model_thresholds",
                                        json::object{{"challenge", model.challenge_threshold()},
                                                     {"block", model.block_threshold()}}}}));
}

// Bounds of the telemetry counts: a page open for a day with a busy visitor stays far below them.
constexpr std::int64_t kTelemetryEventsMax = 10'000'000;
constexpr std::int64_t kFirstInteractionMaxMs = 86'400'000;

// ?format=1 (the default) or 2: ALTCHA's v1 challenge or its current (v2) one.
void GetChallenge(ApiContext& context, const http::Request& request, Reply reply) {
  Result<std::int64_t> format = QueryInteger(request, "format", 1, 1, 2);
  if (!format) return reply(format.error());
  const RequestSignals signals = SignalsOf(request);
  http::Response response =
      JsonResponse(200, *format == 2 ? ChallengeV2Json(context.defense.IssueChallengeV2(signals))
                                     : ChallengeJson(context.defense.IssueChallenge(signals)));
  response.SetHeader("Cache-Control", "no-store");  // each challenge is good once
  reply(std::move(response));
}

// Reads an optional integer field in [0, max]; `out` stays as it is when the field is absent.
Status ReadCount(const json::object& body, std::string_view field, std::int64_t max,
                 std::optional<std::int64_t>& out) {
  const json::value* value = body.if_contains(field);
  if (value == nullptr || value->is_null()) return {};
  if (!value->is_int64() || value->get_int64() < 0 || value->get_int64() > max) {
    return FieldError(field, "Field '" + std::string(field) + "' must be an integer from 0 to " +
                                 std::to_string(max) + ".");
  }
  out = value->get_int64();
  return {};
}

void PostTelemetry(ApiContext& context, const http::Request& request, Reply reply) {
  Result<Session> session = RequireSession(request, context.accounts);
  if (!session) return reply(session.error());
  Result<json::object> object = ParseJsonObjectBody(request);
  if (!object) return reply(object.error());
  std::optional<std::int64_t> pointer_events, key_events, first_interaction_ms;
  for (Status read :
       {ReadCount(*object, "pointer_events", kTelemetryEventsMax, pointer_events),
        ReadCount(*object, "key_events", kTelemetryEventsMax, key_events),
        ReadCount(*object, "first_interaction_ms", kFirstInteractionMaxMs, first_interaction_ms)}) {
    if (!read) return reply(read.error());
  }
  Telemetry telemetry;
  telemetry.pointer_events = static_cast<std::uint32_t>(pointer_events.value_or(0));
  telemetry.key_events = static_cast<std::uint32_t>(key_events.value_or(0));
  if (first_interaction_ms) {
    telemetry.first_interaction_ms = static_cast<std::uint32_t>(*first_interaction_ms);
  }
  context.defense.RecordTelemetry(session->session_id, telemetry);
  reply(JsonResponse(204, std::string()));
}

}  // namespace

void RegisterDefenseRoutes(http::Router& router, ApiContext& context) {
  for (const auto& list : {std::pair{ListKind::kBlock, "/v1/defense/blocklist"},
                           std::pair{ListKind::kAllow, "/v1/defense/allowlist"}}) {
    const ListKind kind = list.first;
    const std::string_view path = list.second;
    router.Add(Method::kPost, path,
               Answering([&context, kind](const http::Request& request, Reply reply) {
                 AddEntry(context, kind, request, std::move(reply));
               }));
    router.Add(Method::kGet, path,
               Answering([&context, kind](const http::Request& request, Reply reply) {
                 ListEntries(context, kind, request, std::move(reply));
               }));
    router.Add(Method::kDelete, path,
               Answering([&context, kind](const http::Request& request, Reply reply) {
                 RemoveEntry(context, kind, request, std::move(reply));
               }));
  }
  router.Add(Method::kGet, "/v1/defense/decisions",
             Answering([&context](const http::Request& request, Reply reply) {
               ListDecisions(context, request, std::move(reply));
             }));
  router.Add(Method::kGet, "/v1/challenge",
             Answering([&context](const http::Request& request, Reply reply) {
               GetChallenge(context, request, std::move(reply));
             }));
  router.Add(Method::kPost, "/v1/telemetry",
             Answering([&context](const http::Request& request, Reply reply) {
               PostTelemetry(context, request, std::move(reply));
             }));
}

}  // namespace boxoffice::api
