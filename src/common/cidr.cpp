#include "common/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/text.hpp"

namespace boxoffice {
namespace {

constexpr std::size_t kAddressTextMaxBytes = INET6_ADDRSTRLEN;  // with zone and brackets stripped
constexpr int kV4MappedPrefixBits = 96;
constexpr std::uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

Error InvalidCidr(std::string_view text, std::string_view why) {
  boost::json::object details;
  details["cidr"] = text;
  // Appended piecewise: GCC 12 misreports chained operator+ on strings (-Wrestrict).
  std::string message = "\"";
  message.append(text);
  message.append("\" is not a CIDR range: ");
  message.append(why);
  message.append(".");
  return Error::Make(ErrorKind::kMalformed, "invalid_cidr", std::move(message), std::move(details));
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (const auto zone = text.find('%'); zone != std::string_view::npos) text = text.substr(0, zone);
  if (text.empty() || text.size() >= kAddressTextMaxBytes) return std::nullopt;
  // inet_pton wants a terminated string; the stack copy keeps parsing allocation-free.
  char buffer[kAddressTextMaxBytes];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';

  IpAddress address;
  if (text.find(':') == std::string_view::npos) {
    std::uint8_t v4[4];
    if (inet_pton(AF_INET, buffer, v4) != 1) return std::nullopt;
    std::memcpy(address.bytes_.data(), kV4MappedPrefix, sizeof(kV4MappedPrefix));
    std::memcpy(address.bytes_.data() + 12, v4, sizeof(v4));
    return address;
  }
  if (inet_pton(AF_INET6, buffer, address.bytes_.data()) != 1) return std::nullopt;
  return address;
}

bool IpAddress::IsV4() const {
  return std::memcmp(bytes_.data(), kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN];
  const bool ok = IsV4() ? inet_ntop(AF_INET, bytes_.data() + 12, buffer, sizeof(buffer))
                         : inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof(buffer));
  return ok ? std::string(buffer) : std::string();
}

Result<Cidr> Cidr::Parse(std::string_view text) {
  const std::string_view original = text;
  text = TrimBlanks(text);
  std::string_view address_text = text;
  std::optional<int> prefix;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    address_text = text.substr(0, slash);
    const std::string_view digits = text.substr(slash + 1);
    int value = -1;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
      return InvalidCidr(original, "the prefix length is not a number");
    }
    prefix = value;
  }
  // Zones and brackets make no sense in a range; accept only plain address text.
  if (address_text.find_first_of("%[]") != std::string_view::npos) {
    return InvalidCidr(original, "the address is not an IP address");
  }
  const auto address = IpAddress::Parse(address_text);
  if (!address) return InvalidCidr(original, "the address is not an IP address");

  const bool v4_text = address_text.find(':') == std::string_view::npos;
  const int family_bits = v4_text ? 32 : 128;
  const int bits = prefix.value_or(family_bits);
  if (bits < 0 || bits > family_bits) {
    return InvalidCidr(original, "the prefix length is out of range");
  }
  Cidr cidr;
  cidr.prefix_bits_ = v4_text ? bits + kV4MappedPrefixBits : bits;
  cidr.network_ = *address;
  auto& bytes = cidr.network_.bytes_;
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(cidr.prefix_bits_ - i * 8, 0, 8);
    bytes[i] &= static_cast<std::uint8_t>(0xff00 >> keep);
  }
  return cidr;
}

bool Cidr::Contains(const IpAddress& address) const {
  const auto& network = network_.bytes();
  const auto& candidate = address.bytes();
  const int whole_bytes = prefix_bits_ / 8;
  if (std::memcmp(network.data(), candidate.data(), static_cast<std::size_t>(whole_bytes)) != 0) {
    return false;
  }
  const int rest_bits = prefix_bits_ % 8;
  if (rest_bits == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff00 >> rest_bits);
  return (network[whole_bytes] & mask) == (candidate[whole_bytes] & mask);
}

std::string Cidr::ToString() const {
  const bool v4 = network_.IsV4() && prefix_bits_ >= kV4MappedPrefixBits;
  return network_.ToString() + "/" +
         std::to_string(v4 ? prefix_bits_ - kV4MappedPrefixBits : prefix_bits_);
}

Result<CidrList> CidrList::Parse(std::string_view comma_separated) {
  CidrList list;
  while (!comma_separated.empty()) {
    const auto comma = comma_separated.find(',');
    const std::string_view item = TrimBlanks(comma_separated.substr(0, comma));
    comma_separated =
        comma == std::string_view::npos ? std::string_view() : comma_separated.substr(comma + 1);
    if (item.empty()) continue;
    auto cidr = Cidr::Parse(item);
    if (!cidr) return std::move(cidr).error();
    list.ranges_.push_back(*cidr);
  }
  return list;
}

Result<CidrList> CidrList::Parse(const std::vector<std::string>& items) {
  CidrList list;
  for (const auto& item : items) {
    auto parsed = Parse(std::string_view(item));
    if (!parsed) return std::move(parsed).error();
    for (const auto& cidr : parsed->ranges_) list.ranges_.push_back(cidr);
  }
  return list;
}

bool CidrList::Contains(const IpAddress& address) const {
  for (const auto& range : ranges_) {
    if (range.Contains(address)) return true;
  }
  return false;
}

bool CidrList::Contains(std::string_view address) const {
  const auto parsed = IpAddress::Parse(address);
  return parsed && Contains(*parsed);
}

}  // namespace boxoffice
