// Signed, self-contained tokens (session tokens, queue tickets, access tokens, minted operator
// keys): the holder carries the state and the server keeps only its keys, so a token stays valid
// across restarts and costs no lookup. Format 3: "3.", the signing key's id and ".", then the
// fields, each followed by ".", then base64url(MAC(payload)), where the payload is the token's
// kind and its fields separated by newlines and the MAC is keyed BLAKE2b-128. The MAC key is
// derived per kind from one server secret, so a token of one kind never verifies as another.
//
// A signer holds several secrets, newest first (docs/security.md, "Rotating keys"): it signs with
// the first and verifies with any, so a rotation logs nobody out, and a retired secret's tokens
// stop verifying. The key id in a token (KeyId) picks the one secret to try.
//
// Older formats still verify, under any of the secrets, so an upgrade in the middle of a sale
// keeps every fan's session and place: format 2 is format 3 without the key id ("2." then the
// fields and the MAC); before it, base64url(payload) "." base64url(MAC(payload)) with a 32-byte
// MAC (MacKey). Format 2 carried the fields as they are and a 16-byte MAC, which spared every
// request decoding two tokens and made each 40% shorter.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/crypto.hpp"

namespace boxoffice {

// The fields of a verified token: views into its decoded payload, which this object holds, so a
// check on every request copies no field.
class TokenFields {
 public:
  static constexpr std::size_t kFieldsMax = 8;  // a token with more does not verify

  std::size_t size() const { return count_; }
  std::string_view operator[](std::size_t index) const {
    return std::string_view(payload_).substr(offsets_[index].first, offsets_[index].second);
  }

 private:
  friend class TokenSigner;
  std::string payload_;
  std::array<std::pair<std::size_t, std::size_t>, kFieldsMax> offsets_{};  // start, length
  std::size_t count_ = 0;
};

// A secret's id: 8 base64url characters of a hash of it. Derived, not assigned, so that nodes
// given the same secrets agree on the ids with nothing stored; it reveals nothing of the secret.
std::string KeyId(std::string_view secret);

// The server's secrets as whatever signs with them takes them: newest first, the first signing and
// every one verifying. One secret converts to a list of one.
class SigningSecrets {
 public:
  SigningSecrets(const char* secret) : list_{std::string(secret)} {}       // NOLINT: implicit
  SigningSecrets(std::string_view secret) : list_{std::string(secret)} {}  // NOLINT
  SigningSecrets(const std::string& secret) : list_{secret} {}             // NOLINT
  SigningSecrets(std::vector<std::string> secrets) : list_(std::move(secrets)) {}  // NOLINT

  std::span<const std::string> list() const { return list_; }

 private:
  std::vector<std::string> list_;
};

class TokenSigner {
 public:
  // At least one secret, none empty, no two with the same id (std::invalid_argument).
  TokenSigner(const SigningSecrets& secrets, std::string kind);

  // Fields must not contain '\n' or '.' (std::invalid_argument; callers pass ids and numbers).
  std::string Sign(const std::vector<std::string>& fields) const;
  // The fields when the token is authentic and of this kind; nullopt otherwise.
  std::optional<std::vector<std::string>> Verify(std::string_view token) const;
  // The same check, for hot paths: the fields as views.
  std::optional<TokenFields> VerifyFields(std::string_view token) const;

 private:
  struct Key {
    std::string id;      // KeyId of the secret
    MacKey key;          // formats 2 and 3
    MacKey format1_key;  // format 1
  };
  // `token` past its format prefix: fields and MAC, as formats 2 and 3 write them.
  std::optional<TokenFields> VerifyBody(const Key& key, std::string_view body) const;
  // Tokens signed before format 2 (see the top of this file).
  std::optional<TokenFields> VerifyFormat1(const Key& key, std::string_view token) const;

  std::vector<Key> keys_;  // newest first; the first signs
  std::string kind_;
};

}  // namespace boxoffice
