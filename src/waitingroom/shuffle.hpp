// The fair draw of `shuffle_prequeue`: a keyed pseudo-random permutation of the pre-queue's
// places, so that who joined first before the on-sale opened does not matter. It is a balanced
// Feistel network (four rounds of HMAC keyed by the event's seed) with cycle walking to fit any
// size, so it needs no memory per fan and anyone holding the revealed seed can recompute the
// whole order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/crypto.hpp"

namespace boxoffice {

class Shuffle {
 public:
  // `seed` is the event's secret; `size` the number of places to permute (may be 0).
  Shuffle(std::string_view seed, std::uint64_t size);

  // The place (0-based) that pre-queue number `index` (0-based, < size) draws.
  std::uint64_t Permute(std::uint64_t index) const;
  // The inverse: which pre-queue number draws place `place`.
  std::uint64_t Unpermute(std::uint64_t place) const;

  std::uint64_t size() const { return size_; }

 private:
  std::uint64_t Round(int round, std::uint64_t half) const;

  SecretKey key_;
  std::uint64_t size_;
  int half_bits_;
  std::uint64_t half_mask_;
};

}  // namespace boxoffice
