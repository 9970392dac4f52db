// The operator's own resources: the keys minted for others (POST, GET /v1/operator-keys and
// DELETE /v1/operator-keys/{id}, operators/operator_keys.hpp) and the audit log of operator
// controls (GET /v1/audit, operators/audit_trail.hpp), and RecordControl, through which every
// control route writes its entry.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <optional>

#include "api/routes.hpp"
#include "api/support.hpp"
#include "common/log.hpp"
#include "common/time.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;

// A page of the audit log; entries are a few hundred bytes, so the largest page is ~0.5 MB.
constexpr std::int64_t kAuditPageMax = 1'000;
constexpr std::int64_t kAuditPageDefault = 100;

json::object OperatorKeyJson(const OperatorKey& key) {
  return json::object{{"id", key.id},
                      {"scope", OperatorScopeName(key.scope)},
                      {"label", key.label.empty() ? json::value(nullptr) : json::value(key.label)},
                      {"created_at", FormatRfc3339(key.created_at)}};
}

// The audit's state of a key: its facts without the id (the entry's target) or the key.
json::object OperatorKeyStateJson(const OperatorKey& key) {
  json::object state = OperatorKeyJson(key);
  state.erase("id");
  return state;
}

void MintOperatorKey(ApiContext& context, const http::Request& request, Reply reply) {
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kOperator);
  if (!caller) return reply(caller.error());
  Result<json::object> body = ParseJsonObjectBody(request);
  if (!body) return reply(body.error());
  const json::value* scope_field = body->if_contains("scope");
  if (scope_field == nullptr || !scope_field->is_string()) {
    return reply(FieldError("scope", "Field 'scope' is required: \"viewer\"."));
  }
  const std::optional<OperatorScope> scope = ParseOperatorScope(scope_field->get_string());
  if (!scope) return reply(FieldError("scope", "Field 'scope' must be \"viewer\"."));
  std::string label;
  if (const json::value* value = body->if_contains("label"); value && !value->is_null()) {
    if (!value->is_string()) return reply(FieldError("label", "Field 'label' must be a string."));
    label = std::string(value->get_string());
  }
  context.operator_keys->Mint(
      *scope, std::move(label),
      [&context, caller = std::move(caller).value(), reply](Result<MintedOperatorKey> minted) {
        if (!minted) return reply(minted.error());
        json::object body = OperatorKeyJson(minted->key);
        body["key"] = minted->secret;  // shown here only; the audit entry never holds it
        AuditEntry audit{audit_action::kOperatorKeyCreate, minted->key.id, std::nullopt,
                         OperatorKeyStateJson(minted->key)};
        RecordControl(context, caller, std::move(audit),
                      [reply, body = std::move(body)] { reply(JsonResponse(201, body)); });
      });
}

void ListOperatorKeys(ApiContext& context, const http::Request& request, Reply reply) {
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kOperator);
  if (!caller) return reply(caller.error());
  json::array items;
  for (const OperatorKey& key : context.operator_keys->List()) {
    items.push_back(OperatorKeyJson(key));
  }
  // At most kOperatorKeysMax live keys: one page, as the block and allow lists.
  reply(JsonResponse(200, json::object{{"items", std::move(items)}, {"next_cursor", nullptr}}));
}

void RevokeOperatorKey(ApiContext& context, const http::Request& request, Reply reply) {
  Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kOperator);
  if (!caller) return reply(caller.error());
  context.operator_keys->Revoke(
      request.PathParam("id"),
      [&context, caller = std::move(caller).value(), reply](Result<OperatorKey> revoked) {
        if (!revoked) return reply(revoked.error());
        AuditEntry audit{audit_action::kOperatorKeyRevoke, revoked->id,
                         OperatorKeyStateJson(*revoked), std::nullopt};
        RecordControl(context, caller, std::move(audit),
                      [reply] { reply(JsonResponse(204, std::string())); });
      });
}

// A stored state back as JSON; null for none. The store holds what Record serialized, so a state
// that does not parse is a damaged row: shown as null, and logged, rather than failing the page.
json::value StateJson(const AuditRecord& record, const std::string& text) {
  if (text.empty()) return nullptr;
  std::error_code error;
  json::value state = json::parse(text, error);
  if (error || !state.is_object()) {
    LogError("audit entry holds a state that is not a JSON object", {{"id", record.id}});
    return nullptr;
  }
  return state;
}

json::object AuditEntryJson(const AuditRecord& record) {
  json::object entry{
      {"id", record.id},
      {"at", FormatRfc3339Millis(FromUnixMillis(record.at_ms))},
      {"actor", json::object{{"key_id", record.actor_key_id}, {"scope", record.actor_scope}}},
      {"action", record.action},
      {"target", record.target}};
  if (json::value before = StateJson(record, record.before_json); !before.is_null()) {
    entry["before"] = std::move(before);
  }
  if (json::value after = StateJson(record, record.after_json); !after.is_null()) {
    entry["after"] = std::move(after);
  }
  return entry;
}

void ListAudit(ApiContext& context, const http::Request& request, Reply reply) {
  if (Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kViewer);
      !caller) {
    return reply(caller.error());
  }
  Result<PageQuery> query = ReadPageQuery(request, kAuditPageDefault, kAuditPageMax);
  if (!query) return reply(query.error());
  // A ledger read: on an order worker, never on an I/O thread.
  RunOnOrderWorker(context, reply, [&context, after = query->after, limit = query->limit, reply] {
    // One entry more than asked says whether another page follows.
    Result<AuditPage> page = context.audit->Read(after, static_cast<std::size_t>(limit) + 1);
    if (!page) return reply(page.error());
    const bool more = page->entries.size() > static_cast<std::size_t>(limit);
    if (more) page->entries.pop_back();
    json::array items;
    items.reserve(page->entries.size());
    for (const AuditRecord& record : page->entries) items.push_back(AuditEntryJson(record));
    json::object body{{"items", std::move(items)}, {"latest", page->latest_id}};
    body["next_cursor"] = more ? json::value(page->entries.back().id) : json::value(nullptr);
    reply(JsonResponse(200, body));
  });
}

}  // namespace

void RecordControl(ApiContext& context, const OperatorIdentity& actor, AuditEntry entry,
                   std::function<void()> then) {
  if (context.audit == nullptr) return then();
  context.audit->Record(actor, std::move(entry), std::move(then));
}

void RegisterOperatorRoutes(http::Router& router, ApiContext& context) {
  if (context.operator_keys != nullptr) {
    router.Add(Method::kPost, "/v1/operator-keys",
               Answering([&context](const http::Request& request, Reply reply) {
                 MintOperatorKey(context, request, std::move(reply));
               }));
    router.Add(Method::kGet, "/v1/operator-keys",
               Answering([&context](const http::Request& request, Reply reply) {
                 ListOperatorKeys(context, request, std::move(reply));
               }));
    router.Add(Method::kDelete, "/v1/operator-keys/{id}",
               Answering([&context](const http::Request& request, Reply reply) {
                 RevokeOperatorKey(context, request, std::move(reply));
               }));
  }
  if (context.audit != nullptr) {
    router.Add(Method::kGet, "/v1/audit",
               Answering([&context](const http::Request& request, Reply reply) {
                 ListAudit(context, request, std::move(reply));
               }));
  }
}

}  // namespace boxoffice::api
