#include "inventory/hold_service.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/time.hpp"
#include "store/ledger_conformance.hpp"
#include "store/memory/memory_ledger.hpp"
#include "support/holds.hpp"

namespace boxoffice {
namespace {

using std::chrono::seconds;
using test_support::AcknowledgeAndWait;
using test_support::CreateEvent;
using test_support::ReleaseAndWait;

// Everything a test needs to run holds against a journal, reopenable: a second Stack on the
// same data is a restart.
struct Stack {
  Stack(const std::shared_ptr<MemoryLedgerData>& data, const Clock& clock)
      : ledger(std::make_unique<MemoryLedger>(data)),
        catalog(*ledger, clock),
        service(catalog, *ledger, clock) {
    EXPECT_TRUE(catalog.Load().ok());
  }
  std::unique_ptr<MemoryLedger> ledger;
  Catalog catalog;
  HoldService service;
};

// After a reopen, live holds are back with their seats and versions; released and expired
// holds are not, and the expired one is ended in the journal.
TEST(HoldServiceTest, RestoreAfterReopenKeepsOnlyLiveHolds) {
  const std::shared_ptr<MemoryLedgerData> data = MemoryLedger::NewData();
  FakeClock clock;
  std::string event_id, kept_id, released_id, expired_id;
  std::vector<HeldSeat> kept_seats;
  {
    Stack stack(data, clock);
    std::shared_ptr<Event> event = CreateEvent(stack.catalog);
    ASSERT_NE(event, nullptr);
    event_id = event->definition().id;
    SeatInventory& table = stack.service.InventoryFor(event);
    Result<Hold> expired = AcknowledgeAndWait(
        stack.service, table, table.HoldBestAvailable({"ses_1", ""}, {2, {}, false}));
    ASSERT_TRUE(expired.ok());
    expired_id = expired->id;
    clock.Advance(seconds(30));
    Result<Hold> kept = AcknowledgeAndWait(stack.service, table,
                                           table.HoldBestAvailable({"ses_2", ""}, {3, {}, false}));
    Result<Hold> released = AcknowledgeAndWait(
        stack.service, table, table.HoldBestAvailable({"ses_3", ""}, {1, {}, false}));
    ASSERT_TRUE(kept.ok() && released.ok());
    kept_id = kept->id;
    kept_seats = kept->seats;
    released_id = released->id;
    // Only the owning session may release.
    EXPECT_EQ(ReleaseAndWait(stack.service, released_id, "ses_2").error().code, "hold_not_found");
    ASSERT_TRUE(ReleaseAndWait(stack.service, released_id, "ses_3").ok());
  }
  clock.Advance(seconds(31));  // the first hold's deadline has passed; the second's has not
  Stack stack(data, clock);
  ASSERT_TRUE(stack.service.Restore().ok());
  std::shared_ptr<Event> event = stack.catalog.Find(event_id);
  ASSERT_NE(event, nullptr);
  Result<Hold> kept = stack.service.Get(kept_id, "ses_2");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->status, HoldStatus::kHeld);
  for (const HeldSeat& seat : kept_seats) {
    EXPECT_EQ(stack.service.InventoryFor(event).Seat(seat.index).status, SeatStatus::kHeld);
    EXPECT_EQ(stack.service.InventoryFor(event).Seat(seat.index).version, seat.version);
  }
  EXPECT_EQ(stack.service.Get(kept_id, "ses_1").error().code, "hold_not_found");
  EXPECT_FALSE(stack.service.Get(released_id, "ses_3").ok());
  EXPECT_FALSE(stack.service.Get(expired_id, "ses_1").ok());
  EXPECT_EQ(stack.service.InventoryFor(event).Counts().held, 3u);
  EXPECT_TRUE(stack.service.InventoryFor(event).CheckInvariant());
  auto live = stack.ledger->LoadLiveHolds();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, kept_id);
}

// Two journaled live holds naming one seat (a release lost in a crash): the later one wins.
TEST(HoldServiceTest, RestoreKeepsTheLaterOfTwoHoldsOnOneSeat) {
  const std::shared_ptr<MemoryLedgerData> data = MemoryLedger::NewData();
  FakeClock clock;
  std::string event_id;
  {
    Stack stack(data, clock);
    std::shared_ptr<Event> event = CreateEvent(stack.catalog);
    event_id = event->definition().id;
    const std::string token = event_id.substr(4);
    for (const char* suffix : {"0000001earlier00", "0000002later0000"}) {
      HoldRecord record{
          "hld_" + token + suffix,
          event_id,
          std::string("ses_") + suffix,
          "",
          std::string(R"([{"id":"S-A-1","version":)") + (suffix[6] == '1' ? "1" : "3") + "}]",
          1000,
          ToUnixMillis(clock.Now()),
          ToUnixMillis(clock.Now() + seconds(60))};
      ASSERT_TRUE(ledger_conformance::InsertHoldAndWait(*stack.ledger, record).ok());
    }
  }
  Stack stack(data, clock);
  ASSERT_TRUE(stack.service.Restore().ok());
  auto live = stack.ledger->LoadLiveHolds();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].session_id, "ses_0000002later0000");
  const std::shared_ptr<Event> event = stack.catalog.Find(event_id);
  EXPECT_EQ(stack.service.InventoryFor(event).Seat(0).version, 3u);
  EXPECT_EQ(stack.service.InventoryFor(event).Counts().held, 1u);
}

}  // namespace
}  // namespace boxoffice
