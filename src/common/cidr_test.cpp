#include "common/cidr.hpp"

#include <gtest/gtest.h>

namespace boxoffice {
namespace {

CidrList MustParse(std::string_view text) {
  auto list = CidrList::Parse(text);
  EXPECT_TRUE(list.ok()) << text;
  return list.ok() ? std::move(list).value() : CidrList();
}

// Addresses parse in both families and print canonically; IPv4-mapped IPv6 prints as IPv4.
TEST(IpAddressTest, ParsesAndPrintsCanonically) {
  EXPECT_EQ(IpAddress::Parse("10.1.2.3")->ToString(), "10.1.2.3");
  EXPECT_EQ(IpAddress::Parse("::ffff:10.1.2.3")->ToString(), "10.1.2.3");
  EXPECT_EQ(IpAddress::Parse("::ffff:10.1.2.3"), IpAddress::Parse("10.1.2.3"));
  EXPECT_EQ(IpAddress::Parse("2001:DB8:0:0:0:0:0:1")->ToString(), "2001:db8::1");
  EXPECT_EQ(IpAddress::Parse("[::1]")->ToString(), "::1");
  EXPECT_EQ(IpAddress::Parse("fe80::1%eth0")->ToString(), "fe80::1");
  EXPECT_TRUE(IpAddress::Parse("10.1.2.3")->IsV4());
  EXPECT_FALSE(IpAddress::Parse("::1")->IsV4());
}

// Anything that is not exactly an address is refused, not guessed at.
TEST(IpAddressTest, RejectsNonAddresses) {
  for (const char* text : {"", "10.0.0", "10.0.0.256", "010.0.0.1", "1.2.3.4:80", "::g",
                           "example.com", " 10.0.0.1", "1:2:3:4:5:6:7:8:9"}) {
    EXPECT_FALSE(IpAddress::Parse(text).has_value()) << text;
  }
  EXPECT_FALSE(IpAddress::Parse(std::string(200, '1')).has_value());
}

// IPv4 ranges contain exactly the addresses under their prefix, also in IPv4-mapped form.
TEST(CidrTest, IPv4Containment) {
  const auto list = MustParse("10.0.0.0/8,192.168.1.0/24,172.16.0.0/12");
  EXPECT_TRUE(list.Contains("10.0.0.0"));
  EXPECT_TRUE(list.Contains("10.255.255.255"));
  EXPECT_FALSE(list.Contains("11.0.0.0"));
  EXPECT_TRUE(list.Contains("192.168.1.77"));
  EXPECT_FALSE(list.Contains("192.168.2.1"));
  EXPECT_TRUE(list.Contains("172.31.255.255"));  // /12 splits inside the second byte
  EXPECT_FALSE(list.Contains("172.32.0.0"));
  EXPECT_TRUE(list.Contains("::ffff:10.9.9.9"));
  EXPECT_FALSE(list.Contains("::a00:1"));  // IPv4-compatible, not mapped: another address
  EXPECT_FALSE(list.Contains("not an address"));
}

// IPv6 ranges work on 128 bits and do not leak into IPv4.
TEST(CidrTest, IPv6Containment) {
  const auto list = MustParse("::1/128, 2001:db8::/33");
  EXPECT_TRUE(list.Contains("::1"));
  EXPECT_FALSE(list.Contains("::2"));
  EXPECT_TRUE(list.Contains("2001:db8:7fff::1"));
  EXPECT_FALSE(list.Contains("2001:db8:8000::1"));
  EXPECT_FALSE(list.Contains("127.0.0.1"));
}

// A bare address is a single host; /0 is everything of its family.
TEST(CidrTest, HostsAndWholeFamilies) {
  const auto hosts = MustParse("127.0.0.1, ::1");
  EXPECT_TRUE(hosts.Contains("127.0.0.1"));
  EXPECT_FALSE(hosts.Contains("127.0.0.2"));
  EXPECT_TRUE(hosts.Contains("::1"));
  const auto all_v4 = MustParse("0.0.0.0/0");
  EXPECT_TRUE(all_v4.Contains("203.0.113.9"));
  EXPECT_FALSE(all_v4.Contains("2001:db8::1"));
  EXPECT_TRUE(MustParse("::/0").Contains("2001:db8::1"));
}

// Host bits are cleared and ranges print back canonically.
TEST(CidrTest, MasksHostBitsAndPrints) {
  EXPECT_EQ(Cidr::Parse("10.1.2.3/8")->ToString(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::Parse("2001:db8::ffff/32")->ToString(), "2001:db8::/32");
  EXPECT_EQ(Cidr::Parse(" 192.168.1.1 ")->ToString(), "192.168.1.1/32");
  EXPECT_EQ(Cidr::Parse("0.0.0.0/0")->ToString(), "0.0.0.0/0");
}

// Blank and empty entries are skipped; the empty text is the empty list.
TEST(CidrTest, EmptyEntriesAreSkipped) {
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse(" , ,").empty());
  EXPECT_EQ(MustParse("10.0.0.0/8,,::1 ,").ranges().size(), 2u);
  auto from_items = CidrList::Parse(std::vector<std::string>{"10.0.0.0/8,::1", "192.0.2.0/24"});
  ASSERT_TRUE(from_items.ok());
  EXPECT_EQ(from_items->ranges().size(), 3u);
}

// Malformed ranges are a kMalformed "invalid_cidr" error naming the entry, for config to report.
TEST(CidrTest, InvalidRangesAreErrors) {
  for (const char* text :
       {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "10.0.0.0/8/8",
        "10.0.0/8", "[::1]/128", "fe80::1%eth0/64", "host/8", "10.0.0.0/+8"}) {
    const auto parsed = CidrList::Parse(std::string("192.0.2.0/24,") + text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kMalformed);
    EXPECT_EQ(parsed.error().code, "invalid_cidr");
    EXPECT_EQ(parsed.error().details.at("cidr").as_string(), text);
  }
  EXPECT_FALSE(CidrList::Parse(std::vector<std::string>{"::1", "nope"}).ok());
}

}  // namespace
}  // namespace boxoffice
