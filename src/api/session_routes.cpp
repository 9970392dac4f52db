// Sessions and customer accounts: POST /v1/sessions (guest or login), GET /v1/sessions/current,
// POST /v1/customers.
#include <boost/json/object.hpp>

#include "api/routes.hpp"
#include "api/support.hpp"
#include "common/time.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using http::Method;

json::object SessionJson(const IssuedSession& issued) {
  json::object body;
  body["session_token"] = issued.token;
  body["session_id"] = issued.session.session_id;
  body["customer_id"] = issued.session.customer_id.empty()
                            ? json::value(nullptr)
                            : json::value(issued.session.customer_id);
  body["expires_at"] = FormatRfc3339(issued.session.expires_at);
  return body;
}

// Reads {"email", "password"} as strings; 422 naming the field otherwise.
Result<std::pair<std::string, std::string>> Credentials(const json::value& body) {
  if (!body.is_object()) {
    return Error::Make(ErrorKind::kUnprocessable, "validation_failed",
                       "The body must be a JSON object.", {{"field", ""}});
  }
  const json::object& object = body.get_object();
  std::pair<std::string, std::string> out;
  for (const auto& [field, target] :
       {std::pair{"email", &out.first}, std::pair{"password", &out.second}}) {
    const json::value* value = object.if_contains(field);
    if (value == nullptr || !value->is_string()) {
      return Error::Make(ErrorKind::kUnprocessable, "validation_failed",
                         std::string("Field '") + field + "' is required and must be a string.",
                         {{"field", field}});
    }
    *target = std::string(value->get_string());
  }
  return out;
}

}  // namespace

void RegisterSessionRoutes(http::Router& router, ApiContext& context) {
  router.Add(
      Method::kPost, "/v1/sessions",
      Answering([&context](const http::Request& request, Reply reply) {
        Result<json::value> body = ParseJsonBody(request);
        if (!body) return reply(body.error());
        const bool is_login = body->is_object() && (body->get_object().contains("email") ||
                                                    body->get_object().contains("password"));
        if (!is_login) {
          if (!body->is_object()) {
            return reply(Error::Make(ErrorKind::kUnprocessable, "validation_failed",
                                     "The body must be a JSON object.", {{"field", ""}}));
          }
          return reply(JsonResponse(201, SessionJson(context.accounts.CreateGuestSession())));
        }
        Result<std::pair<std::string, std::string>> credentials = Credentials(*body);
        if (!credentials) return reply(credentials.error());
        context.accounts.Login(credentials->first, credentials->second,
                               [reply](Result<IssuedSession> issued) {
                                 if (!issued) {
                                   return reply(issued.error());
                                 }
                                 reply(JsonResponse(201, SessionJson(*issued)));
                               });
      }));

  // An extension of API.md: lets a page (and an on-call engineer) check what a token names.
  router.Add(Method::kGet, "/v1/sessions/current",
             Answering([&context](const http::Request& request, Reply reply) {
               Result<Session> session = RequireSession(request, context.accounts);
               if (!session) return reply(session.error());
               json::object body;
               body["session_id"] = session->session_id;
               body["customer_id"] = session->customer_id.empty()
                                         ? json::value(nullptr)
                                         : json::value(session->customer_id);
               body["expires_at"] = FormatRfc3339(session->expires_at);
               reply(JsonResponse(200, body));
             }));

  router.Add(Method::kPost, "/v1/customers",
             Answering([&context](const http::Request& request, Reply reply) {
               Result<json::value> body = ParseJsonBody(request);
               if (!body) return reply(body.error());
               Result<std::pair<std::string, std::string>> credentials = Credentials(*body);
               if (!credentials) return reply(credentials.error());
               context.accounts.Register(
                   credentials->first, credentials->second, [reply](Result<Customer> customer) {
                     if (!customer) return reply(customer.error());
                     reply(JsonResponse(
                         201, json::object{{"customer_id", customer->id},
                                           {"email", customer->email},
                                           {"created_at", FormatRfc3339(customer->created_at)}}));
                   });
             }));
}

}  // namespace boxoffice::api
