// How a handler answers: with a response, or with an Error that the one error map
// (http::ErrorResponse, through Reply) turns into the status, the headers (Retry-After,
// WWW-Authenticate) and the {"error": ...} body. Handlers never build an error response
// themselves, and nothing under the domain folders knows an HTTP status.
//
//   void GetThing(ApiContext& context, const http::Request& request, Reply reply) {
//     Result<Session> session = RequireSession(request, context.accounts);
//     if (!session) return reply(session.error());
//     reply(JsonResponse(200, ThingJson(...)));
//   }
//
// A Reply answers exactly once, from any thread, now or later (it wraps the server's Respond,
// so it adds no allocation to a request).
#pragma once

#include <functional>
#include <utility>

#include "common/result.hpp"
#include "http/message.hpp"

namespace boxoffice::api {

// The error map's one door for the api: an Error as the response the API sends.
http::Response ErrorAnswer(const Error& error);

class Reply {
 public:
  explicit Reply(http::Respond respond) : respond_(std::move(respond)) {}

  void operator()(http::Response response) const { respond_(std::move(response)); }
  void operator()(const Error& error) const { respond_(ErrorAnswer(error)); }
  void operator()(Result<http::Response> outcome) const {
    if (outcome) return respond_(std::move(outcome).value());
    respond_(ErrorAnswer(outcome.error()));
  }

 private:
  http::Respond respond_;
};

using ApiHandler = std::function<void(const http::Request&, Reply)>;

// The router's handler for an api handler.
inline http::Handler Answering(ApiHandler handler) {
  return [handler = std::move(handler)](const http::Request& request, http::Respond respond) {
    handler(request, Reply(std::move(respond)));
  };
}

}  // namespace boxoffice::api
