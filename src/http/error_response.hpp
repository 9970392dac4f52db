// The one place where an `Error` becomes an HTTP answer: status by kind and the API's body
// {"error": {"code", "message", "details"}}, plus Retry-After when the error carries one.
#pragma once

#include "common/error.hpp"
#include "http/message.hpp"

namespace boxoffice::http {

int StatusFor(ErrorKind kind);
Response ErrorResponse(const Error& error);

}  // namespace boxoffice::http
