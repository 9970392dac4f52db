#include "catalog/demo_event.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>

namespace boxoffice {
namespace {

namespace json = boost::json;

std::string RowLabel(int row) {
  // A..Z, then AA, BB, ... as arenas letter their rows.
  const char letter = static_cast<char>('A' + row % 26);
  return std::string(static_cast<std::size_t>(row / 26 + 1), letter);
}

json::object Section(const std::string& id, const std::string& name, const std::string& tier,
                     int rows, int seats_per_row, bool accessible_front, bool accessible_back) {
  json::array row_list;
  for (int r = 0; r < rows; ++r) {
    json::array accessible;
    if ((accessible_front && r == 0) || (accessible_back && r == rows - 1)) {
      accessible = {1, 2, seats_per_row - 1, seats_per_row};
    }
    row_list.push_back(json::object{
        {"label", RowLabel(r)}, {"seats", seats_per_row}, {"accessible", std::move(accessible)}});
  }
  return json::object{{"id", id}, {"name", name}, {"tier", tier}, {"rows", std::move(row_list)}};
}

}  // namespace

json::value DemoEventJson() {
  json::array sections;
  for (int i = 1; i <= 4; ++i) {  // 4 × 20 × 30 = 2,400
    const std::string id = "F" + std::to_string(i);
    sections.push_back(Section(id, "Floor " + std::to_string(i), "FLOOR", 20, 30, true, false));
  }
  for (int i = 101; i <= 112; ++i) {  // 12 × 20 × 40 = 9,600
    const std::string id = std::to_string(i);
    sections.push_back(Section(id, "Section " + id, "LOWER", 20, 40, true, false));
  }
  for (int i = 201; i <= 212; ++i) {  // 12 × 16 × 42 = 8,064
    const std::string id = std::to_string(i);
    sections.push_back(Section(id, "Section " + id, "UPPER", 16, 42, false, true));
  }
  return json::object{
      {"name", "boxoffice Demo Arena: Opening Night"},
      {"venue", "Demo Arena, Example City"},
      {"starts_at", "2027-06-01T19:30:00Z"},
      {"currency", "USD"},
      {"price_tiers",
       json::array{json::object{{"id", "FLOOR"}, {"name", "Floor"}, {"price_cents", 25000}},
                   json::object{{"id", "LOWER"}, {"name", "Lower bowl"}, {"price_cents", 15000}},
                   json::object{{"id", "UPPER"}, {"name", "Upper bowl"}, {"price_cents", 8500}}}},
      {"sections", std::move(sections)},
      {"limits", json::object{{"per_order", 8}, {"per_customer", 8}}},
      {"hold_ttl_s", 600},
      {"queue", json::object{{"enabled", true},
                             {"policy", "fifo"},
                             {"admission_rate_per_s", 50},
                             {"max_active", 2000},
                             {"access_ttl_s", 600}}},
      {"defense", json::object{{"challenge", "risk"}}}};
}

}  // namespace boxoffice
