#include "waitingroom/shuffle.hpp"
#include "common/check.hpp"

#include <cstring>

namespace boxoffice {
namespace {

constexpr int kFeistelRounds = 4;

}  // namespace

Shuffle::Shuffle(std::string_view seed, std::uint64_t size)
    : key_(DeriveKey(seed, "boxoffice-queue-shuffle")), size_(size) {
  // The smallest even bit width whose domain holds `size`, so cycle walking takes fewer than
  // four steps on average.
  int bits = 2;
  while (bits < 64 && (std::uint64_t{1} << bits) < size) bits += 2;
  half_bits_ = bits / 2;
  half_mask_ = (std::uint64_t{1} << half_bits_) - 1;
}

std::uint64_t Shuffle::Round(int round, std::uint64_t half) const {
  char message[9];
  message[0] = static_cast<char>(round);
  std::memcpy(message + 1, &half, sizeof(half));
  const std::string mac = Mac(key_, std::string_view(message, sizeof(message)));
  std::uint64_t value = 0;
  std::memcpy(&value, mac.data(), sizeof(value));
  return value & half_mask_;
}

std::uint64_t Shuffle::Permute(std::uint64_t index) const {
  BOXOFFICE_CHECK(index < size_, "a shuffled index lies inside the pre-queue");
  std::uint64_t value = index;
  // Cycle walking: a permutation of the power-of-four domain, applied until the value lands
  // inside [0, size); this stays a permutation of [0, size).
  do {
    std::uint64_t left = value >> half_bits_;
    std::uint64_t right = value & half_mask_;
    for (int round = 0; round < kFeistelRounds; ++round) {
      const std::uint64_t next = left ^ Round(round, right);
      left = right;
      right = next;
    }
    value = (left << half_bits_) | right;
  } while (value >= size_);
  return value;
}

std::uint64_t Shuffle::Unpermute(std::uint64_t place) const {
  BOXOFFICE_CHECK(place < size_, "a shuffled place lies inside the pre-queue");
  std::uint64_t value = place;
  do {
    std::uint64_t left = value >> half_bits_;
    std::uint64_t right = value & half_mask_;
    for (int round = kFeistelRounds - 1; round >= 0; --round) {
      const std::uint64_t previous = right ^ Round(round, left);
      right = left;
      left = previous;
    }
    value = (left << half_bits_) | right;
  } while (value >= size_);
  return value;
}

}  // namespace boxoffice
