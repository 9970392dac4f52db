// The static layout of an event's seats, flattened into one index space (section by section,
// row by row, seat number ascending) that the inventory's SeatTable shares. Seat ids are
// "{section}-{row}-{number}", e.g. "101-A-7"; section ids and row labels cannot hold '-', so an
// id parses unambiguously.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog/event.hpp"

namespace boxoffice {

struct SeatInfo {
  std::uint16_t section = 0;  // index into EventDefinition::sections
  std::uint16_t row = 0;      // index into that section's rows
  std::uint16_t number = 0;   // from 1
  std::uint8_t tier = 0;      // index into EventDefinition::price_tiers
  bool accessible = false;
};

class SeatMap {
 public:
  // `event` must be a validated definition; the map keeps a reference to it.
  explicit SeatMap(const EventDefinition& event);

  std::uint32_t size() const { return static_cast<std::uint32_t>(seats_.size()); }
  const SeatInfo& Seat(std::uint32_t index) const { return seats_[index]; }
  std::optional<std::uint32_t> Find(std::string_view seat_id) const;
  std::string SeatId(std::uint32_t index) const;

  const SectionDefinition& SectionOf(std::uint32_t index) const {
    return event_.sections[seats_[index].section];
  }
  const RowDefinition& RowOf(std::uint32_t index) const {
    return SectionOf(index).rows[seats_[index].row];
  }
  const PriceTier& TierOf(std::uint32_t index) const {
    return event_.price_tiers[seats_[index].tier];
  }
  // The index range [first, last) of a section's seats, or nullopt for an unknown section.
  std::optional<std::pair<std::uint32_t, std::uint32_t>> SectionRange(
      std::string_view section_id) const;

 private:
  struct SectionIndex {
    std::uint16_t index = 0;
    std::unordered_map<std::string, std::uint16_t> rows;
    std::vector<std::uint32_t> row_first_seat;  // global index of each row's seat 1
    std::uint32_t first_seat = 0;
    std::uint32_t end_seat = 0;
  };

  const EventDefinition& event_;
  std::vector<SeatInfo> seats_;
  std::unordered_map<std::string, SectionIndex> sections_;
};

}  // namespace boxoffice
