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

  // OK when `x_altcha` is a valid, unexpired, unused solution, which is consumed. Otherwise 403
  // `challenge_failed` with `details.reason`: malformed, bad_signature, wrong_number, expired,
  // replayed or store_full.
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
  Consume ConsumeOnce(std::string_view digest, std::int64_t expires_s, std::int64_t now_s);

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
