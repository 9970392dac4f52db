#include "common/crypto.hpp"

#include <sodium.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace boxoffice {
namespace {

constexpr unsigned long long kPasswordOpsLimit = 2;
constexpr std::size_t kPasswordMemLimitBytes = 19u << 20;

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

void InitCrypto() {
  if (sodium_init() < 0) {
    std::fputs("boxoffice: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

namespace {

// The simulation's stream: one ChaCha20 block sequence per seed, a fresh nonce per draw. The
// flag is read without the lock on every draw, so a server never pays for the mutex.
struct DeterministicStream {
  std::mutex mutex;
  std::array<unsigned char, crypto_stream_chacha20_ietf_KEYBYTES> key{};
  std::uint64_t draws = 0;
};
std::atomic<bool> deterministic_randomness{false};

DeterministicStream& DeterministicStreamInstance() {
  static DeterministicStream stream;
  return stream;
}

void FillRandom(void* out, std::size_t count) {
  if (!deterministic_randomness.load(std::memory_order_acquire)) {
    randombytes_buf(out, count);
    return;
  }
  DeterministicStream& stream = DeterministicStreamInstance();
  std::lock_guard lock(stream.mutex);
  std::array<unsigned char, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
  std::memcpy(nonce.data(), &stream.draws, sizeof stream.draws);
  ++stream.draws;
  crypto_stream_chacha20_ietf(static_cast<unsigned char*>(out), count, nonce.data(),
                              stream.key.data());
}

// Uniform in [0, bound), without modulo bias: draws below 2^32 mod bound are thrown away.
std::uint32_t UniformRandom(std::uint32_t bound) {
  if (!deterministic_randomness.load(std::memory_order_acquire)) return randombytes_uniform(bound);
  const std::uint32_t floor = static_cast<std::uint32_t>(-bound) % bound;
  for (;;) {
    std::uint32_t value = 0;
    FillRandom(&value, sizeof value);
    if (value >= floor) return value % bound;
  }
}

}  // namespace

void UseDeterministicRandomness(std::uint64_t seed) {
  DeterministicStream& stream = DeterministicStreamInstance();
  {
    std::lock_guard lock(stream.mutex);
    crypto_generichash(stream.key.data(), stream.key.size(),
                       reinterpret_cast<const unsigned char*>(&seed), sizeof seed, nullptr, 0);
    stream.draws = 0;
  }
  deterministic_randomness.store(true, std::memory_order_release);
}

void UseSystemRandomness() { deterministic_randomness.store(false, std::memory_order_release); }

std::string RandomBytes(std::size_t count) {
  std::string out(count, '\0');
  FillRandom(out.data(), out.size());
  return out;
}

std::string RandomToken(std::size_t count) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out(count, '\0');
  for (char& c : out) c = kAlphabet[UniformRandom(sizeof(kAlphabet) - 1)];
  return out;
}

std::uint64_t RandomUint64() {
  std::uint64_t value = 0;
  FillRandom(&value, sizeof value);
  return value;
}

namespace {

std::string Base64Encode(std::string_view bytes, int variant) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), Bytes(bytes), bytes.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  return Base64Encode(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::string Base64StandardEncode(std::string_view bytes) {
  return Base64Encode(bytes, sodium_base64_VARIANT_ORIGINAL);
}

// A table lookup per character. libsodium's decoder is constant-time, which costs it several
// times as much, and it ran on every token of every request; nothing decoded here is a secret
// (tokens are the holder's own, cursors are public), so timing tells an attacker nothing. The
// rules are libsodium's URL-safe, unpadded ones: no '=', no stray characters, no length of 4n+1,
// and the unused low bits of the last character must be zero (one encoding per byte string).
std::optional<std::size_t> Base64UrlDecodeTo(std::string_view text, std::span<char> out) {
  static constexpr auto kValues = [] {
    std::array<signed char, 256> values{};
    values.fill(-1);
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
      values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
    }
    return values;
  }();
  if (text.size() % 4 == 1) return std::nullopt;
  const std::size_t size = text.size() / 4 * 3 + (text.size() % 4 == 0 ? 0 : text.size() % 4 - 1);
  if (size > out.size()) return std::nullopt;
  // Four characters make three bytes; tokens are decoded twice per queue poll, so a group at a
  // time (one validity test per group) rather than a bit shuffle per character.
  auto value = [&](std::size_t i) { return kValues[static_cast<unsigned char>(text[i])]; };
  const std::size_t whole = text.size() / 4 * 4;
  std::size_t written = 0;
  for (std::size_t i = 0; i < whole; i += 4) {
    const int a = value(i), b = value(i + 1), c = value(i + 2), d = value(i + 3);
    if ((a | b | c | d) < 0) return std::nullopt;
    const auto bits = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6 | d);
    out[written++] = static_cast<char>(bits >> 16);
    out[written++] = static_cast<char>(bits >> 8 & 0xff);
    out[written++] = static_cast<char>(bits & 0xff);
  }
  const std::size_t tail = text.size() - whole;  // 0, 2 or 3 characters: 0, 1 or 2 bytes
  if (tail > 0) {
    const int a = value(whole), b = value(whole + 1), c = tail == 3 ? value(whole + 2) : 0;
    if ((a | b | c) < 0) return std::nullopt;
    const auto bits = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6);
    // The bits after the last whole byte must be zero: one text per byte string.
    if ((tail == 2 ? bits & 0xffff : bits & 0xff) != 0) return std::nullopt;
    out[written++] = static_cast<char>(bits >> 16);
    if (tail == 3) out[written++] = static_cast<char>(bits >> 8 & 0xff);
  }
  return written;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 2, '\0');
  const std::optional<std::size_t> size = Base64UrlDecodeTo(text, out);
  if (!size) return std::nullopt;
  out.resize(*size);
  return out;
}

std::string HexEncode(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), Bytes(bytes), bytes.size());
  out.pop_back();
  return out;
}

std::optional<std::string> HexDecode(std::string_view text) {
  std::string out(text.size() / 2, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (text.size() % 2 != 0 ||
      sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                     text.size(), nullptr, &length, &end) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

SecretKey DeriveKey(std::string_view secret_material, std::string_view context) {
  SecretKey key{};
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, key.size());
  crypto_generichash_update(&state, Bytes(context), context.size());
  const unsigned char separator = 0;
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, Bytes(secret_material), secret_material.size());
  crypto_generichash_final(&state, key.data(), key.size());
  return key;
}

std::string Mac(const SecretKey& key, std::string_view message) {
  static_assert(crypto_auth_KEYBYTES == std::tuple_size_v<SecretKey>);
  std::string out(crypto_auth_BYTES, '\0');
  crypto_auth(reinterpret_cast<unsigned char*>(out.data()), Bytes(message), message.size(),
              key.data());
  return out;
}

bool MacVerify(const SecretKey& key, std::string_view message, std::string_view mac) {
  return mac.size() == crypto_auth_BYTES &&
         crypto_auth_verify(Bytes(mac), Bytes(message), message.size(), key.data()) == 0;
}

MacKey::MacKey(const SecretKey& key, std::size_t mac_bytes) : key_(key), mac_bytes_(mac_bytes) {
  static_assert(sizeof(crypto_generichash_state) == std::tuple_size_v<decltype(state_)>);
  if (mac_bytes != 16 && mac_bytes != 32) {
    std::fputs("boxoffice: a MacKey's MAC is 16 or 32 bytes\n", stderr);
    std::abort();
  }
  crypto_generichash_state state;
  crypto_generichash_init(&state, key.data(), key.size(), mac_bytes_);
  std::memcpy(state_.data(), &state, sizeof state);
}

std::string MacKey::Mac(std::string_view message) const {
  crypto_generichash_state state;
  std::memcpy(&state, state_.data(), sizeof state);
  crypto_generichash_update(&state, Bytes(message), message.size());
  std::string out(mac_bytes_, '\0');
  crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(out.data()), out.size());
  return out;
}

bool MacKey::Verify(std::string_view message, std::string_view mac) const {
  if (mac.size() != mac_bytes_) return false;
  crypto_generichash_state state;
  std::memcpy(&state, state_.data(), sizeof state);
  crypto_generichash_update(&state, Bytes(message), message.size());
  unsigned char expected[32];
  crypto_generichash_final(&state, expected, mac_bytes_);
  if (mac_bytes_ == 16) return crypto_verify_16(expected, Bytes(mac)) == 0;
  return crypto_verify_32(expected, Bytes(mac)) == 0 || MacVerify(key_, message, mac);
}

bool SecretsEqual(std::string_view a, std::string_view b) {
  // Hash both to a fixed length first, so neither the comparison's time nor an early length
  // check tells an attacker how much of a guess was right.
  unsigned char hash_a[crypto_generichash_BYTES];
  unsigned char hash_b[crypto_generichash_BYTES];
  crypto_generichash(hash_a, sizeof hash_a, Bytes(a), a.size(), nullptr, 0);
  crypto_generichash(hash_b, sizeof hash_b, Bytes(b), b.size(), nullptr, 0);
  return sodium_memcmp(hash_a, hash_b, sizeof hash_a) == 0;
}

bool EqualConstantTime(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // No early exit: every byte is looked at whatever the first difference. (sodium_memcmp does
  // the same through volatile reads, byte by byte, several times slower on every request.)
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return difference == 0;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, Bytes(bytes), bytes.size());
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::optional<std::string> HashPassword(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), kPasswordOpsLimit,
                            kPasswordMemLimitBytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return std::nullopt;  // out of memory
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view password, const std::string& hash) {
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace boxoffice
