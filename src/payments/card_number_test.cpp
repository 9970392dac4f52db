#include "payments/card_number.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace boxoffice {
namespace {

// Well-known test card numbers pass Luhn; one changed digit fails.
TEST(CardNumber, LuhnAcceptsTestCardsAndRejectsTypos) {
  EXPECT_TRUE(PassesLuhn("4111111111111111"));
  EXPECT_TRUE(PassesLuhn("5555555555554444"));
  EXPECT_TRUE(PassesLuhn("378282246310005"));
  EXPECT_FALSE(PassesLuhn("4111111111111112"));
  EXPECT_FALSE(PassesLuhn(""));
}

// A card number is found plain, with spaces or dashes, and inside other text.
TEST(CardNumber, FindsCardNumbersInAnyCommonSpelling) {
  EXPECT_TRUE(ContainsCardNumber("4111111111111111"));
  EXPECT_TRUE(ContainsCardNumber("4111 1111 1111 1111"));
  EXPECT_TRUE(ContainsCardNumber("4111-1111-1111-1111"));
  EXPECT_TRUE(ContainsCardNumber("my card is 4111 1111 1111 1111, thanks"));
  EXPECT_TRUE(ContainsCardNumber("3782 822463 10005"));           // 15 digits (Amex)
  EXPECT_TRUE(ContainsCardNumber("4222222222222"));               // 13 digits
  EXPECT_TRUE(ContainsCardNumber("x 12 then 4111111111111111"));  // a later run
}

// Tokens, short numbers, numbers failing Luhn and runs longer than 19 digits are not cards.
TEST(CardNumber, LeavesOtherTextAlone) {
  EXPECT_FALSE(ContainsCardNumber("tok_visa"));
  EXPECT_FALSE(ContainsCardNumber("4111111111111112"));
  EXPECT_FALSE(ContainsCardNumber("411111111111"));             // 12 digits
  EXPECT_FALSE(ContainsCardNumber("4111  1111 1111 1111"));     // two spaces split the run
  EXPECT_FALSE(ContainsCardNumber("41111111111111111111111"));  // 23 digits
  EXPECT_FALSE(ContainsCardNumber("2027-05-01T19:00:00Z"));
  EXPECT_FALSE(ContainsCardNumber(""));
}

// A run too long to be a card ends where any run ends, so a card after it is still found; before
// the fix (found by fuzz/text_formats_fuzzer.cpp) everything up to the next letter was skipped.
TEST(CardNumber, FindsACardAfterARunTooLongToBeOne) {
  EXPECT_TRUE(ContainsCardNumber("12345678901234567890  4111 1111 1111 1111"));
  EXPECT_TRUE(ContainsCardNumber("12345678901234567890 - 4111-1111-1111-1111"));
  EXPECT_TRUE(ContainsCardNumber("1234-5678-9012-3456-7890--4111111111111111"));
  EXPECT_FALSE(ContainsCardNumber("12345678901234567890 4111111111111111"));  // one run, too long
}

// The JSON walk names the field that holds the number, in keys and nested values.
TEST(CardNumber, NamesTheFieldInAJsonBody) {
  EXPECT_EQ(FindCardNumber(boost::json::parse(
                R"({"hold_id": "h", "payment": {"token": "4111 1111 1111 1111"}})")),
            std::optional<std::string>("payment.token"));
  EXPECT_EQ(FindCardNumber(boost::json::parse(R"({"notes": ["a", "5555555555554444"]})")),
            std::optional<std::string>("notes[1]"));
  // A key holding the number is named by a placeholder, never by itself.
  EXPECT_EQ(FindCardNumber(boost::json::parse(R"({"extra": {"4111111111111111": 1}})")),
            std::optional<std::string>("extra.<key>"));
  EXPECT_FALSE(FindCardNumber(boost::json::parse(
                                  R"({"payment": {"token": "tok_visa"}, "n": 4111111111111111})"))
                   .has_value());
}

}  // namespace
}  // namespace boxoffice
