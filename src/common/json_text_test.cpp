#include "common/json_text.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cmath>
#include <limits>

namespace boxoffice {
namespace {

namespace json = boost::json;

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
  EXPECT_EQ(JsonString("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
}

TEST(AppendJsonStringTest, BytesAboveTheControlRangeAreNotEscaped) {
  // ' ' (0x20) and DEL (0x7f) and high bytes sit next to the thresholds the word test uses.
  const std::string text = " ~\x7f\x80\xff !#[]";
  EXPECT_EQ(JsonString(text), "\"" + text + "\"");
}

// Doubles are written in their shortest round-trip form, never Boost 1.81's `0E0` / `4.987E1`,
// and stay doubles when read back; integers are written as they are.
TEST(SerializeJsonTest, DoublesAreShortAndReadBackAsDoubles) {
  EXPECT_EQ(SerializeJson(json::value(0.0)), "0.0");
  EXPECT_EQ(SerializeJson(json::value(-0.0)), "-0.0");
  EXPECT_EQ(SerializeJson(json::value(49.87)), "49.87");
  EXPECT_EQ(SerializeJson(json::value(100.0)), "100.0");
  EXPECT_EQ(SerializeJson(json::value(0.1 + 0.2)), "0.30000000000000004");
  EXPECT_EQ(SerializeJson(json::value(1e300)), "1e+300");
  EXPECT_EQ(SerializeJson(json::value(5e-324)), "5e-324");
  EXPECT_EQ(SerializeJson(json::value(std::int64_t{-9223372036854775807 - 1})),
            "-9223372036854775808");
  EXPECT_EQ(SerializeJson(json::value(std::uint64_t{18446744073709551615u})),
            "18446744073709551615");
  for (double x : {0.0, 49.87, 100.0, 1e300, 5e-324, 123456.789, -2.5e-7}) {
    const json::value back = json::parse(SerializeJson(json::value(x)));
    ASSERT_TRUE(back.is_double()) << x;
    EXPECT_DOUBLE_EQ(back.get_double(), x);
  }
}

// JSON has no infinity or NaN: they are written as null rather than as invalid text.
TEST(SerializeJsonTest, NonFiniteDoublesAreNull) {
  const json::array values{std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(), std::nan("")};
  EXPECT_EQ(SerializeJson(values), "[null,null,null]");
}

// Without doubles, the text is Boost.JSON's own, byte for byte: objects keep their order, strings
// their escapes, and nothing is added between tokens.
TEST(SerializeJsonTest, EverythingButDoublesIsWrittenAsBoostWritesIt) {
  const json::value document = json::parse(
      R"({"id":"evt_1","n":[1,-2,18446744073709551615,true,false,null],)"
      R"("text":"tab\there \"quoted\" back\\slash \u0001 caf\u00e9","empty":{},"list":[]})");
  EXPECT_EQ(SerializeJson(document), json::serialize(document));
  EXPECT_EQ(SerializeJson(json::value("\b\f\n\r\t")), json::serialize(json::value("\b\f\n\r\t")));
}

}  // namespace
}  // namespace boxoffice
