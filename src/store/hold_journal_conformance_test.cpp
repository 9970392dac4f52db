// The conformance suite of The HoldJournal port (ports/hold_journal.hpp). Every ledger adapter runs
// it (BOXOFFICE_LEDGER_CONFORMANCE in ledger_conformance.hpp). A *_test.cpp, so the build puts it
// into the test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/ledger_conformance.hpp"

namespace boxoffice::ledger_conformance {
namespace {

// Journaled holds come back whole and in the order written; ended ones do not come back.
TEST_P(HoldJournalConformance, LiveHoldsLoadInJournalOrderWithoutEndedOnes) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  for (const char* id : {"hld_c", "hld_a", "hld_b"}) {
    ASSERT_TRUE(InsertHoldAndWait(*ledger, MakeHold(id)).ok());
  }
  ASSERT_TRUE(EndHoldAndWait(*ledger, "hld_a", "released", 1'700'000'001'000).ok());
  auto live = ledger->LoadLiveHolds();
  ASSERT_TRUE(live.ok()) << live.error().message;
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].id, "hld_c");
  EXPECT_EQ((*live)[1].id, "hld_b");
  const HoldRecord expected = MakeHold("hld_b");
  EXPECT_EQ((*live)[1].event_id, expected.event_id);
  EXPECT_EQ((*live)[1].session_id, expected.session_id);
  EXPECT_EQ((*live)[1].customer_id, expected.customer_id);
  EXPECT_EQ((*live)[1].seats_json, expected.seats_json);
  EXPECT_EQ((*live)[1].total_cents, expected.total_cents);
  EXPECT_EQ((*live)[1].created_at_ms, expected.created_at_ms);
  EXPECT_EQ((*live)[1].expires_at_ms, expected.expires_at_ms);
}

// A duplicate hold id is hold_exists; ending twice succeeds; ending an unknown hold is 404.
TEST_P(HoldJournalConformance, HoldConflictsAndEnds) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(InsertHoldAndWait(*ledger, MakeHold("hld_x")).ok());
  Status duplicate = InsertHoldAndWait(*ledger, MakeHold("hld_x"));
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, "hold_exists");
  EXPECT_TRUE(EndHoldAndWait(*ledger, "hld_x", "expired", 1).ok());
  EXPECT_TRUE(EndHoldAndWait(*ledger, "hld_x", "released", 2).ok());
  Status unknown = EndHoldAndWait(*ledger, "hld_nope", "released", 3);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "hold_not_found");
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
}

// Live holds and ends survive closing and reopening the ledger.
TEST_P(HoldJournalConformance, HoldJournalSurvivesReopen) {
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    ASSERT_TRUE(InsertHoldAndWait(*ledger, MakeHold("hld_kept")).ok());
    ASSERT_TRUE(InsertHoldAndWait(*ledger, MakeHold("hld_gone")).ok());
    ASSERT_TRUE(EndHoldAndWait(*ledger, "hld_gone", "released", 5).ok());
  }
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  auto live = reopened->LoadLiveHolds();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "hld_kept");
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
