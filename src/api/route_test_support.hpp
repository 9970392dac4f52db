// For tests of the API's routes in-process: calls a route the way the HTTP server would (the
// router's match, its path parameters, one answer awaited), without a socket.
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <utility>
#include <vector>

#include "http/router.hpp"

namespace boxoffice::api {

using Headers = std::vector<std::pair<std::string, std::string>>;

using QueryParameters = std::vector<std::pair<std::string, std::string>>;

// `headers` names are lower case, as the server stores them; `query` is as the server decodes
// it (the target is then only the path).
inline http::Response CallRoute(const http::Router& router, http::Method method, std::string path,
                                std::string body, Headers headers, QueryParameters query = {}) {
  http::Request request;
  request.method = method;
  request.path = path;
  request.target = path;
  request.query = std::move(query);
  request.body = std::move(body);
  request.headers = std::move(headers);
  http::RouteMatch match = router.Match(method, path);
  EXPECT_EQ(match.outcome, http::RouteMatch::Outcome::kFound) << path;
  if (match.outcome != http::RouteMatch::Outcome::kFound) {
    http::Response missing;
    missing.status = 404;
    return missing;
  }
  request.path_params = match.params;
  std::promise<http::Response> answered;
  (*match.handler)(
      request, [&answered](http::Response response) { answered.set_value(std::move(response)); });
  return answered.get_future().get();
}

}  // namespace boxoffice::api
