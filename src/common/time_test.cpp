#include "common/time.hpp"

#include <gtest/gtest.h>

namespace boxoffice {
namespace {

// UTC, fractional seconds and offsets all land on the same instant.
TEST(TimeTest, ParsesRfc3339Forms) {
  const auto utc = ParseRfc3339("2027-05-01T19:00:00Z");
  ASSERT_TRUE(utc);
  EXPECT_EQ(ToUnixSeconds(*utc), 1809198000);
  EXPECT_EQ(ParseRfc3339("2027-05-01T21:00:00+02:00"), utc);
  EXPECT_EQ(ParseRfc3339("2027-05-01t19:00:00z"), utc);
  const auto fractional = ParseRfc3339("2027-05-01T19:00:00.250Z");
  ASSERT_TRUE(fractional);
  EXPECT_EQ(ToUnixMillis(*fractional), 1809198000250);
}

// Anything that is not a whole RFC 3339 time is refused.
TEST(TimeTest, RejectsMalformedTimes) {
  for (const char* text : {"", "2027-05-01", "2027-05-01T19:00:00", "2027-13-01T00:00:00Z",
                           "2027-02-30T00:00:00Z", "2027-05-01T24:00:00Z", "2027-05-01T19:00:00Zx",
                           "2027-05-01T19:00:00.Z", "2027-05-01 19:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339(text)) << text;
  }
  EXPECT_TRUE(ParseRfc3339("2028-02-29T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2027-02-29T00:00:00Z"));
}

// Times a TimePoint cannot hold (it counts nanoseconds in 64 bits, 1677 to 2262) are refused,
// never wrapped round to another instant; so are those before 1970. The bounds themselves hold.
TEST(TimeTest, RefusesTimesOutsideTheBounds) {
  for (const char* text :
       {"0000-01-01T00:00:00Z", "1500-06-01T00:00:00Z", "1677-09-21T00:12:44Z",
        "1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00", "2262-01-01T00:00:00Z",
        "2261-12-31T23:00:00-01:00", "2262-04-12T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    EXPECT_FALSE(ParseRfc3339(text)) << text;
  }
  const auto earliest = ParseRfc3339(kEarliestTimeText);
  ASSERT_TRUE(earliest);
  EXPECT_EQ(ToUnixSeconds(*earliest), kEarliestUnixSeconds);
  const auto latest = ParseRfc3339("2261-12-31T23:59:59.999999Z");
  ASSERT_TRUE(latest);
  EXPECT_EQ(ToUnixSeconds(*latest), kEndUnixSeconds - 1);
  EXPECT_EQ(FormatRfc3339(*latest), kLatestTimeText) << "the latest time formats as itself";
}

// Formatting is whole seconds in UTC, and parses back.
TEST(TimeTest, FormatRoundTrips) {
  const TimePoint time = FromUnixMillis(1809198000999);
  EXPECT_EQ(FormatRfc3339(time), "2027-05-01T19:00:00Z");
  EXPECT_EQ(FormatRfc3339Millis(time), "2027-05-01T19:00:00.999Z");
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(time)), FromUnixMillis(1809198000000));
}

}  // namespace
}  // namespace boxoffice
