// The cryptography boxoffice needs, on libsodium: random ids and keys, URL-safe base64, keyed
// MACs for the tokens it hands out, constant-time comparison for secrets, and Argon2id password
// hashing. `InitCrypto()` must run once before any of it (main and the test main do).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace boxoffice {

// Aborts the process when libsodium cannot initialise: nothing is safe without it.
void InitCrypto();

std::string RandomBytes(std::size_t count);
// `count` random characters from [a-z0-9], for ids such as "evt_k3j9...".
std::string RandomToken(std::size_t count);
std::uint64_t RandomUint64();

// For the deterministic simulation only (tools/sim_world.hpp): from now on RandomBytes,
// RandomToken and RandomUint64 draw from a ChaCha20 stream keyed by `seed`, so that one seed
// mints the same ids and tokens on every run. Never call it in a server: its ids and secrets
// would be predictable. UseSystemRandomness() goes back to the operating system's.
void UseDeterministicRandomness(std::uint64_t seed);
void UseSystemRandomness();

std::string Base64UrlEncode(std::string_view bytes);
// Standard base64 with padding (RFC 4648 section 4), as HTTP basic authentication writes it.
std::string Base64StandardEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);
// Decodes into `out`; nullopt when `text` is not base64url or does not fit.
std::optional<std::size_t> Base64UrlDecodeTo(std::string_view text, std::span<char> out);
std::string HexEncode(std::string_view bytes);
std::optional<std::string> HexDecode(std::string_view text);

// A 32-byte key for MACs.
using SecretKey = std::array<unsigned char, 32>;

// Derives a key from arbitrary secret material (BLAKE2b), with a context so that one server
// secret yields independent keys for sessions, queue tickets and access tokens.
SecretKey DeriveKey(std::string_view secret_material, std::string_view context);

// HMAC-SHA-512-256 (libsodium crypto_auth): 32 bytes.
std::string Mac(const SecretKey& key, std::string_view message);
bool MacVerify(const SecretKey& key, std::string_view message, std::string_view mac);

// A MAC key for tokens, which are checked on every request: keyed BLAKE2b (libsodium's
// crypto_generichash with the key), a PRF like HMAC and several times cheaper here, since
// libsodium's BLAKE2b uses the CPU's vector units and its SHA-512 is portable C. A status poll
// checks two tokens, and HMAC-SHA-512-256 was a third of its CPU time.
//
// The MAC is `mac_bytes` long, 16 or 32: BLAKE2b-128 or BLAKE2b-256, the length being one of the
// hash's parameters (so not a truncation). A 32-byte key's Verify() also accepts
// HMAC-SHA-512-256 under the same key (Mac() above), the MAC of tokens signed by builds before
// BLAKE2b, so an upgrade mid-sale keeps every fan's session and place; only a MAC that fails
// BLAKE2b pays for the second check.
class MacKey {
 public:
  explicit MacKey(const SecretKey& key, std::size_t mac_bytes = 32);
  std::string Mac(std::string_view message) const;
  // Constant-time in the MAC's bytes.
  bool Verify(std::string_view message, std::string_view mac) const;

 private:
  // libsodium's crypto_generichash_state after init with the key; kept opaque so that this
  // header does not need sodium.h (crypto.cpp checks the size, and copies it into an aligned
  // state before use, so this member needs no alignment).
  std::array<unsigned char, 384> state_;
  SecretKey key_;  // for the HMAC of older tokens
  std::size_t mac_bytes_;
};

// Compares two secrets in time independent of where they differ (and of their lengths' match).
bool SecretsEqual(std::string_view a, std::string_view b);

// Equal lengths and bytes, in time independent of where the bytes differ (not of the lengths).
bool EqualConstantTime(std::string_view a, std::string_view b);

std::string Sha256Hex(std::string_view bytes);

// Argon2id, parameters from OWASP's recommendation (t=2, m=19 MiB, p=1).
std::optional<std::string> HashPassword(std::string_view password);
bool VerifyPassword(std::string_view password, const std::string& hash);

}  // namespace boxoffice
