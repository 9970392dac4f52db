#include "inventory/seat_table.hpp"

#include <string_view>
#include <thread>

#include "catalog/event.hpp"
#include "common/check.hpp"

namespace boxoffice {

// Every count fits its field, whatever the event.
static_assert(kEventSeatsMax < (std::uint64_t{1} << 21));

SeatTable::SeatTable(std::uint32_t seat_count)
    : size_(seat_count), words_(new std::atomic<std::uint64_t>[seat_count]) {
  BOXOFFICE_CHECK(seat_count <= kCountMask, "an event's seats fit the status counters");
  for (std::uint32_t i = 0; i < seat_count; ++i) {
    words_[i].store(SeatState{}.Pack(), std::memory_order_relaxed);
  }
  counts_.store(seat_count, std::memory_order_relaxed);  // all available
}

void SeatTable::MoveCount(SeatStatus from, SeatStatus to) {
  // One add moves a seat between the two fields (unsigned arithmetic wraps the subtraction).
  const std::uint64_t delta = (std::uint64_t{1} << (kCountBits * static_cast<int>(to))) -
                              (std::uint64_t{1} << (kCountBits * static_cast<int>(from)));
  const SeatCounts after =
      UnpackCounts(counts_.fetch_add(delta, std::memory_order_acq_rel) + delta);
  // A move out of an empty status borrows from the next field and breaks the sum: a seat was
  // counted twice, the very drift that would sell it twice.
  BOXOFFICE_CHECK(std::uint64_t{after.available} + after.held + after.sold == size_,
                  "available + held + sold == capacity after every change");
}

SeatCounts SeatTable::Counters() const {
  return UnpackCounts(counts_.load(std::memory_order_acquire));
}

bool SeatTable::CheckInvariant() const {
  // A swap racing the scan can make one look inconsistent; a real drift stays. So a mismatch is
  // reported only when it survives a few retries.
  constexpr int kAttempts = 5;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const SeatCounts scanned = Count();
    const SeatCounts counted = Counters();
    if (scanned.available == counted.available && scanned.held == counted.held &&
        scanned.sold == counted.sold &&
        std::uint64_t{counted.available} + counted.held + counted.sold == size_) {
      return true;
    }
    std::this_thread::yield();
  }
  return false;
}

SeatCounts SeatTable::Count() const {
  SeatCounts counts;
  for (std::uint32_t i = 0; i < size_; ++i) {
    switch (Load(i).status) {
      case SeatStatus::kAvailable:
        ++counts.available;
        break;
      case SeatStatus::kHeld:
        ++counts.held;
        break;
      case SeatStatus::kSold:
        ++counts.sold;
        break;
    }
  }
  return counts;
}

}  // namespace boxoffice
