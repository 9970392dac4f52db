// The one If-None-Match rule every cacheable answer uses (static files, events, seats).
#include "http/message.hpp"

#include <gtest/gtest.h>

namespace boxoffice::http {
namespace {

TEST(EtagListTest, NamesATagAmongOthersWithOrWithoutBlanks) {
  EXPECT_TRUE(EtagListNames("\"abc\"", "\"abc\""));
  EXPECT_TRUE(EtagListNames("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(EtagListNames("\"x\" ,\t\"abc\" ", "\"abc\""));
  EXPECT_FALSE(EtagListNames("\"x\", \"abcd\"", "\"abc\""));
  EXPECT_FALSE(EtagListNames("", "\"abc\""));
  EXPECT_FALSE(EtagListNames(",,", "\"abc\""));
}

TEST(EtagListTest, WeakTagsMatchTheirStrongFormAndStarMatchesAnything) {
  EXPECT_TRUE(EtagListNames("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(EtagListNames("*", "\"abc\""));
  // The quotes are part of the tag: a bare value is another tag.
  EXPECT_FALSE(EtagListNames("abc", "\"abc\""));
  EXPECT_FALSE(EtagListNames("W/abc", "\"abc\""));
}

TEST(EtagListTest, RequestReadsTheHeaderOrAnswersNo) {
  Request with_tag;
  with_tag.headers.emplace_back("if-none-match", "W/\"abc\"");
  EXPECT_TRUE(with_tag.IfNoneMatch("\"abc\""));
  EXPECT_FALSE(with_tag.IfNoneMatch("\"abd\""));
  EXPECT_FALSE(Request().IfNoneMatch("\"abc\""));
}

}  // namespace
}  // namespace boxoffice::http
