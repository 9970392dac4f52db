#include "common/token.hpp"

#include <cassert>

namespace boxoffice {
namespace {

// Tokens arrive in headers from anyone; refuse absurd ones before decoding.
constexpr std::size_t kTokenMaxBytes = 2048;

}  // namespace

TokenSigner::TokenSigner(std::string_view server_secret, std::string kind)
    : key_(DeriveKey(server_secret, "boxoffice token " + kind)), kind_(std::move(kind)) {}

std::string TokenSigner::Sign(const std::vector<std::string>& fields) const {
  std::string payload = kind_;
  for (const std::string& field : fields) {
    assert(field.find('\n') == std::string::npos);
    payload += '\n';
    payload += field;
  }
  return Base64UrlEncode(payload) + "." + Base64UrlEncode(Mac(key_, payload));
}

std::optional<std::vector<std::string>> TokenSigner::Verify(std::string_view token) const {
  if (token.size() > kTokenMaxBytes) return std::nullopt;
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::optional<std::string> payload = Base64UrlDecode(token.substr(0, dot));
  std::optional<std::string> mac = Base64UrlDecode(token.substr(dot + 1));
  if (!payload || !mac || !MacVerify(key_, *payload, *mac)) return std::nullopt;

  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = payload->find('\n', start);
    parts.push_back(payload->substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (parts.front() != kind_) return std::nullopt;
  parts.erase(parts.begin());
  return parts;
}

}  // namespace boxoffice
