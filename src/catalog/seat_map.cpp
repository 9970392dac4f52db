#include "catalog/seat_map.hpp"
#include "common/check.hpp"

#include <algorithm>
#include <charconv>

namespace boxoffice {

SeatMap::SeatMap(const EventDefinition& event) : event_(event) {
  seats_.reserve(event.seat_count);
  std::unordered_map<std::string, std::uint8_t> tiers;
  for (std::size_t t = 0; t < event.price_tiers.size(); ++t) {
    tiers.emplace(event.price_tiers[t].id, static_cast<std::uint8_t>(t));
  }
  for (std::size_t s = 0; s < event.sections.size(); ++s) {
    const SectionDefinition& section = event.sections[s];
    SectionIndex& index = sections_[section.id];
    index.index = static_cast<std::uint16_t>(s);
    index.first_seat = static_cast<std::uint32_t>(seats_.size());
    const std::uint8_t tier = tiers.at(section.tier);
    for (std::size_t r = 0; r < section.rows.size(); ++r) {
      const RowDefinition& row = section.rows[r];
      index.rows.emplace(row.label, static_cast<std::uint16_t>(r));
      index.row_first_seat.push_back(static_cast<std::uint32_t>(seats_.size()));
      for (std::uint32_t number = 1; number <= row.seats; ++number) {
        const bool accessible =
            std::binary_search(row.accessible.begin(), row.accessible.end(), number);
        seats_.push_back(SeatInfo{static_cast<std::uint16_t>(s), static_cast<std::uint16_t>(r),
                                  static_cast<std::uint16_t>(number), tier, accessible});
      }
    }
    index.end_seat = static_cast<std::uint32_t>(seats_.size());
  }
  BOXOFFICE_CHECK(seats_.size() == event.seat_count,
                  "the seat map has every seat the event counts");
}

std::optional<std::uint32_t> SeatMap::Find(std::string_view seat_id) const {
  const std::size_t first_dash = seat_id.find('-');
  if (first_dash == std::string_view::npos) return std::nullopt;
  const std::size_t second_dash = seat_id.find('-', first_dash + 1);
  if (second_dash == std::string_view::npos) return std::nullopt;
  const auto section = sections_.find(std::string(seat_id.substr(0, first_dash)));
  if (section == sections_.end()) return std::nullopt;
  const auto row = section->second.rows.find(
      std::string(seat_id.substr(first_dash + 1, second_dash - first_dash - 1)));
  if (row == section->second.rows.end()) return std::nullopt;
  const std::string_view number_text = seat_id.substr(second_dash + 1);
  std::uint32_t number = 0;
  const auto [end, error] =
      std::from_chars(number_text.data(), number_text.data() + number_text.size(), number);
  if (error != std::errc() || end != number_text.data() + number_text.size() || number == 0 ||
      number_text.front() == '0') {
    return std::nullopt;
  }
  const RowDefinition& row_definition = event_.sections[section->second.index].rows[row->second];
  if (number > row_definition.seats) return std::nullopt;
  return section->second.row_first_seat[row->second] + number - 1;
}

std::string SeatMap::SeatId(std::uint32_t index) const {
  const SeatInfo& seat = seats_[index];
  const SectionDefinition& section = event_.sections[seat.section];
  return section.id + "-" + section.rows[seat.row].label + "-" + std::to_string(seat.number);
}

std::optional<std::pair<std::uint32_t, std::uint32_t>> SeatMap::SectionRange(
    std::string_view section_id) const {
  const auto section = sections_.find(std::string(section_id));
  if (section == sections_.end()) return std::nullopt;
  return std::make_pair(section->second.first_seat, section->second.end_seat);
}

}  // namespace boxoffice
