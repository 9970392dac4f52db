// The embedded seat inventory, HoldTable, passes the SeatInventory port's conformance suite.
#include "inventory/hold_table.hpp"

#include <gtest/gtest.h>

#include "store/seat_inventory_conformance.hpp"

namespace boxoffice {
namespace {

std::unique_ptr<SeatInventory> MakeHoldTable(const Event& event, const Clock& clock) {
  return std::make_unique<HoldTable>(event.definition(), event.seat_map(), clock);
}

const SeatInventoryAdapter kHoldTable{"HoldTable", MakeHoldTable};

}  // namespace

INSTANTIATE_TEST_SUITE_P(HoldTable, SeatInventoryConformance, ::testing::Values(kHoldTable),
                         SeatInventoryAdapterName);

}  // namespace boxoffice
