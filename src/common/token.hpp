// Signed, self-contained tokens (session tokens, queue tickets, access tokens): the holder
// carries the state and the server keeps only its key, so a token stays valid across restarts
// and costs no lookup. Format: base64url(payload) "." base64url(MAC(payload)), where the payload is
// the token's kind and its fields separated by newlines. The MAC key is derived per kind, so a
// token of one kind never verifies as another.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.hpp"

namespace boxoffice {

class TokenSigner {
 public:
  TokenSigner(std::string_view server_secret, std::string kind);

  // Fields must not contain '\n' (asserted; callers pass ids and numbers).
  std::string Sign(const std::vector<std::string>& fields) const;
  // The fields when the token is authentic and of this kind; nullopt otherwise.
  std::optional<std::vector<std::string>> Verify(std::string_view token) const;

 private:
  SecretKey key_;
  std::string kind_;
};

}  // namespace boxoffice
