#include "inventory/seat_table.hpp"

#include <string_view>
#include <thread>

namespace boxoffice {

std::string_view SeatStatusName(SeatStatus status) {
  switch (status) {
    case SeatStatus::kAvailable:
      return "available";
    case SeatStatus::kHeld:
      return "held";
    case SeatStatus::kSold:
      return "sold";
  }
  return "available";
}

SeatTable::SeatTable(std::uint32_t seat_count)
    : size_(seat_count), words_(new std::atomic<std::uint64_t>[seat_count]) {
  for (std::uint32_t i = 0; i < seat_count; ++i) {
    words_[i].store(SeatState{}.Pack(), std::memory_order_relaxed);
  }
  counts_[static_cast<int>(SeatStatus::kAvailable)].store(seat_count, std::memory_order_relaxed);
}

void SeatTable::MoveCount(SeatStatus from, SeatStatus to) {
  // Two counters cannot move in one atomic step, and a seat may be swapped again by another
  // thread before this one has counted it, so a snapshot of the counters can be off by the swaps
  // in flight; it is exact whenever the table is quiet (see CheckInvariant).
  counts_[static_cast<int>(to)].fetch_add(1, std::memory_order_relaxed);
  counts_[static_cast<int>(from)].fetch_sub(1, std::memory_order_relaxed);
}

SeatCounts SeatTable::Counters() const {
  auto load = [this](SeatStatus status) {
    const std::int64_t value = counts_[static_cast<int>(status)].load(std::memory_order_relaxed);
    return static_cast<std::uint32_t>(value < 0 ? 0 : value);
  };
  return SeatCounts{load(SeatStatus::kAvailable), load(SeatStatus::kHeld), load(SeatStatus::kSold)};
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
