// The proof-of-work challenge, compatible with ALTCHA (https://altcha.org): the server hands out
// `challenge = hex(SHA-256(salt + number))` for a secret random `number` in [0, maxnumber], signed
// with `signature = hex(HMAC-SHA-256(key, challenge))`; the client searches the numbers until the
// hash matches and answers with `X-Altcha: base64(JSON {algorithm, challenge, number, salt,
// signature})`. The salt carries its own expiry as a URL parameter ("<hex>?expires=<unix s>"), so
// the server keeps no state per challenge handed out: the signature proves the challenge (and so
// the salt and expiry inside it) is the server's.
//
// A solution is good once: verified solutions are consumed atomically in a bounded store (fixed
// slots, each freed when its challenge expires), so a replay fails. When the store has no free
// slot for a solution, the solution is refused rather than remembered nowhere: failing closed
// costs an honest client one more solve, failing open would let a replay through.
//
// Difficulty (`maxnumber`) rises with the requester's risk score and with load, measured as the
// rate at which challenges are handed out: many challenges a second mean an attack under way.
//
// ALTCHA's current format (altcha-lib 2.x, widget 3; "v2") is served too, and verified beside
// v1: the challenge is `{"parameters": {algorithm, cost, expiresAt, keyLength, keyPrefix, nonce,
// salt}, "signature"}`, signed as hex HMAC-SHA-256 of the parameters' canonical JSON (keys
// sorted); the client searches counters until key = SHA-256^cost(salt || nonce || counter as 4
// big-endian bytes) starts with `keyPrefix` and answers `X-Altcha: base64(JSON {"challenge",
// "solution": {"counter", "derivedKey"}})`. The same difficulty costs the same work in both: a
// 3-hex-digit prefix (4,096 attempts on average) with `cost` SHA-256 rounds per attempt.
// v1 stays the default (docs/defense.md says why).
#pragma once

#include <array>
#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.hpp"
#include "common/result.hpp"
#include "common/token.hpp"
#include "ports/clock.hpp"

namespace boxoffice {

// The X-Altcha header is a few hundred bytes; anything far longer is not a solution.
inline constexpr std::size_t kAltchaHeaderMaxBytes = 2'048;

struct Challenge {
  std::string algorithm = "SHA-256";
  std::string challenge;  // hex SHA-256 of salt + number
  std::string salt;       // "<24 hex digits>?expires=<unix seconds>"
  std::string signature;  // hex HMAC-SHA-256 of `challenge`
  std::uint64_t maxnumber = 0;
};

// The JSON an ALTCHA widget expects from its challenge URL.
boost::json::object ChallengeJson(const Challenge& challenge);

// A challenge in ALTCHA's v2 format (the header's comment).
struct ChallengeV2 {
  std::string algorithm = "SHA-256";
  std::uint32_t cost = 1;         // SHA-256 rounds per attempt
  std::int64_t expires_at = 0;    // unix seconds
  std::uint32_t key_length = 32;  // bytes of the derived key
  std::string key_prefix;         // lowercase hex the derived key must start with
  std::string nonce;              // 16 random bytes, hex
  std::string salt;               // 16 random bytes, hex
  std::string signature;          // hex HMAC-SHA-256 of CanonicalParameters
};

// `{"parameters": {...}, "signature"}`, as altcha-lib's createChallenge returns it.
boost::json::object ChallengeV2Json(const ChallengeV2& challenge);
// The parameters' canonical JSON, as altcha-lib signs it: keys sorted, no blanks.
std::string CanonicalParameters(const ChallengeV2& challenge);

// The client's side of v2, as altcha-lib's solveChallenge does it: the X-Altcha header value for
// the first counter in [0, max_counter] whose key has the prefix; nullopt when none has.
std::optional<std::string> SolveChallengeV2(const ChallengeV2& challenge,
                                            std::uint32_t max_counter = UINT32_MAX);

struct ChallengeOptions {
  std::chrono::seconds ttl{300};            // how long a challenge may be solved and used
  std::uint64_t maxnumber_base = 50'000;    // risk 0, no load: ~25,000 hashes on average
  std::uint64_t maxnumber_max = 1'000'000;  // ~0.5 s of a phone's time on average
  std::size_t store_slots = 1 << 18;  // used solutions remembered until they expire; 24 B each
  double high_load_per_s = 1'000;     // challenges handed out per second that count as load 1
};

// The client's side, as the ALTCHA widget does it: searches [0, maxnumber] for the number whose
// SHA-256 with the salt is the challenge, and returns the X-Altcha header value (standard base64
// of the JSON payload); nullopt when no number solves it. Costs up to maxnumber + 1 hashes.
std::optional<std::string> SolveChallenge(const Challenge& challenge);

// maxnumber for a risk score and a load, both in [0, 1]: up to 5x the base for each, capped.
std::uint64_t ChallengeDifficulty(const ChallengeOptions& options, double risk, double load);

class ProofOfWork {
 public:
  // The HMAC keys are derived from the server secrets (as the token keys are), so challenges stay
  // verifiable across a restart; `secrets` newest first, at least one: the first signs, any
  // verifies, so a challenge handed out just before a key rotation can still be solved.
  ProofOfWork(const SigningSecrets& secrets, const Clock& clock, ChallengeOptions options = {});

  // A fresh challenge with maxnumber from ChallengeDifficulty; counts towards the load.
  Challenge Issue(double risk);
  Challenge IssueWithMaxnumber(std::uint64_t maxnumber);
  // The same in the v2 format; the work expected of the client is that of a v1 `maxnumber`.
  ChallengeV2 IssueV2(double risk);
  ChallengeV2 IssueV2WithMaxnumber(std::uint64_t maxnumber);

  // OK when `x_altcha` is a valid, unexpired, unused solution (of either format), which is
  // consumed. Otherwise 403 `challenge_failed` with `details.reason`: malformed, bad_signature,
  // wrong_number, expired, replayed or store_full.
  Status Verify(std::string_view x_altcha);

  // The load in [0, 1]: challenges handed out per second (decayed over ~10 s) against
  // `high_load_per_s`.
  double Load() const;
  const ChallengeOptions& options() const { return options_; }

 private:
  static constexpr std::size_t kWays = 8;
  static constexpr std::size_t kLockStripes = 64;
  struct Slot {
    std::uint64_t key_high = 0;  // both 0: empty
    std::uint64_t key_low = 0;
    std::int64_t expires_s = 0;
  };
  enum class Consume { kConsumed, kReplayed, kFull };
  // `digest`: 16 bytes at least, unpredictable to the client (a signed hash or nonce).
  Consume ConsumeOnce(std::string_view digest, std::int64_t expires_s, std::int64_t now_s);
  Status Consumed(std::string_view digest, std::int64_t expires_s, std::int64_t now_s);
  // Updates the issue rate and returns the difficulty for `risk` at the load before it.
  std::uint64_t CountIssue(double risk);
  std::int64_t ExpiryOfNew() const;
  Status VerifyV1(const boost::json::object& payload, std::int64_t now_s);
  Status VerifyV2(const boost::json::object& payload, std::int64_t now_s);
  // Failed unless `expires_s` is in the future and no later than this server issues.
  Status CheckExpiry(std::int64_t expires_s, std::int64_t now_s) const;

  std::vector<std::array<unsigned char, 32>> keys_;  // newest first; the first signs
  const Clock& clock_;
  ChallengeOptions options_;
  std::size_t bucket_mask_;
  std::unique_ptr<Slot[]> slots_;
  std::array<std::mutex, kLockStripes> locks_;
  // Decayed issue rate: value and the time it was last brought up to date.
  mutable std::mutex rate_mutex_;
  double issued_rate_per_s_ = 0;
  TimePoint rate_updated_at_{};
};

}  // namespace boxoffice
