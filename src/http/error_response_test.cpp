#include "http/error_response.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace boxoffice::http {
namespace {

namespace json = boost::json;

// The status follows the kind; the body is {"error": {"code", "message", "details"}}.
TEST(ErrorResponseTest, StatusAndBodyFollowTheError) {
  const Response response = ErrorResponse(
      Error::Make(ErrorKind::kNotFound, "event_not_found", "No event.", {{"event_id", "evt_1"}}));
  EXPECT_EQ(response.status, 404);
  const json::value body = json::parse(response.body);
  EXPECT_EQ(body.at("error").at("code").as_string(), "event_not_found");
  EXPECT_EQ(body.at("error").at("details").at("event_id").as_string(), "evt_1");
}

// What a client sent is echoed as valid UTF-8 whatever its bytes ("%FF" decodes to one), so the
// answer is always JSON a parser reads; valid text is kept as it is. Before the fix (found by
// fuzz/api_bodies_fuzzer.cpp) GET /v1/events/%FF answered bytes that are not JSON.
TEST(ErrorResponseTest, EchoedTextIsValidUtf8) {
  const std::string sent =
      "evt\xff\xc0\xaf\xed\xa0\x80 Z\xc3\xbcrich \xe2\x9c\x93 \xf0\x9f\x8e\xab";
  const Response response = ErrorResponse(
      Error::Make(ErrorKind::kNotFound, "event_not_found", "There is nothing at " + sent + ".",
                  {{"event_id", sent}, {"list", json::array{sent}}, {sent, 1}}));
  std::error_code error;
  const json::value body = json::parse(response.body, error);
  ASSERT_FALSE(error) << response.body;
  const std::string repaired =
      "evt\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd Z\xc3\xbcrich "
      "\xe2\x9c\x93 \xf0\x9f\x8e\xab";
  const json::value& details = body.at("error").at("details");
  EXPECT_EQ(details.at("event_id").as_string(), repaired);
  EXPECT_EQ(details.at("list").at(0).as_string(), repaired);
  EXPECT_TRUE(details.as_object().contains(repaired));
  EXPECT_EQ(body.at("error").at("message").as_string(), "There is nothing at " + repaired + ".");
}

}  // namespace
}  // namespace boxoffice::http
