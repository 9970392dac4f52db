// The conformance suite of the SeatInventory port (ports/seat_inventory.hpp): the behaviour every
// adapter (the embedded HoldTable now, Redis later) must show. The tests live in
// seat_inventory_conformance_test.cpp as value-parameterised GoogleTests over a
// `SeatInventoryAdapter`; an adapter joins them in its own test file:
//
//   INSTANTIATE_TEST_SUITE_P(HoldTable, SeatInventoryConformance,
//                            ::testing::Values(SeatInventoryAdapter{"HoldTable", MakeHoldTable}),
//                            SeatInventoryAdapterName);
#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "ports/clock.hpp"
#include "ports/seat_inventory.hpp"

namespace boxoffice {

struct SeatInventoryAdapter {
  std::string name;  // the suffix of the test names, e.g. "HoldTable"
  // A fresh inventory of `event`'s seats on `clock`; both outlive it.
  std::function<std::unique_ptr<SeatInventory>(const Event& event, const Clock& clock)> make;
};

inline void PrintTo(const SeatInventoryAdapter& adapter, std::ostream* out) {
  *out << adapter.name;
}

inline std::string SeatInventoryAdapterName(
    const ::testing::TestParamInfo<SeatInventoryAdapter>& info) {
  return info.param.name;
}

// The suite's default event. Section 101 (tier A, 25000): row A of 10 seats (1 and 2
// accessible), row B of 10. Section 201 (tier B, 9000): row A of 5. Limits per_order 4,
// per_customer 6, ttl 60 s.
inline constexpr const char* kInventoryEventJson = R"({
  "name": "Test", "price_tiers": [{"id": "A", "price_cents": 25000},
                                  {"id": "B", "price_cents": 9000}],
  "sections": [{"id": "101", "tier": "A", "rows": [{"label": "A", "seats": 10, "accessible": [1, 2]},
                                                   {"label": "B", "seats": 10}]},
               {"id": "201", "tier": "B", "rows": [{"label": "A", "seats": 5}]}],
  "limits": {"per_order": 4, "per_customer": 6}, "hold_ttl_s": 60})";

inline std::unique_ptr<Event> MakeInventoryEvent(const char* json = kInventoryEventJson,
                                                 std::string id = "evt_0123456789abcdef") {
  Result<EventDefinition> definition = ParseEventDefinition(boost::json::parse(json));
  EXPECT_TRUE(definition.ok()) << (definition.ok() ? "" : definition.error().message);
  definition->id = std::move(id);
  return std::make_unique<Event>(std::move(definition).value());
}

class SeatInventoryConformance : public ::testing::TestWithParam<SeatInventoryAdapter> {
 protected:
  SeatInventoryConformance()
      : event_(MakeInventoryEvent()), inventory_(Make(*event_, clock_)), table_(*inventory_) {}

  static std::unique_ptr<Event> MakeEvent(const char* json) { return MakeInventoryEvent(json); }
  static std::unique_ptr<SeatInventory> Make(const Event& event, const Clock& clock) {
    return GetParam().make(event, clock);
  }

  std::uint32_t Index(const std::string& id) const { return *event_->seat_map().Find(id); }
  SeatState State(const std::string& id) const { return table_.Seat(Index(id)); }
  SeatRequest At(const std::string& id) const { return SeatRequest{Index(id), State(id).version}; }
  std::vector<std::string> Ids(const Hold& hold) const {
    std::vector<std::string> ids;
    for (const HeldSeat& seat : hold.seats) ids.push_back(event_->seat_map().SeatId(seat.index));
    return ids;
  }
  std::vector<std::string> JsonIds(const boost::json::value& array, bool objects) const {
    std::vector<std::string> ids;
    for (const auto& item : array.get_array()) {
      ids.emplace_back(objects ? item.at("id").get_string() : item.get_string());
    }
    return ids;
  }

  FakeClock clock_;
  std::unique_ptr<Event> event_;
  std::unique_ptr<SeatInventory> inventory_;
  SeatInventory& table_;
  const HoldOwner alice_{"ses_alice", ""};
  const HoldOwner bob_{"ses_bob", ""};
};

}  // namespace boxoffice
