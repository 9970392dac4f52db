#include "defense/challenge.hpp"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <boost/json/parse.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "common/json_text.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlgorithm = "SHA-256";
constexpr std::size_t kSaltRandomBytes = 12;
// v2: random bytes of the nonce and of the salt; the prefix of zero hex digits every challenge
// asks for, and the attempts it takes on average (16^3); the most SHA-256 rounds per attempt a
// challenge may ask (the hardest this server issues asks 1,000,000 / 2 / 4,096, about 122).
constexpr std::size_t kV2RandomBytes = 16;
constexpr std::size_t kV2PrefixDigits = 3;
constexpr std::uint64_t kV2Attempts = 4'096;
constexpr std::uint64_t kV2CostMax = 10'000;
// Decay time constant of the issue rate: a burst of challenges counts as load for ~10 s.
constexpr double kRateTauS = 10.0;
// How far ahead of this server's clock another node's may be: a challenge issued there may
// expire up to this much later than one issued here.
constexpr std::int64_t kExpirySkewMaxS = 60;

std::string Sha256(std::string_view text) {
  std::string digest(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(digest.data()),
                     reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return digest;
}

std::string HmacSha256(const std::array<unsigned char, 32>& key, std::string_view text) {
  static_assert(crypto_auth_hmacsha256_KEYBYTES == 32);
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256(reinterpret_cast<unsigned char*>(mac.data()),
                         reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                         key.data());
  return mac;
}

Error Failed(std::string_view reason, std::string message) {
  return Error::Make(ErrorKind::kForbidden, "challenge_failed", std::move(message),
                     {{"reason", reason}});
}

// Standard base64 as browsers' btoa() writes it, also accepted without padding or URL-safe.
std::optional<std::string> DecodeBase64(std::string_view text) {
  std::string out(text.size() * 3 / 4 + 3, '\0');
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                      sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    std::size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                          text.size(), nullptr, &length, &end, variant) == 0 &&
        end == text.data() + text.size()) {
      out.resize(length);
      return out;
    }
  }
  return std::nullopt;
}

// The `expires` parameter of a salt "<random>?expires=<unix s>&...".
std::optional<std::int64_t> SaltExpiry(std::string_view salt) {
  const std::size_t question = salt.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view params = salt.substr(question + 1);
  while (!params.empty()) {
    const std::size_t amp = params.find('&');
    const std::string_view param = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
    if (!param.starts_with("expires=")) continue;
    const std::string_view digits = param.substr(8);
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || end != digits.data() + digits.size() || value <= 0) {
      return std::nullopt;
    }
    return value;
  }
  return std::nullopt;
}

std::uint64_t ReadUint64(const unsigned char* bytes) {
  std::uint64_t value = 0;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

const json::object* ObjectAt(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  return value ? value->if_object() : nullptr;
}

const json::string* StringAt(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  return value ? value->if_string() : nullptr;
}

bool IsLowerHex(std::string_view text, std::size_t min_size, std::size_t max_size) {
  return text.size() >= min_size && text.size() <= max_size &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A whole number in [low, high] at `field`, else nullopt.
std::optional<std::int64_t> IntegerAt(const json::object& object, std::string_view field,
                                      std::int64_t low, std::int64_t high) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || !value->is_int64()) return std::nullopt;
  const std::int64_t number = value->get_int64();
  if (number < low || number > high) return std::nullopt;
  return number;
}

// The v2 parameters when they are exactly the set this server issues, each of its shape.
std::optional<ChallengeV2> ParametersOf(const json::object& parameters) {
  if (parameters.size() != 7) return std::nullopt;
  const json::string* algorithm = StringAt(parameters, "algorithm");
  const json::string* key_prefix = StringAt(parameters, "keyPrefix");
  const json::string* nonce = StringAt(parameters, "nonce");
  const json::string* salt = StringAt(parameters, "salt");
  const std::optional<std::int64_t> cost = IntegerAt(parameters, "cost", 1, kV2CostMax);
  const std::optional<std::int64_t> expires_at =
      IntegerAt(parameters, "expiresAt", 1, std::numeric_limits<std::int64_t>::max());
  const std::optional<std::int64_t> key_length = IntegerAt(parameters, "keyLength", 32, 32);
  if (!algorithm || *algorithm != kAlgorithm || !key_prefix || !nonce || !salt || !cost ||
      !expires_at || !key_length || !IsLowerHex(*key_prefix, 1, 64) ||
      !IsLowerHex(*nonce, 2 * kV2RandomBytes, 2 * kV2RandomBytes) ||
      !IsLowerHex(*salt, 2 * kV2RandomBytes, 2 * kV2RandomBytes)) {
    return std::nullopt;
  }
  ChallengeV2 out;
  out.cost = static_cast<std::uint32_t>(*cost);
  out.expires_at = *expires_at;
  out.key_prefix = std::string(*key_prefix);
  out.nonce = std::string(*nonce);
  out.salt = std::string(*salt);
  return out;
}

// SHA-256 applied `cost` times, first to salt || nonce || counter (4 bytes, big-endian).
std::string DeriveKeyV2(const ChallengeV2& challenge, std::uint32_t counter) {
  std::string input =
      HexDecode(challenge.salt).value_or("") + HexDecode(challenge.nonce).value_or("");
  const char counter_bytes[4] = {static_cast<char>(counter >> 24), static_cast<char>(counter >> 16),
                                 static_cast<char>(counter >> 8), static_cast<char>(counter)};
  input.append(counter_bytes, sizeof counter_bytes);
  std::string key = Sha256(input);
  for (std::uint32_t round = 1; round < challenge.cost; ++round) key = Sha256(key);
  return key;
}

std::string StandardBase64(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace

json::object ChallengeJson(const Challenge& challenge) {
  return json::object{{"algorithm", challenge.algorithm},
                      {"challenge", challenge.challenge},
                      {"maxnumber", challenge.maxnumber},
                      {"salt", challenge.salt},
                      {"signature", challenge.signature}};
}

namespace {

// Inserted in sorted key order, which Boost.JSON keeps; every value is an integer or a string of
// hex digits, so the serialized text is JSON.stringify's to the byte.
json::object ParametersJson(const ChallengeV2& challenge) {
  return json::object{{"algorithm", challenge.algorithm},
                      {"cost", challenge.cost},
                      {"expiresAt", challenge.expires_at},
                      {"keyLength", challenge.key_length},
                      {"keyPrefix", challenge.key_prefix},
                      {"nonce", challenge.nonce},
                      {"salt", challenge.salt}};
}

}  // namespace

std::string CanonicalParameters(const ChallengeV2& challenge) {
  return SerializeJson(ParametersJson(challenge));
}

json::object ChallengeV2Json(const ChallengeV2& challenge) {
  return json::object{{"parameters", ParametersJson(challenge)},
                      {"signature", challenge.signature}};
}

std::optional<std::string> SolveChallengeV2(const ChallengeV2& challenge,
                                            std::uint32_t max_counter) {
  for (std::uint32_t counter = 0;; ++counter) {
    const std::string key = HexEncode(DeriveKeyV2(challenge, counter));
    if (key.starts_with(challenge.key_prefix)) {
      const json::object payload{
          {"challenge", ChallengeV2Json(challenge)},
          {"solution", json::object{{"counter", counter}, {"derivedKey", key}, {"time", 0}}}};
      return StandardBase64(SerializeJson(payload));
    }
    if (counter == max_counter) return std::nullopt;
  }
}

std::optional<std::string> SolveChallenge(const Challenge& challenge) {
  const std::optional<std::string> target = HexDecode(challenge.challenge);
  if (!target || target->size() != crypto_hash_sha256_BYTES || challenge.algorithm != "SHA-256") {
    return std::nullopt;
  }
  std::string input = challenge.salt;
  const std::size_t prefix = input.size();
  unsigned char digest[crypto_hash_sha256_BYTES];
  char digits[24];
  for (std::uint64_t number = 0; number <= challenge.maxnumber; ++number) {
    const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
    input.resize(prefix);
    input.append(digits, end);
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    if (std::memcmp(digest, target->data(), sizeof digest) != 0) continue;
    const json::object payload{{"algorithm", challenge.algorithm},
                               {"challenge", challenge.challenge},
                               {"number", number},
                               {"salt", challenge.salt},
                               {"signature", challenge.signature}};
    return StandardBase64(SerializeJson(payload));
  }
  return std::nullopt;
}

std::uint64_t ChallengeDifficulty(const ChallengeOptions& options, double risk, double load) {
  risk = std::clamp(risk, 0.0, 1.0);
  load = std::clamp(load, 0.0, 1.0);
  const double scaled =
      static_cast<double>(options.maxnumber_base) * (1.0 + 4.0 * risk) * (1.0 + 4.0 * load);
  return std::min(options.maxnumber_max, static_cast<std::uint64_t>(scaled));
}

ProofOfWork::ProofOfWork(const SigningSecrets& secrets, const Clock& clock,
                         ChallengeOptions options)
    : clock_(clock), options_(options) {
  if (secrets.list().empty()) throw std::invalid_argument("proof of work needs a secret");
  for (const std::string& secret : secrets.list()) {
    keys_.push_back(DeriveKey(secret, "boxoffice-altcha-hmac"));
  }
  const std::size_t buckets = std::bit_ceil(std::max<std::size_t>(1, options_.store_slots / kWays));
  bucket_mask_ = buckets - 1;
  slots_ = std::make_unique<Slot[]>(buckets * kWays);
}

std::uint64_t ProofOfWork::CountIssue(double risk) {
  const double load = Load();
  {
    // The decayed rate: r ← r·e^(−Δt/τ) + 1/τ, which settles at the true rate for steady traffic.
    std::lock_guard lock(rate_mutex_);
    const TimePoint now = clock_.Now();
    const double elapsed_s =
        std::max(0.0, std::chrono::duration<double>(now - rate_updated_at_).count());
    issued_rate_per_s_ = issued_rate_per_s_ * std::exp(-elapsed_s / kRateTauS) + 1.0 / kRateTauS;
    rate_updated_at_ = now;
  }
  return ChallengeDifficulty(options_, risk, load);
}

std::int64_t ProofOfWork::ExpiryOfNew() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             (clock_.Now() + options_.ttl).time_since_epoch())
      .count();
}

Challenge ProofOfWork::Issue(double risk) { return IssueWithMaxnumber(CountIssue(risk)); }

Challenge ProofOfWork::IssueWithMaxnumber(std::uint64_t maxnumber) {
  Challenge out;
  // The secret number is uniform in [0, maxnumber], as ALTCHA's clients search that range.
  out.maxnumber = std::clamp<std::uint64_t>(maxnumber, 1, UINT32_MAX - 1);
  out.salt = HexEncode(RandomBytes(kSaltRandomBytes)) + "?expires=" + std::to_string(ExpiryOfNew());
  const std::uint32_t number = randombytes_uniform(static_cast<std::uint32_t>(out.maxnumber + 1));
  out.challenge = HexEncode(Sha256(out.salt + std::to_string(number)));
  out.signature = HexEncode(HmacSha256(keys_.front(), out.challenge));
  return out;
}

ChallengeV2 ProofOfWork::IssueV2(double risk) { return IssueV2WithMaxnumber(CountIssue(risk)); }

ChallengeV2 ProofOfWork::IssueV2WithMaxnumber(std::uint64_t maxnumber) {
  ChallengeV2 out;
  // v1's client searches half of [0, maxnumber] on average; here the prefix takes kV2Attempts
  // attempts on average, each of `cost` hashes.
  const std::uint64_t hashes = std::max<std::uint64_t>(1, maxnumber / 2);
  out.cost = static_cast<std::uint32_t>(
      std::clamp<std::uint64_t>((hashes + kV2Attempts / 2) / kV2Attempts, 1, kV2CostMax));
  out.expires_at = ExpiryOfNew();
  out.key_prefix = std::string(kV2PrefixDigits, '0');
  out.nonce = HexEncode(RandomBytes(kV2RandomBytes));
  out.salt = HexEncode(RandomBytes(kV2RandomBytes));
  out.signature = HexEncode(HmacSha256(keys_.front(), CanonicalParameters(out)));
  return out;
}

double ProofOfWork::Load() const {
  std::lock_guard lock(rate_mutex_);
  const double elapsed_s =
      std::max(0.0, std::chrono::duration<double>(clock_.Now() - rate_updated_at_).count());
  const double rate = issued_rate_per_s_ * std::exp(-elapsed_s / kRateTauS);
  return std::clamp(rate / options_.high_load_per_s, 0.0, 1.0);
}

Status ProofOfWork::Verify(std::string_view x_altcha) {
  if (x_altcha.size() > kAltchaHeaderMaxBytes) {
    return Failed("malformed", "The X-Altcha header is too long.");
  }
  const std::optional<std::string> decoded = DecodeBase64(x_altcha);
  if (!decoded) return Failed("malformed", "The X-Altcha header is not base64.");
  std::error_code parse_error;
  const json::value payload = json::parse(*decoded, parse_error);
  const json::object* object = parse_error ? nullptr : payload.if_object();
  if (object == nullptr) return Failed("malformed", "X-Altcha must be base64 of a JSON object.");
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  return object->contains("solution") ? VerifyV2(*object, now_s) : VerifyV1(*object, now_s);
}

Status ProofOfWork::CheckExpiry(std::int64_t expires_s, std::int64_t now_s) const {
  if (expires_s <= now_s) return Failed("expired", "The challenge has expired; solve a new one.");
  // No challenge this server issued expires later than its lifetime from now (see VerifyV1).
  if (expires_s > now_s + options_.ttl.count() + kExpirySkewMaxS) {
    return Failed("malformed", "The challenge's expiry is later than this server issues.");
  }
  return {};
}

Status ProofOfWork::Consumed(std::string_view digest, std::int64_t expires_s, std::int64_t now_s) {
  switch (ConsumeOnce(digest, expires_s, now_s)) {
    case Consume::kConsumed:
      return {};
    case Consume::kReplayed:
      return Failed("replayed", "This solution was used already; solve a new challenge.");
    case Consume::kFull:
      return Failed("store_full", "Too many solutions are in use; solve a new challenge later.");
  }
  return Failed("malformed", "unreachable");
}

Status ProofOfWork::VerifyV1(const json::object& payload, std::int64_t now_s) {
  auto text = [&payload](std::string_view field) { return StringAt(payload, field); };
  const json::string* algorithm = text("algorithm");
  const json::string* challenge = text("challenge");
  const json::string* salt = text("salt");
  const json::string* signature = text("signature");
  const json::value* number = payload.if_contains("number");
  const bool number_ok = number != nullptr &&
                         ((number->is_int64() && number->get_int64() >= 0) || number->is_uint64());
  if (!algorithm || !challenge || !salt || !signature || !number_ok) {
    return Failed("malformed",
                  "X-Altcha must be base64 of JSON {algorithm, challenge, number, salt, "
                  "signature}.");
  }
  if (*algorithm != kAlgorithm) return Failed("malformed", "The algorithm must be SHA-256.");

  // The signature first, compared in constant time: nothing else of the payload is trusted
  // before it.
  const std::optional<std::string> signature_bytes = HexDecode(*signature);
  auto signed_with = [&](const std::array<unsigned char, 32>& key) {
    return crypto_auth_hmacsha256_verify(
               reinterpret_cast<const unsigned char*>(signature_bytes->data()),
               reinterpret_cast<const unsigned char*>(challenge->data()), challenge->size(),
               key.data()) == 0;
  };
  if (!signature_bytes || signature_bytes->size() != crypto_auth_hmacsha256_BYTES ||
      std::none_of(keys_.begin(), keys_.end(), signed_with)) {
    return Failed("bad_signature", "The challenge was not signed by this server.");
  }
  const std::optional<std::int64_t> expires_s = SaltExpiry(*salt);
  if (!expires_s) return Failed("malformed", "The salt carries no expiry.");
  if (*expires_s <= now_s) return Failed("expired", "The challenge has expired; solve a new one.");

  const std::string number_text = number->is_int64() ? std::to_string(number->get_int64())
                                                     : std::to_string(number->get_uint64());
  const std::string expected = HexEncode(Sha256(std::string(*salt) + number_text));
  if (expected.size() != challenge->size() ||
      sodium_memcmp(expected.data(), challenge->data(), expected.size()) != 0) {
    return Failed("wrong_number", "The number does not solve the challenge.");
  }
  // The signature covers SHA-256(salt + number), not where the salt ends: digits moved from the
  // front of the number to the end of the salt ("...?expires=1800000303", 42 becomes
  // "...?expires=18000003034", 2) leave the hash as it was and push the expiry out ten times, so a
  // solution could be kept and used long after, and its slot in the store of used solutions would
  // never be freed. No challenge this server issued expires later than its lifetime from now
  // (found by fuzz/tokens_fuzzer.cpp).
  if (Status in_time = CheckExpiry(*expires_s, now_s); !in_time) return in_time;
  // The challenge's bytes are the store key: the signature check above means they are a
  // server-made SHA-256, not a value an attacker chose to collide in the table.
  const std::optional<std::string> digest = HexDecode(*challenge);
  if (!digest || digest->size() != crypto_hash_sha256_BYTES) {
    return Failed("malformed", "The challenge is not a SHA-256 digest.");
  }
  return Consumed(*digest, *expires_s, now_s);
}

Status ProofOfWork::VerifyV2(const json::object& payload, std::int64_t now_s) {
  static constexpr std::string_view kShape =
      "X-Altcha must be base64 of JSON {challenge: {parameters, signature}, solution: {counter, "
      "derivedKey}}.";
  const json::object* challenge = ObjectAt(payload, "challenge");
  const json::object* parameters = challenge ? ObjectAt(*challenge, "parameters") : nullptr;
  const json::object* solution = ObjectAt(payload, "solution");
  const json::string* signature = challenge ? StringAt(*challenge, "signature") : nullptr;
  if (!parameters || !solution || !signature) return Failed("malformed", std::string(kShape));
  // Exactly the parameters this server issues, so the canonical text rebuilt from them is the
  // one it signed, whatever else a client might add.
  std::optional<ChallengeV2> issued = ParametersOf(*parameters);
  if (!issued) {
    return Failed("malformed", "The challenge's parameters are not those this server issues.");
  }
  const std::optional<std::string> signature_bytes = HexDecode(*signature);
  const std::string canonical = CanonicalParameters(*issued);
  auto signed_with = [&](const std::array<unsigned char, 32>& key) {
    return crypto_auth_hmacsha256_verify(
               reinterpret_cast<const unsigned char*>(signature_bytes->data()),
               reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(),
               key.data()) == 0;
  };
  if (!signature_bytes || signature_bytes->size() != crypto_auth_hmacsha256_BYTES ||
      std::none_of(keys_.begin(), keys_.end(), signed_with)) {
    return Failed("bad_signature", "The challenge was not signed by this server.");
  }
  if (Status in_time = CheckExpiry(issued->expires_at, now_s); !in_time) return in_time;

  const json::value* counter = solution->if_contains("counter");
  const json::string* derived_key = StringAt(*solution, "derivedKey");
  const bool counter_ok =
      counter != nullptr &&
      ((counter->is_int64() && counter->get_int64() >= 0 && counter->get_int64() <= UINT32_MAX) ||
       (counter->is_uint64() && counter->get_uint64() <= UINT32_MAX));
  if (!counter_ok || !derived_key) return Failed("malformed", std::string(kShape));
  const std::string key = HexEncode(DeriveKeyV2(
      *issued, static_cast<std::uint32_t>(counter->is_int64() ? counter->get_int64()
                                                              : counter->get_uint64())));
  if (key.size() != derived_key->size() ||
      sodium_memcmp(key.data(), derived_key->data(), key.size()) != 0 ||
      !key.starts_with(issued->key_prefix)) {
    return Failed("wrong_number", "The counter does not solve the challenge.");
  }
  // The nonce is the store key: 16 random bytes of the server's, under its signature.
  return Consumed(*HexDecode(issued->nonce), issued->expires_at, now_s);
}

ProofOfWork::Consume ProofOfWork::ConsumeOnce(std::string_view digest, std::int64_t expires_s,
                                              std::int64_t now_s) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(digest.data());
  std::uint64_t high = ReadUint64(bytes);
  std::uint64_t low = ReadUint64(bytes + 8);
  if (high == 0 && low == 0) low = 1;  // keep the empty marker free
  const std::size_t bucket = static_cast<std::size_t>(low) & bucket_mask_;
  std::lock_guard lock(locks_[bucket % kLockStripes]);
  Slot* ways = &slots_[bucket * kWays];
  Slot* free_slot = nullptr;
  for (std::size_t i = 0; i < kWays; ++i) {
    Slot& slot = ways[i];
    const bool live = (slot.key_high != 0 || slot.key_low != 0) && slot.expires_s > now_s;
    if (live && slot.key_high == high && slot.key_low == low) return Consume::kReplayed;
    if (!live && free_slot == nullptr) free_slot = &slot;
  }
  if (free_slot == nullptr) return Consume::kFull;
  *free_slot = Slot{high, low, expires_s};
  return Consume::kConsumed;
}

}  // namespace boxoffice
