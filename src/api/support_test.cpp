#include "api/support.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

#include "common/card_digits.hpp"

namespace boxoffice::api {
namespace {

http::Request WithAuthorization(std::string value) {
  http::Request request;
  request.headers.emplace_back("authorization", std::move(value));
  return request;
}

TEST(BearerTokenTest, TheSchemeIsCaseInsensitive) {
  EXPECT_EQ(BearerToken(WithAuthorization("Bearer abc")), "abc");
  EXPECT_EQ(BearerToken(WithAuthorization("bearer abc")), "abc");
  EXPECT_EQ(BearerToken(WithAuthorization("BEARER abc")), "abc");
}

TEST(BearerTokenTest, AnythingElseIsNoToken) {
  EXPECT_EQ(BearerToken(http::Request{}), std::nullopt);
  EXPECT_EQ(BearerToken(WithAuthorization("Bearer ")), std::nullopt);
  EXPECT_EQ(BearerToken(WithAuthorization("Basic abc")), std::nullopt);
  EXPECT_EQ(BearerToken(WithAuthorization("Bearer\tabc")), std::nullopt);
  EXPECT_EQ(BearerToken(WithAuthorization("Bearerxabc")), std::nullopt);
}

// A header holding a card number is 400 raw_card_number naming the header, whichever of its
// values holds it; other headers and other digits pass.
// About one UUID in 450 has decimal groups that, joined by its dashes, pass for a card number; a
// client's UUID key was refused so in CI. A UUID is never a card number.
TEST(RefuseCardNumberInHeaderTest, AUuidKeyIsNeverACardNumber) {
  ASSERT_TRUE(ContainsCardNumber("15810140-2271-411c-9592-2ff366b879b6"));
  http::Request request;
  request.headers = {{"idempotency-key", "15810140-2271-411c-9592-2ff366b879b6"}};
  EXPECT_TRUE(RefuseCardNumberInHeader(request, "Idempotency-Key"));
  request.headers = {{"idempotency-key", "15810140-2271-411c-9592-2ff366b879b6x"}};
  EXPECT_FALSE(RefuseCardNumberInHeader(request, "Idempotency-Key"));
  EXPECT_FALSE(IsCanonicalUuid("15810140-2271-411c-9592-2ff366b879bg"));
  EXPECT_FALSE(IsCanonicalUuid("1581014022714-11c-9592-2ff366b879b6"));
}

TEST(RefuseCardNumberInHeaderTest, NamesTheHeaderNeverTheValue) {
  http::Request request;
  request.headers = {{"idempotency-key", "k-1"}, {"x-other", "4111111111111111"}};
  EXPECT_TRUE(RefuseCardNumberInHeader(request, "Idempotency-Key"));
  request.headers.emplace_back("idempotency-key", "key 4111 1111 1111 1111");
  Status refused = RefuseCardNumberInHeader(request, "Idempotency-Key");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "raw_card_number");
  EXPECT_EQ(refused.error().details.at("field").as_string(), "Idempotency-Key");
  EXPECT_EQ(refused.error().message.find("4111"), std::string::npos);
  request.headers = {{"idempotency-key", "4111111111111112"}};  // fails the Luhn check
  EXPECT_TRUE(RefuseCardNumberInHeader(request, "Idempotency-Key"));
}

}  // namespace
}  // namespace boxoffice::api
