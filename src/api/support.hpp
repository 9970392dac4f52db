// Small helpers every handler uses: JSON bodies in and out, query parameters, credentials.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "accounts/accounts.hpp"
#include "api/reply.hpp"
#include "common/json_text.hpp"
#include "common/result.hpp"
#include "http/message.hpp"
#include "operators/operator_keys.hpp"

namespace boxoffice::api {

struct ApiContext;  // api.hpp

// 400 malformed_json unless the body is one JSON value (an empty body reads as {}); 400
// raw_card_number when any string in it holds a card number (payments/card_number.hpp).
Result<boost::json::value> ParseJsonBody(const http::Request& request);
// 400 raw_card_number naming `header` (as the docs spell it, "Idempotency-Key") when a value of
// that header holds a card number, as ParseJsonBody refuses one in a body: every header a fan
// controls whose value is stored or logged passes here before anything keeps it. The refusal is
// logged by the header's name, never its value.
Status RefuseCardNumberInHeader(const http::Request& request, std::string_view header);
// ParseJsonBody, and 422 validation_failed unless the body is a JSON object.
Result<boost::json::object> ParseJsonObjectBody(const http::Request& request);

// 422 validation_failed naming the offending field in `details.field` ("" for the whole body).
Error FieldError(std::string_view field, std::string message);
// 404 event_not_found naming the id asked for.
Error EventNotFound(std::string_view id);

http::Response JsonResponse(int status, const boost::json::value& body);
http::Response JsonResponse(int status, std::string body);

// 400 invalid_parameter naming the query parameter `name` in `details.parameter`.
Error InvalidParameter(std::string_view name, std::string message);

// The integer query parameter `name` within [min, max], `fallback` when absent; 400
// invalid_parameter otherwise.
Result<std::int64_t> QueryInteger(const http::Request& request, std::string_view name,
                                  std::int64_t fallback, std::int64_t min, std::int64_t max);

// `?after=ID&limit=N` of a log read page by page: `after` from 0 (the default) up, `limit` within
// [1, limit_max], `limit_default` when absent; 400 invalid_parameter otherwise.
struct PageQuery {
  std::int64_t after = 0;
  std::int64_t limit = 0;
};
Result<PageQuery> ReadPageQuery(const http::Request& request, std::int64_t limit_default,
                                std::int64_t limit_max);

// The token of "Authorization: Bearer TOKEN", if any.
std::optional<std::string_view> BearerToken(const http::Request& request);

// The one check of every operator route, stating what the route needs: kViewer for a route that
// only reads, kOperator for a control. 401 invalid_admin_key unless the request carries the
// operator key or a live minted key (operators/operator_keys.hpp); 403 insufficient_scope
// (details.required, details.scope) when that key's scope does not grant `needed`. The identity
// names the caller in the audit log. A comparison and a MAC in memory: any thread may call it.
//
//   Result<OperatorIdentity> caller = RequireOperator(context, request, OperatorScope::kViewer);
//   if (!caller) return reply(caller.error());
Result<OperatorIdentity> RequireOperator(const ApiContext& context, const http::Request& request,
                                         OperatorScope needed);
// 401 unless the request carries a valid session token.
Result<Session> RequireSession(const http::Request& request, const Accounts& accounts);

}  // namespace boxoffice::api
