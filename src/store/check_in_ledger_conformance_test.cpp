// The conformance suite of The CheckInLedger port (ports/check_in_ledger.hpp): the door. Every
// ledger adapter runs it (BOXOFFICE_LEDGER_CONFORMANCE in ledger_conformance.hpp). A *_test.cpp, so
// the build puts it into the test binary.
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

// A ticket checks in once; later scans are already_checked_in with the first time; unknown,
// other-event and revoked tickets are invalid_ticket.
TEST_P(CheckInLedgerConformance, TicketChecksInExactlyOnce) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1", "101-A-2"})).ok());
  ASSERT_TRUE(CheckInAndWait(*ledger, "tkt_ord_1_0", "evt_shop", 1'000).ok());
  Status again = CheckInAndWait(*ledger, "tkt_ord_1_0", "evt_shop", 2'000);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(again.error().code, "already_checked_in");
  EXPECT_EQ(again.error().details.at("first_checked_in_at_ms").as_int64(), 1'000);
  Status unknown = CheckInAndWait(*ledger, "tkt_nope", "evt_shop", 3'000);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "invalid_ticket");
  Status other_event = CheckInAndWait(*ledger, "tkt_ord_1_1", "evt_other", 3'000);
  ASSERT_FALSE(other_event.ok());
  EXPECT_EQ(other_event.error().code, "invalid_ticket");
  ASSERT_TRUE(Refund(*ledger, "ord_1", "refunded").ok());
  Status revoked = CheckInAndWait(*ledger, "tkt_ord_1_1", "evt_shop", 4'000);
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code, "invalid_ticket");
}

// Many scanners scan one ticket at once: exactly one check-in succeeds.
TEST_P(CheckInLedgerConformance, ConcurrentScansCheckInOnce) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"})).ok());
  constexpr int kScanners = 16;
  std::atomic<int> admitted{0};
  std::atomic<int> refused{0};
  std::latch start(kScanners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kScanners; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Status status = CheckInAndWait(*ledger, "tkt_ord_1_0", "evt_shop", 1'000 + i);
      if (status.ok()) ++admitted;
      if (!status.ok() && status.error().code == "already_checked_in") ++refused;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 1);
  EXPECT_EQ(refused.load(), kScanners - 1);
}

// Scanner keys are found by their hash only; a taken hash is scanner_key_exists.
TEST_P(CheckInLedgerConformance, ScannerKeysAreFoundByHash) {
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    const ScannerKeyRecord key{"scn_1", "evt_shop", "hash-1", 5};
    ASSERT_TRUE(WaitForDurable([&](Ledger::Done done) {
                  ledger->InsertScannerKey(key, std::move(done));
                }).ok());
    Status duplicate = WaitForDurable([&](Ledger::Done done) {
      ledger->InsertScannerKey(ScannerKeyRecord{"scn_2", "evt_shop", "hash-1", 6}, std::move(done));
    });
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, "scanner_key_exists");
  }
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto found = ledger->FindScannerKey("hash-1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "scn_1");
  EXPECT_EQ((*found)->event_id, "evt_shop");
  auto missing = ledger->FindScannerKey("hash-2");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
