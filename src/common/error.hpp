// Expected failures as values. Every layer reports a rule broken by input, a conflict or an
// overload as an `Error`; the HTTP layer turns it into a status and the API's error body in one
// place (http/error_response.hpp). Exceptions never cross the request path.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <utility>

namespace boxoffice {

// The kind decides the HTTP status; `code` is the stable snake_case string clients match on.
enum class ErrorKind {
  kMalformed,         // 400: the request cannot be parsed
  kUnauthenticated,   // 401: missing or invalid credentials
  kPaymentRequired,   // 402: the payment was declined
  kForbidden,         // 403: authenticated but not allowed, or blocked
  kNotFound,          // 404
  kMethodNotAllowed,  // 405
  kConflict,          // 409: the state changed under the caller
  kPayloadTooLarge,   // 413
  kUnprocessable,     // 422: valid JSON that breaks a rule
  kRateLimited,       // 429
  kInternal,          // 500: a bug or a failed dependency; details are logged, not shown
  kUnavailable,       // 503: overloaded or shutting down
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string code;     // e.g. "seat_conflict"
  std::string message;  // one human sentence
  boost::json::object details;
  int retry_after_s = 0;  // sent as Retry-After when positive (429, 503)

  static Error Make(ErrorKind kind, std::string code, std::string message,
                    boost::json::object details = {}) {
    return Error{kind, std::move(code), std::move(message), std::move(details), 0};
  }
  static Error Internal(std::string message) {
    return Make(ErrorKind::kInternal, "internal", std::move(message));
  }
};

}  // namespace boxoffice
