#include "common/token.hpp"

#include <cstring>
#include <stdexcept>
#include <vector>

namespace boxoffice {
namespace {

// Tokens arrive in headers from anyone; refuse absurd ones before decoding.
constexpr std::size_t kTokenMaxBytes = 2048;
// Room for a decoded MAC and then some: a longer one is not a MAC and fails to decode into it.
constexpr std::size_t kMacDecodedBytesMax = 64;
// How a format-2 token begins. A format-1 token begins with the base64url of its payload: two
// characters or more before its only '.', so never this.
constexpr std::string_view kFormat2Prefix = "2.";
constexpr std::string_view kFormat3Prefix = "3.";
// A key id is this many bytes of a hash, base64url: 8 characters.
constexpr std::size_t kKeyIdDigestBytes = 6;

}  // namespace

std::string KeyId(std::string_view secret) {
  const SecretKey digest = DeriveKey(secret, "boxoffice key id");
  return Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(digest.data()), kKeyIdDigestBytes));
}

TokenSigner::TokenSigner(const SigningSecrets& signing_secrets, std::string kind)
    : kind_(std::move(kind)) {
  const std::span<const std::string> secrets = signing_secrets.list();
  if (secrets.empty()) throw std::invalid_argument("a token signer needs a secret");
  keys_.reserve(secrets.size());
  for (const std::string& secret : secrets) {
    if (secret.empty()) throw std::invalid_argument("a token signer's secret is empty");
    std::string id = KeyId(secret);
    for (const Key& key : keys_) {
      if (key.id == id) {
        throw std::invalid_argument("two of a token signer's secrets are one: " + id);
      }
    }
    // "token-2 " cannot be "token " + a kind: the two formats' keys never coincide.
    keys_.push_back(Key{std::move(id), MacKey(DeriveKey(secret, "boxoffice token-2 " + kind_), 16),
                        MacKey(DeriveKey(secret, "boxoffice token " + kind_))});
  }
}

std::string TokenSigner::Sign(const std::vector<std::string>& fields) const {
  const Key& signing = keys_.front();
  std::string payload = kind_;
  std::string token(kFormat3Prefix);
  token += signing.id;
  token += '.';
  for (const std::string& field : fields) {
    // A token with such a field would never verify: every fan holding one would be turned away.
    if (field.find_first_of("\n.") != std::string::npos) {
      throw std::invalid_argument("token field holds a newline or '.': " + field);
    }
    payload += '\n';
    payload += field;
    token += field;
    token += '.';
  }
  return token + Base64UrlEncode(signing.key.Mac(payload));
}

std::optional<TokenFields> TokenSigner::VerifyFields(std::string_view token) const {
  if (token.size() > kTokenMaxBytes) return std::nullopt;
  if (token.starts_with(kFormat3Prefix)) {
    const std::string_view rest = token.substr(kFormat3Prefix.size());
    const std::size_t id_end = rest.find('.');
    if (id_end == std::string_view::npos) return std::nullopt;
    const std::string_view id = rest.substr(0, id_end);
    for (const Key& key : keys_) {
      if (key.id == id) return VerifyBody(key, rest.substr(id_end + 1));
    }
    return std::nullopt;  // a retired key's, or another server's
  }
  // Older formats name no key: each is tried, newest first (the oldest signed them, but a ring
  // of a few keys costs a few MACs, and only until those tokens expire).
  const bool format2 = token.starts_with(kFormat2Prefix);
  for (const Key& key : keys_) {
    std::optional<TokenFields> fields =
        format2 ? VerifyBody(key, token.substr(kFormat2Prefix.size())) : VerifyFormat1(key, token);
    if (fields) return fields;
  }
  return std::nullopt;
}

std::optional<TokenFields> TokenSigner::VerifyBody(const Key& key, std::string_view rest) const {
  // Every field ends with '.', so the MAC starts after the last one (at 0 when there is none).
  const std::size_t mac_start = rest.rfind('.') + 1;
  const std::string_view fields_text = rest.substr(0, mac_start);
  // A newline in a field would move a field boundary inside the signed payload.
  if (fields_text.find('\n') != std::string_view::npos) return std::nullopt;
  char mac[kMacDecodedBytesMax];
  const std::optional<std::size_t> mac_size = Base64UrlDecodeTo(rest.substr(mac_start), mac);
  if (!mac_size) return std::nullopt;

  // The payload is the kind, then the fields text with each '.' a newline (the last one dropped).
  TokenFields fields;
  std::string& payload = fields.payload_;
  payload.reserve(kind_.size() + fields_text.size());
  payload = kind_;
  if (!fields_text.empty()) {
    payload += '\n';
    payload.append(fields_text.substr(0, fields_text.size() - 1));
    // Through a plain pointer: a char written through the string could alias its own size.
    char* const text = payload.data();
    const std::size_t size = payload.size();
    for (std::size_t start = kind_.size() + 1;;) {
      const auto* dot = static_cast<const char*>(std::memchr(text + start, '.', size - start));
      const std::size_t end = dot == nullptr ? size : static_cast<std::size_t>(dot - text);
      if (fields.count_ == TokenFields::kFieldsMax) return std::nullopt;
      fields.offsets_[fields.count_++] = {start, end - start};
      if (end == size) break;
      text[end] = '\n';
      start = end + 1;
    }
  }
  if (!key.key.Verify(payload, std::string_view(mac, *mac_size))) return std::nullopt;
  return fields;
}

std::optional<TokenFields> TokenSigner::VerifyFormat1(const Key& key,
                                                      std::string_view token) const {
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  char mac[kMacDecodedBytesMax];
  const std::optional<std::size_t> mac_size = Base64UrlDecodeTo(token.substr(dot + 1), mac);
  if (!mac_size) return std::nullopt;
  std::optional<std::string> payload = Base64UrlDecode(token.substr(0, dot));
  if (!payload || !key.format1_key.Verify(*payload, std::string_view(mac, *mac_size))) {
    return std::nullopt;
  }

  // The first field is the kind; the caller sees the ones after it.
  const std::string_view text = *payload;
  const std::size_t kind_end = text.find('\n');
  if (text.substr(0, kind_end) != kind_) return std::nullopt;
  TokenFields fields;
  std::size_t start = kind_end;
  while (start != std::string_view::npos) {
    ++start;
    const std::size_t end = text.find('\n', start);
    if (fields.count_ == TokenFields::kFieldsMax) return std::nullopt;
    fields.offsets_[fields.count_++] = {
        start, (end == std::string_view::npos ? text.size() : end) - start};
    start = end;
  }
  fields.payload_ = std::move(*payload);
  return fields;
}

std::optional<std::vector<std::string>> TokenSigner::Verify(std::string_view token) const {
  std::optional<TokenFields> fields = VerifyFields(token);
  if (!fields) return std::nullopt;
  std::vector<std::string> parts;
  parts.reserve(fields->size());
  for (std::size_t i = 0; i < fields->size(); ++i) parts.emplace_back((*fields)[i]);
  return parts;
}

}  // namespace boxoffice
