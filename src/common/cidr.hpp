// IP addresses and CIDR ranges for the trusted-proxy list and the defence block and allow
// lists. IPv4 is held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) so that one 128-bit
// comparison serves both families and a dual-stack socket's "::ffff:10.0.0.1" is inside
// "10.0.0.0/8". Parsing is strict: a malformed entry is an `Error` (kMalformed, "invalid_cidr"),
// so configuration can name it instead of silently trusting nothing or everything.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace boxoffice {

class IpAddress {
 public:
  // Dotted-quad IPv4 or IPv6 text; an IPv6 zone ("%eth0") and surrounding brackets are ignored.
  static std::optional<IpAddress> Parse(std::string_view text);

  bool IsV4() const;
  // Canonical text: dotted quad for IPv4 (also when it arrived IPv4-mapped), RFC 5952 for IPv6.
  std::string ToString() const;
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }

  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  friend class Cidr;  // masks host bits in place
  std::array<std::uint8_t, 16> bytes_{};
};

class Cidr {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a bare address meaning a single host (/32 or /128). Host
  // bits below the prefix are cleared, as Go's net.ParseCIDR does ("10.1.2.3/8" is 10.0.0.0/8).
  static Result<Cidr> Parse(std::string_view text);

  bool Contains(const IpAddress& address) const;
  std::string ToString() const;

 private:
  IpAddress network_;
  int prefix_bits_ = 128;  // counted in the 128-bit mapped space
};

class CidrList {
 public:
  // Comma-separated ranges, e.g. "10.0.0.0/8, ::1/128"; blanks around entries and empty entries
  // are skipped, so "" is the empty list.
  static Result<CidrList> Parse(std::string_view comma_separated);
  // Each item may itself be comma-separated (one flag per entry, or one flag for all).
  static Result<CidrList> Parse(const std::vector<std::string>& items);

  bool Contains(const IpAddress& address) const;
  // False for text that is not an address.
  bool Contains(std::string_view address) const;
  bool empty() const { return ranges_.empty(); }
  const std::vector<Cidr>& ranges() const { return ranges_; }

 private:
  std::vector<Cidr> ranges_;
};

}  // namespace boxoffice
