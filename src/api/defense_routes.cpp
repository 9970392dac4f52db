// The operator's blocklist: POST, GET and DELETE /v1/defense/blocklist.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/routes.hpp"
#include "api/support.hpp"
#include "common/time.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;

json::object BlockJson(const BlockEntry& entry) {
  json::object out{{"cidr", entry.cidr},
                   {"reason", entry.reason},
                   {"created_at", FormatRfc3339(entry.created_at)}};
  out["expires_at"] = entry.expires_at ? json::value(FormatRfc3339(*entry.expires_at)) : nullptr;
  return out;
}

Error FieldError(std::string_view field, std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, "validation_failed", std::move(message),
                     {{"field", field}});
}

void AddBlock(ApiContext& context, const http::Request& request, http::Respond respond) {
  if (Status allowed = RequireOperator(request, context.admin_key); !allowed) {
    return respond(http::ErrorResponse(allowed.error()));
  }
  Result<json::value> body = ParseJsonBody(request);
  if (!body) return respond(http::ErrorResponse(body.error()));
  const json::object* object = body->if_object();
  const json::value* cidr = object ? object->if_contains("cidr") : nullptr;
  if (cidr == nullptr || !cidr->is_string()) {
    return respond(http::ErrorResponse(FieldError("cidr", "Field 'cidr' is required.")));
  }
  std::string reason;
  if (const json::value* value = object->if_contains("reason"); value && !value->is_null()) {
    if (!value->is_string()) {
      return respond(http::ErrorResponse(FieldError("reason", "Field 'reason' must be a string.")));
    }
    reason = std::string(value->get_string());
  }
  std::optional<std::int64_t> ttl_s;
  if (const json::value* value = object->if_contains("ttl_s"); value && !value->is_null()) {
    if (!value->is_int64()) {
      return respond(http::ErrorResponse(FieldError("ttl_s", "Field 'ttl_s' must be an integer.")));
    }
    ttl_s = value->get_int64();
  }
  context.defense.Block(cidr->get_string(), std::move(reason), ttl_s,
                        [respond](Result<BlockEntry> entry) {
                          if (!entry) return respond(http::ErrorResponse(entry.error()));
                          respond(JsonResponse(201, BlockJson(*entry)));
                        });
}

void ListBlocks(ApiContext& context, const http::Request& request, http::Respond respond) {
  if (Status allowed = RequireOperator(request, context.admin_key); !allowed) {
    return respond(http::ErrorResponse(allowed.error()));
  }
  json::array items;
  for (const BlockEntry& entry : context.defense.Blocks()) items.push_back(BlockJson(entry));
  respond(JsonResponse(200, json::object{{"items", std::move(items)}, {"next_cursor", nullptr}}));
}

void RemoveBlock(ApiContext& context, const http::Request& request, http::Respond respond) {
  if (Status allowed = RequireOperator(request, context.admin_key); !allowed) {
    return respond(http::ErrorResponse(allowed.error()));
  }
  const std::optional<std::string_view> cidr = request.Query("cidr");
  if (!cidr) {
    return respond(http::ErrorResponse(
        Error::Make(ErrorKind::kMalformed, "invalid_parameter",
                    "Query parameter 'cidr' names the range to remove.", {{"parameter", "cidr"}})));
  }
  context.defense.Unblock(*cidr, [respond](Status status) {
    if (!status.ok()) return respond(http::ErrorResponse(status.error()));
    respond(JsonResponse(204, std::string()));
  });
}

}  // namespace

void RegisterDefenseRoutes(http::Router& router, ApiContext& context) {
  router.Add(Method::kPost, "/v1/defense/blocklist",
             [&context](const http::Request& request, http::Respond respond) {
               AddBlock(context, request, std::move(respond));
             });
  router.Add(Method::kGet, "/v1/defense/blocklist",
             [&context](const http::Request& request, http::Respond respond) {
               ListBlocks(context, request, std::move(respond));
             });
  router.Add(Method::kDelete, "/v1/defense/blocklist",
             [&context](const http::Request& request, http::Respond respond) {
               RemoveBlock(context, request, std::move(respond));
             });
}

}  // namespace boxoffice::api
