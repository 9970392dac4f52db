#include "api/support.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

#include "common/card_digits.hpp"

namespace boxoffice::api {
namespace {

std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

TEST(AppendJsonStringTest, PlainTextIsQuotedAsItIs) {
  EXPECT_EQ(JsonString(""), "\"\"");
  EXPECT_EQ(JsonString("waiting"), "\"waiting\"");
  const std::string ticket(143, 'x');
  EXPECT_EQ(JsonString(ticket), "\"" + ticket + "\"");
  EXPECT_EQ(JsonString("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 passes through
}

TEST(AppendJsonStringTest, EscapesEveryByteJsonRequiresWhereverItFalls) {
  // Each byte that needs escaping, at every offset around the eight-byte words the scan reads,
  // in text of several lengths: the result parses back to the same text.
  std::vector<char> escaped = {'"', '\\'};
  for (int byte = 0; byte < 0x20; ++byte) escaped.push_back(static_cast<char>(byte));
  for (std::size_t length : {1, 7, 8, 9, 16, 17, 31}) {
    for (std::size_t at = 0; at < length; ++at) {
      for (char byte : escaped) {
        std::string text(length, 'a');
        text[at] = byte;
        const std::string out = JsonString(text);
        const boost::json::value parsed = boost::json::parse(out);
        ASSERT_TRUE(parsed.is_string()) << out;
        EXPECT_EQ(std::string_view(parsed.as_string()), text)
            << "byte " << static_cast<int>(byte) << " at " << at << " of " << length;
      }
    }
  }
  EXPECT_EQ(JsonString("a\"b\\c\n\x01"), R"("a\"b\\c\u000a\u0001")");
}

TEST(AppendJsonStringTest, BytesAboveTheControlRangeAreNotEscaped) {
  // ' ' (0x20) and DEL (0x7f) and high bytes sit next to the thresholds the word test uses.
  const std::string text = " ~\x7f\x80\xff !#[]";
  EXPECT_EQ(JsonString(text), "\"" + text + "\"");
}

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
