// Rate limiting with the generic cell rate algorithm (GCRA): per key, one number, the theoretical
// arrival time (TAT) of the next request. A request at `now` conforms when TAT − now ≤ τ, where
// τ = (burst − 1) · T and T = 1 / rate; conforming requests push TAT to max(TAT, now) + T. Times
// are nanoseconds, so limits are exact, with no whole-second windows to game.
//
// Memory is bounded: a fixed table of `slots` entries in 4-way buckets. A key that finds its
// bucket full evicts the entry with the oldest TAT, i.e. the key closest to being unlimited
// anyway; an evicted key starts afresh, which errs on the side of letting a fan through.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "ports/clock.hpp"

namespace boxoffice {

struct GcraRate {
  double per_s = 1;         // sustained requests per second
  std::uint32_t burst = 1;  // requests allowed at once from an idle key
};

struct GcraDecision {
  bool allowed = true;
  std::chrono::nanoseconds retry_after{0};  // when limited: wait this long before the next try
  // How much of the burst the key has used, this request included: k back-to-back requests
  // from an idle key give k / burst; 1 when limited. The risk score reads it as velocity.
  double fill = 0;
};

class GcraLimiter {
 public:
  // `slots` is rounded up to a power of two of at least 4; 24 bytes each.
  explicit GcraLimiter(std::size_t slots);

  // `key` is a hash of what is limited (address, prefix, session...) and the route class; the
  // caller makes it collision-resistant (keyed hashing), see KeyHash.
  GcraDecision Check(std::uint64_t key, const GcraRate& rate, TimePoint now);
  // Starts loading the key's bucket: a caller about to check several keys prefetches them all
  // first, so their cache misses overlap.
  void Prefetch(std::uint64_t key) const {
    __builtin_prefetch(&slots_[(static_cast<std::size_t>(key) & bucket_mask_) * kWays]);
  }

  std::size_t slots() const { return slot_count_; }
  std::uint64_t evictions() const;

 private:
  static constexpr std::size_t kWays = 4;
  static constexpr std::size_t kLockStripes = 256;
  struct Slot {
    std::uint64_t key = 0;  // 0: empty
    std::int64_t tat_ns = 0;
  };

  std::size_t slot_count_;
  std::size_t bucket_mask_;
  std::unique_ptr<Slot[]> slots_;
  std::array<std::mutex, kLockStripes> locks_;
  std::atomic<std::uint64_t> evictions_{0};  // entries pushed out while still limiting
};

// SipHash-2-4 under a per-process random key, so that nobody can craft keys that collide in the
// table. Never returns 0 (the empty-slot marker).
std::uint64_t KeyHash(std::string_view kind, std::string_view value);

}  // namespace boxoffice
