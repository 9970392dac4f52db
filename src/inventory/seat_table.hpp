// The live state of every seat of one event: one 64-bit word per seat, changed only by
// compare-and-swap, so that seat holds never take a lock (DESIGN.md, "Concurrency and speed").
//
//   bits  0..1   status   available / held / sold
//   bits  2..31  version  increases on every change of status (wraps after 2^30 changes)
//   bits 32..63  hold     the holding record's slot while held or sold, else 0
//
// Next to the words the table keeps the seats per status, packed in one atomic word, and a count
// of changes, so that stats, gauges and the seat map's ETag cost O(1). A move between two
// statuses is one atomic add, so available + held + sold == capacity holds at every instant; it
// is checked (BOXOFFICE_CHECK) after every change, and against a full scan now and then.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ports/seat_inventory.hpp"

namespace boxoffice {

class SeatTable {
 public:
  // Every seat starts available at version 0.
  explicit SeatTable(std::uint32_t seat_count);

  std::uint32_t size() const { return size_; }

  SeatState Load(std::uint32_t seat) const {
    return SeatState::Unpack(words_[seat].load(std::memory_order_acquire));
  }
  // Replaces `expected` with `desired` only if the seat still is `expected`; on failure
  // `expected` holds the current state. A successful swap updates the status counters.
  bool CompareExchange(std::uint32_t seat, SeatState& expected, SeatState desired) {
    std::uint64_t word = expected.Pack();
    const bool swapped =
        words_[seat].compare_exchange_strong(word, desired.Pack(), std::memory_order_acq_rel);
    if (!swapped) {
      expected = SeatState::Unpack(word);
      return false;
    }
    if (expected.status != desired.status) MoveCount(expected.status, desired.status);
    changes_.fetch_add(1, std::memory_order_release);
    return true;
  }

  // A scan, O(seats): for tests and the invariant check, not for hot paths.
  SeatCounts Count() const;
  // The counters, O(1); they always sum to size(). A seat swapped but not yet counted shows in
  // its old status for a moment, so under concurrent changes a snapshot may differ from a scan;
  // once quiet it equals Count().
  SeatCounts Counters() const;
  // Successful swaps so far: a cheap version of the whole seat map (the seat list's ETag).
  std::uint64_t changes() const { return changes_.load(std::memory_order_acquire); }
  // True when the counters agree with a scan and sum to the capacity; exact when the table is
  // quiet, and under load it retries so that only a lasting drift reports false.
  bool CheckInvariant() const;

 private:
  // Seats per status, kCountBits each, in SeatStatus order from the low bits.
  static constexpr int kCountBits = 21;
  static constexpr std::uint64_t kCountMask = (std::uint64_t{1} << kCountBits) - 1;
  static SeatCounts UnpackCounts(std::uint64_t word) {
    return SeatCounts{static_cast<std::uint32_t>(word & kCountMask),
                      static_cast<std::uint32_t>((word >> kCountBits) & kCountMask),
                      static_cast<std::uint32_t>((word >> (2 * kCountBits)) & kCountMask)};
  }
  void MoveCount(SeatStatus from, SeatStatus to);

  std::uint32_t size_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
  std::atomic<std::uint64_t> counts_{0};  // UnpackCounts
  std::atomic<std::uint64_t> changes_{0};
};

}  // namespace boxoffice
