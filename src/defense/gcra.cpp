#include "defense/gcra.hpp"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

namespace boxoffice {

GcraLimiter::GcraLimiter(std::size_t slots)
    : slot_count_(std::bit_ceil(std::max<std::size_t>(slots, kWays))),
      bucket_mask_(slot_count_ / kWays - 1),
      slots_(new Slot[slot_count_]) {}

GcraDecision GcraLimiter::Check(std::uint64_t key, const GcraRate& rate, TimePoint now) {
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const std::int64_t interval_ns = static_cast<std::int64_t>(1e9 / rate.per_s);
  const std::int64_t tolerance_ns = interval_ns * static_cast<std::int64_t>(rate.burst - 1);

  const std::size_t bucket = static_cast<std::size_t>(key) & bucket_mask_;
  Slot* ways = &slots_[bucket * kWays];
  std::lock_guard lock(locks_[bucket % kLockStripes]);
  Slot* slot = nullptr;
  for (std::size_t i = 0; i < kWays && slot == nullptr; ++i) {
    if (ways[i].key == key) slot = &ways[i];
  }
  if (slot == nullptr) {
    slot = std::min_element(ways, ways + kWays,
                            [](const Slot& a, const Slot& b) { return a.tat_ns < b.tat_ns; });
    if (slot->key != 0 && slot->tat_ns > now_ns) {
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    *slot = Slot{key, now_ns};
  }
  const std::int64_t tat_ns = std::max(slot->tat_ns, now_ns);
  if (tat_ns - now_ns > tolerance_ns) {
    return GcraDecision{false, std::chrono::nanoseconds(tat_ns - now_ns - tolerance_ns), 1.0};
  }
  slot->tat_ns = tat_ns + interval_ns;
  const double fill =
      static_cast<double>(slot->tat_ns - now_ns) / static_cast<double>(tolerance_ns + interval_ns);
  return GcraDecision{true, {}, std::min(1.0, fill)};
}

std::uint64_t GcraLimiter::evictions() const { return evictions_.load(std::memory_order_relaxed); }

std::uint64_t KeyHash(std::string_view kind, std::string_view value) {
  static const auto kKey = [] {
    std::array<unsigned char, crypto_shorthash_KEYBYTES> key{};
    randombytes_buf(key.data(), key.size());
    return key;
  }();
  // Keys are short (ids, address bytes): hash them from the stack, without an allocation, as
  // this runs several times for every request.
  constexpr std::size_t kStackBytes = 192;
  std::array<char, kStackBytes> stack;
  std::string heap;
  char* input = stack.data();
  const std::size_t size = kind.size() + 1 + value.size();
  if (size > kStackBytes) {
    heap.resize(size);
    input = heap.data();
  }
  std::memcpy(input, kind.data(), kind.size());
  input[kind.size()] = '\0';
  std::memcpy(input + kind.size() + 1, value.data(), value.size());
  std::uint64_t hash = 0;
  crypto_shorthash(reinterpret_cast<unsigned char*>(&hash),
                   reinterpret_cast<const unsigned char*>(input), size, kKey.data());
  return hash == 0 ? 1 : hash;
}

}  // namespace boxoffice
