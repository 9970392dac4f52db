#include "api/support.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "common/crypto.hpp"
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
  return JsonResponse(status, json::serialize(body));
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
    return Error::Make(ErrorKind::kMalformed, "invalid_parameter",
                       "Query parameter '" + std::string(name) + "' must be an integer from " +
                           std::to_string(min) + " to " + std::to_string(max) + ".",
                       {{"parameter", name}});
  }
  return value;
}

std::optional<std::string_view> BearerToken(const http::Request& request) {
  const std::optional<std::string_view> header = request.Header("authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (!header || header->size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>((*header)[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return std::nullopt;
    }
  }
  return header->substr(kScheme.size());
}

Status RequireOperator(const http::Request& request, const std::string& admin_key) {
  const std::optional<std::string_view> token = BearerToken(request);
  if (!token || !SecretsEqual(*token, admin_key)) {
    return Error::Make(ErrorKind::kUnauthenticated, "invalid_admin_key",
                       "This call needs the operator key: Authorization: Bearer ADMIN_KEY.");
  }
  return {};
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
