#include "common/listen_address.hpp"

#include <charconv>

namespace boxoffice {

Result<std::pair<std::string, std::uint16_t>> ParseListen(const std::string& listen) {
  const Error invalid =
      Error::Make(ErrorKind::kUnprocessable, "invalid_listen",
                  "--listen must be host:port or [ipv6]:port, not '" + listen + "'.");
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return invalid;
  std::string host = listen.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return invalid;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return invalid;  // a bare IPv6 address needs brackets
  }
  unsigned port = 0;
  const char* begin = listen.data() + colon + 1;
  const char* end = listen.data() + listen.size();
  const auto [parsed_end, error] = std::from_chars(begin, end, port);
  if (begin == end || error != std::errc() || parsed_end != end || port > 65535) return invalid;
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

}  // namespace boxoffice
