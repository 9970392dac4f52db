#include "api/reply.hpp"

#include "http/error_response.hpp"

namespace boxoffice::api {

http::Response ErrorAnswer(const Error& error) { return http::ErrorResponse(error); }

}  // namespace boxoffice::api
