#include "tickets/ticket_code.hpp"

#include <sodium.h>

#include <utility>

#include "common/crypto.hpp"

namespace boxoffice {
namespace {

constexpr std::size_t kSignatureBytes = crypto_sign_BYTES;
constexpr std::string_view kSeedContext = "boxoffice ticket signing key v1:";

Error InvalidTicket(std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, "invalid_ticket", std::move(message));
}

bool AppendField(std::string& out, std::string_view field) {
  if (field.size() > kTicketFieldMaxBytes) return false;
  out.push_back(static_cast<char>(field.size()));
  out.append(field);
  return true;
}

// Reads one length-prefixed field at `at`; false when the payload is too short.
bool ReadField(std::string_view payload, std::size_t& at, std::string& field) {
  if (at >= payload.size()) return false;
  const std::size_t size = static_cast<unsigned char>(payload[at]);
  ++at;
  if (payload.size() - at < size) return false;
  field.assign(payload.substr(at, size));
  at += size;
  return true;
}

}  // namespace

TicketSigner::TicketSigner(std::string server_secret) : server_secret_(std::move(server_secret)) {}

const TicketSigner::KeyPair& TicketSigner::KeysFor(const std::string& event_id) const {
  std::lock_guard lock(mutex_);
  if (const auto found = keys_.find(event_id); found != keys_.end()) return found->second;
  const SecretKey seed = DeriveKey(server_secret_, std::string(kSeedContext) + event_id);
  KeyPair pair{};
  crypto_sign_seed_keypair(pair.public_key.data(), pair.secret_key.data(), seed.data());
  return keys_.emplace(event_id, pair).first->second;
}

std::string TicketSigner::PublicKey(const std::string& event_id) const {
  const KeyPair& pair = KeysFor(event_id);
  return std::string(reinterpret_cast<const char*>(pair.public_key.data()), pair.public_key.size());
}

std::string TicketSigner::PublicKeyBase64(const std::string& event_id) const {
  return Base64UrlEncode(PublicKey(event_id));
}

Result<std::string> TicketSigner::Sign(const TicketClaims& claims) const {
  std::string payload(1, static_cast<char>(kTicketCodeVersion));
  if (!AppendField(payload, claims.event_id) || !AppendField(payload, claims.ticket_id) ||
      !AppendField(payload, claims.seat_id) || !AppendField(payload, claims.order_id)) {
    return Error::Make(ErrorKind::kUnprocessable, "validation_failed",
                       "A ticket field is too long to sign.");
  }
  const KeyPair& pair = KeysFor(claims.event_id);
  unsigned char signature[kSignatureBytes];
  crypto_sign_detached(signature, nullptr, reinterpret_cast<const unsigned char*>(payload.data()),
                       payload.size(), pair.secret_key.data());
  payload.append(reinterpret_cast<const char*>(signature), kSignatureBytes);
  return Base64UrlEncode(payload);
}

Result<TicketClaims> VerifyTicketCode(std::string_view code, std::string_view public_key) {
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES) {
    return InvalidTicket("The event's ticket key is unusable.");
  }
  // A code is a few hundred characters at most; anything longer is not one.
  if (code.empty() || code.size() > 2'048) return InvalidTicket("This is not a ticket code.");
  const std::optional<std::string> raw = Base64UrlDecode(code);
  if (!raw || raw->size() < 1 + kSignatureBytes) return InvalidTicket("This is not a ticket code.");
  const std::string_view payload(raw->data(), raw->size() - kSignatureBytes);
  const auto* signature =
      reinterpret_cast<const unsigned char*>(raw->data() + raw->size() - kSignatureBytes);
  if (crypto_sign_verify_detached(signature, reinterpret_cast<const unsigned char*>(payload.data()),
                                  payload.size(),
                                  reinterpret_cast<const unsigned char*>(public_key.data())) != 0) {
    return InvalidTicket("The ticket's signature is not valid for this event.");
  }
  if (static_cast<unsigned char>(payload[0]) != kTicketCodeVersion) {
    return InvalidTicket("The ticket code's version is not known.");
  }
  TicketClaims claims;
  std::size_t at = 1;
  if (!ReadField(payload, at, claims.event_id) || !ReadField(payload, at, claims.ticket_id) ||
      !ReadField(payload, at, claims.seat_id) || !ReadField(payload, at, claims.order_id) ||
      at != payload.size()) {
    return InvalidTicket("The ticket code is malformed.");
  }
  return claims;
}

}  // namespace boxoffice
