#include "common/mail_address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace boxoffice {
namespace {

// Plain addresses pass, whatever their local part's punctuation and however deep the domain.
TEST(MailAddressTest, PlainAddressesPass) {
  for (const char* address : {"fan@example.com", "fan+tag@example.co.uk", "o'brien@x.io",
                              "a.b-c_d@sub.example.org", "a@b"}) {
    EXPECT_TRUE(IsPlainMailAddress(address)) << address;
  }
  EXPECT_TRUE(IsPlainMailAddress(std::string(kMailAddressBytesMax - 6, 'a') + "@b.cde"));
}

// Line breaks (a header smuggled in), display names, lists, spaces, quotes and non-ASCII fail:
// issue 17's addresses among them.
TEST(MailAddressTest, AnythingButOnePlainAddressFails) {
  for (const char* address :
       {"fan@example.com\r\nBcc: x@y", "fan@example.com\nBcc: x@y", "fan@example.com\r",
        "\"x\" <a@b>, c@d", "\"x\"<a@b.com>", "Fan <fan@example.com>", "<fan@example.com>",
        "fan@example.com, other@example.com", "fan @example.com", "fan@example.com\t",
        "f\xc3\xa4n@example.com", "", "fan", "@example.com", "fan@", "a@b@c",
        "a(comment)@example.com", "a;b@example.com", "[a]@example.com"}) {
    EXPECT_FALSE(IsPlainMailAddress(address)) << address;
  }
  EXPECT_FALSE(IsPlainMailAddress(std::string(kMailAddressBytesMax - 5, 'a') + "@b.cde"));
  EXPECT_FALSE(IsPlainMailAddress(std::string_view("fan\0@example.com", 16)));
}

}  // namespace
}  // namespace boxoffice
