#include "http/error_response.hpp"

#include <boost/json/serialize.hpp>
#include <string>

namespace boxoffice::http {

int StatusFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kMalformed:
      return 400;
    case ErrorKind::kUnauthenticated:
      return 401;
    case ErrorKind::kPaymentRequired:
      return 402;
    case ErrorKind::kForbidden:
      return 403;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kMethodNotAllowed:
      return 405;
    case ErrorKind::kConflict:
      return 409;
    case ErrorKind::kPayloadTooLarge:
      return 413;
    case ErrorKind::kUnprocessable:
      return 422;
    case ErrorKind::kRateLimited:
      return 429;
    case ErrorKind::kInternal:
      return 500;
    case ErrorKind::kUnavailable:
      return 503;
  }
  return 500;
}

Response ErrorResponse(const Error& error) {
  Response response;
  response.status = StatusFor(error.kind);
  boost::json::object body;
  boost::json::object inner;
  inner["code"] = error.code;
  inner["message"] = error.message;
  inner["details"] = error.details;
  body["error"] = std::move(inner);
  response.body = boost::json::serialize(body);
  if (error.retry_after_s > 0) {
    response.SetHeader("Retry-After", std::to_string(error.retry_after_s));
  } else if (error.kind == ErrorKind::kUnavailable || error.kind == ErrorKind::kRateLimited) {
    response.SetHeader("Retry-After", "1");
  }
  if (error.kind == ErrorKind::kUnauthenticated) {
    response.SetHeader("WWW-Authenticate", "Bearer");
  }
  return response;
}

}  // namespace boxoffice::http
