// Signed ticket codes: what a fan's QR code holds and what a scanner checks at the door.
//
// Each event has its own Ed25519 key pair, derived from the server secret and the event id
// (BLAKE2b of both is the seed of crypto_sign_seed_keypair): nothing to store, the same keys
// after a restart, and one event's key cannot sign another event's tickets. The public key is
// published in GET /v1/events/{id}, so a scanner can verify a code offline.
//
// A code is base64url(payload || signature). The payload is compact and versioned:
//   byte 0       version (1)
//   then 4 times a length byte and that many bytes: event id, ticket id, seat id, order id
// and the signature (64 bytes) covers the whole payload.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace boxoffice {

inline constexpr unsigned char kTicketCodeVersion = 1;
// Each field of the payload is at most this long (its length is one byte).
inline constexpr std::size_t kTicketFieldMaxBytes = 255;

struct TicketClaims {
  std::string event_id;
  std::string ticket_id;
  std::string seat_id;
  std::string order_id;
  friend bool operator==(const TicketClaims&, const TicketClaims&) = default;
};

class TicketSigner {
 public:
  explicit TicketSigner(std::string server_secret);

  // The event's public key, raw (32 bytes).
  std::string PublicKey(const std::string& event_id) const;
  // The same, base64url, as GET /v1/events/{id} shows it.
  std::string PublicKeyBase64(const std::string& event_id) const;
  // The code for a ticket. kUnprocessable when a field is longer than kTicketFieldMaxBytes.
  Result<std::string> Sign(const TicketClaims& claims) const;

 private:
  struct KeyPair {
    std::array<unsigned char, 32> public_key;
    std::array<unsigned char, 64> secret_key;
  };
  const KeyPair& KeysFor(const std::string& event_id) const;

  const std::string server_secret_;
  mutable std::mutex mutex_;
  // Derivation costs a few microseconds; events are few, so every pair is kept.
  mutable std::map<std::string, KeyPair, std::less<>> keys_;
};

// Checks a code against an event's raw public key, with nothing but the key: 422 invalid_ticket
// for anything that is not a well-formed code signed by that key.
Result<TicketClaims> VerifyTicketCode(std::string_view code, std::string_view public_key);

}  // namespace boxoffice
