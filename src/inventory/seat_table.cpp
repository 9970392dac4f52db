#include "inventory/seat_table.hpp"

#include <string_view>

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
