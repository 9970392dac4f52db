#include "api/support.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <charconv>
#include <cstring>
#include <limits>

#include "api/api.hpp"
#include "common/crypto.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "payments/card_number.hpp"

namespace boxoffice::api {

namespace json = boost::json;

Result<json::value> ParseJsonBody(const http::Request& request) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos)
    return json::value(json::object{});
  json::parse_options options;
  options.max_depth = 32;  // nothing in the API nests deeper; bounds a hostile body's cost
  std::error_code error;
  json::value value = json::parse(request.body, error, {}, options);
  if (error) {
    return Error::Make(ErrorKind::kMalformed, "malformed_json",
                       "The request body is not valid JSON: " + error.message() + ".");
  }
  // Every JSON body passes here, so no handler can take (or log) a card number by mistake.
  if (std::optional<std::string> field = FindCardNumber(value)) {
    LogWarn("request refused: a field holds a card number",
            {{"field", *field}, {"path", request.path}, {"request_id", request.request_id}});
    return RawCardNumberError(*field);
  }
  return value;
}

Status RefuseCardNumberInHeader(const http::Request& request, std::string_view header) {
  std::string name(header);  // Request::headers holds names in lower case
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  // Every value, not only the first a handler reads: a repeated header is no way round the check.
  for (const auto& [key, value] : request.headers) {
    if (key != name || IsCanonicalUuid(value) || !ContainsCardNumber(value)) continue;
    LogWarn("request refused: a header holds a card number",
            {{"field", header}, {"path", request.path}, {"request_id", request.request_id}});
    return RawCardNumberError(std::string(header));
  }
  return {};
}

Result<json::object> ParseJsonObjectBody(const http::Request& request) {
  Result<json::value> body = ParseJsonBody(request);
  if (!body) return std::move(body).error();
  if (!body->is_object()) return FieldError("", "The body must be a JSON object.");
  return std::move(body->get_object());
}

Error FieldError(std::string_view field, std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, "validation_failed", std::move(message),
                     {{"field", field}});
}

Error EventNotFound(std::string_view id) {
  return Error::Make(ErrorKind::kNotFound, "event_not_found", "No event has this id.",
                     {{"event_id", id}});
}

http::Response JsonResponse(int status, const json::value& body) {
  return JsonResponse(status, SerializeJson(body));
}

http::Response JsonResponse(int status, std::string body) {
  http::Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

Result<std::int64_t> QueryInteger(const http::Request& request, std::string_view name,
                                  std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const std::optional<std::string_view> text = request.Query(name);
  if (!text) return fallback;
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    return InvalidParameter(name, "Query parameter '" + std::string(name) +
                                      "' must be an integer from " + std::to_string(min) + " to " +
                                      std::to_string(max) + ".");
  }
  return value;
}

Error InvalidParameter(std::string_view name, std::string message) {
  return Error::Make(ErrorKind::kMalformed, "invalid_parameter", std::move(message),
                     {{"parameter", name}});
}

Result<PageQuery> ReadPageQuery(const http::Request& request, std::int64_t limit_default,
                                std::int64_t limit_max) {
  Result<std::int64_t> after =
      QueryInteger(request, "after", 0, 0, std::numeric_limits<std::int64_t>::max());
  if (!after) return after.error();
  Result<std::int64_t> limit = QueryInteger(request, "limit", limit_default, 1, limit_max);
  if (!limit) return limit.error();
  return PageQuery{*after, *limit};
}

std::optional<std::string_view> BearerToken(const http::Request& request) {
  const std::optional<std::string_view> header = request.Header("authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (!header || header->size() <= kScheme.size()) return std::nullopt;
  // The scheme is case-insensitive (RFC 9110 11.1): ASCII folding, not the C locale's tolower.
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; };
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (lower((*header)[i]) != lower(kScheme[i])) return std::nullopt;
  }
  return header->substr(kScheme.size());
}

namespace {

Error InvalidAdminKey() {
  return Error::Make(ErrorKind::kUnauthenticated, "invalid_admin_key",
                     "This call needs the operator key or a key minted with it: "
                     "Authorization: Bearer KEY.");
}

}  // namespace

Result<OperatorIdentity> RequireOperator(const ApiContext& context, const http::Request& request,
                                         OperatorScope needed) {
  const std::optional<std::string_view> token = BearerToken(request);
  if (!token) return InvalidAdminKey();
  std::optional<OperatorIdentity> identity;
  const bool admin = std::any_of(context.admin_keys.begin(), context.admin_keys.end(),
                                 [&](const std::string& key) { return SecretsEqual(*token, key); });
  if (admin) {
    identity = OperatorIdentity{std::string(kAdminKeyId), OperatorScope::kOperator};
  } else if (context.operator_keys != nullptr) {
    identity = context.operator_keys->Verify(*token);
  }
  if (!identity) return InvalidAdminKey();
  if (!Grants(identity->scope, needed)) {
    return Error::Make(
        ErrorKind::kForbidden, "insufficient_scope",
        "This key may only read; this call needs the operator key.",
        {{"required", OperatorScopeName(needed)}, {"scope", OperatorScopeName(identity->scope)}});
  }
  return std::move(identity).value();
}

Result<Session> RequireSession(const http::Request& request, const Accounts& accounts) {
  const std::optional<std::string_view> token = BearerToken(request);
  if (!token) {
    return Error::Make(ErrorKind::kUnauthenticated, "missing_session",
                       "This call needs a session: Authorization: Bearer SESSION_TOKEN.");
  }
  return accounts.Authenticate(*token);
}

}  // namespace boxoffice::api
