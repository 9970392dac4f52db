#include "common/listen_address.hpp"

#include <gtest/gtest.h>

namespace boxoffice {
namespace {

// Listen addresses: host:port and [v6]:port; anything else is a clear error.
TEST(ListenAddressTest, ParsesHostPortAndBracketedV6) {
  EXPECT_EQ(ParseListen("127.0.0.1:8080")->second, 8080);
  EXPECT_EQ(ParseListen("[::1]:0")->first, "::1");
  EXPECT_EQ(ParseListen("localhost:9")->first, "localhost");
  for (const char* bad : {"8080", ":8080", "::1:80", "host:", "host:65536", "host:8o", "[::1:80"}) {
    Result<std::pair<std::string, std::uint16_t>> parsed = ParseListen(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, "invalid_listen");
  }
}

}  // namespace
}  // namespace boxoffice
