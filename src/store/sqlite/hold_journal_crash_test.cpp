// The hold journal's crash test on the embedded adapter: a process holding and releasing seats
// through the HoldService and the SQLite ledger is SIGKILLed mid-stream, again and again, and
// what it acknowledged must come back at the next start (tests/support/crash.hpp).
#include <gtest/gtest.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "inventory/hold_service.hpp"
#include "store/ledger_conformance.hpp"
#include "store/sqlite/sqlite_ledger.hpp"
#include "support/crash.hpp"
#include "support/holds.hpp"

namespace boxoffice {
namespace {

using ledger_conformance::TempDir;
using std::chrono::seconds;
using test_support::CreateEvent;

std::unique_ptr<SqliteLedger> OpenLedger(const std::string& dir) {
  auto opened = SqliteLedger::Open(SqliteLedgerOptions{.path = dir + "/ledger.db"});
  EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
  return opened.ok() ? std::move(opened).value() : nullptr;
}

// The hold service on the SQLite ledger in `dir`.
struct Stack {
  Stack(const std::string& dir, const Clock& clock)
      : ledger(OpenLedger(dir)), catalog(*ledger, clock), service(catalog, *ledger, clock) {
    EXPECT_TRUE(catalog.Load().ok());
  }
  std::unique_ptr<SqliteLedger> ledger;
  Catalog catalog;
  HoldService service;
};

// One line of the child's report, written with one write(2) (atomic below PIPE_BUF).
struct CrashAck {
  enum Kind : std::uint32_t { kHeld = 0, kReleaseRequested = 1, kReleased = 2 };
  Kind kind;
  char hold_id[44];
};
static_assert(sizeof(CrashAck) <= PIPE_BUF);

void WriteAck(int fd, CrashAck::Kind kind, const std::string& hold_id) {
  CrashAck ack{kind, {}};
  std::memcpy(ack.hold_id, hold_id.data(), std::min(hold_id.size(), sizeof(ack.hold_id) - 1));
  test_support::WriteAckRecord(fd, ack);
}

// Holds and releases seats as fast as the journal takes them, reporting each acknowledgement.
[[noreturn]] void RunHoldCrashChild(const std::string& dir, int ack_fd, std::uint32_t round) {
  constexpr int kInFlightMax = 256;
  SystemClock clock;
  auto opened = SqliteLedger::Open(SqliteLedgerOptions{.path = dir + "/ledger.db"});
  if (!opened.ok()) _exit(3);
  std::unique_ptr<SqliteLedger> ledger = std::move(opened).value();
  Catalog catalog(*ledger, clock);
  HoldService service(catalog, *ledger, clock);
  if (!catalog.Load().ok() || !service.Restore().ok()) _exit(4);
  EventPage page = std::move(catalog.List(1, std::nullopt)).value();
  std::shared_ptr<Event> event = catalog.Find(page.items.at(0)->definition().id);
  SeatInventory& table = service.InventoryFor(event);
  std::mutex mutex;
  std::deque<std::pair<std::string, std::string>> acked;  // (hold id, session)
  // Holds of earlier rounds are releasable too, or the event would stay sold out.
  Result<std::vector<HoldRecord>> restored = ledger->LoadLiveHolds();
  if (!restored.ok()) _exit(8);
  for (const HoldRecord& record : *restored) acked.emplace_back(record.id, record.session_id);
  std::atomic<int> in_flight{0};
  std::mt19937 random(round);
  const auto give_up = std::chrono::steady_clock::now() + test_support::kCrashChildLifetime;
  for (std::uint64_t i = 0; std::chrono::steady_clock::now() < give_up; ++i) {
    while (in_flight.load() >= kInFlightMax)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    std::pair<std::string, std::string> to_release;
    {
      std::lock_guard lock(mutex);
      if (acked.size() > 50 && random() % 2 == 0) {
        to_release = std::move(acked.front());
        acked.pop_front();
      }
    }
    if (!to_release.first.empty()) {
      WriteAck(ack_fd, CrashAck::kReleaseRequested, to_release.first);
      ++in_flight;
      service.Release(to_release.first, to_release.second,
                      [ack_fd, id = to_release.first, &in_flight](Status status) {
                        if (!status.ok()) _exit(5);
                        WriteAck(ack_fd, CrashAck::kReleased, id);
                        --in_flight;
                      });
      continue;
    }
    const std::string session = "ses_" + std::to_string(round) + "_" + std::to_string(i);
    Result<Hold> held = table.HoldBestAvailable(
        {session, ""}, {1 + static_cast<std::uint32_t>(random() % 4), {}, false});
    if (!held) continue;  // sold out for now: releases will free seats
    ++in_flight;
    service.Acknowledge(table, std::move(held).value(),
                        [ack_fd, session, &mutex, &acked, &in_flight](Result<Hold> hold) {
                          if (!hold.ok()) _exit(7);
                          WriteAck(ack_fd, CrashAck::kHeld, hold->id);
                          {
                            std::lock_guard lock(mutex);
                            acked.emplace_back(hold->id, session);
                          }
                          --in_flight;
                        });
  }
  _exit(0);
}

// SIGKILL a process holding and releasing seats, several times over one data dir: every
// acknowledged hold that no one asked to release is restored, no acknowledged release comes back,
// and the restored seat tables satisfy the invariant.
TEST(HoldServiceCrashTest, NoAcknowledgedHoldLostNoReleasedHoldResurrected) {
  constexpr std::uint32_t kRounds = 3;
  constexpr std::size_t kAcksBeforeKill = 1'500;
  TempDir dir;
  SystemClock clock;
  {
    Stack stack(dir.path(), clock);
    // 400 seats, so holds run out and releases matter.
    ASSERT_NE(CreateEvent(stack.catalog, R"({
      "name": "Crash", "price_tiers": [{"id": "A", "price_cents": 1000}],
      "sections": [{"id": "S", "tier": "A", "rows": [{"label": "A", "seats": 100},
        {"label": "B", "seats": 100}, {"label": "C", "seats": 100}, {"label": "D", "seats": 100}]}],
      "limits": {"per_order": 4, "per_customer": 4}, "hold_ttl_s": 3600})"),
              nullptr);
  }
  std::set<std::string> held, release_requested, released;
  for (std::uint32_t round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<CrashAck> acks;
    ASSERT_NO_FATAL_FAILURE(test_support::KillAfterAcks<CrashAck>(
        kAcksBeforeKill, [&](int ack_fd) { RunHoldCrashChild(dir.path(), ack_fd, round); }, acks));
    for (const CrashAck& ack : acks) {
      const std::string id(ack.hold_id);
      if (ack.kind == CrashAck::kHeld) held.insert(id);
      if (ack.kind == CrashAck::kReleaseRequested) release_requested.insert(id);
      if (ack.kind == CrashAck::kReleased) released.insert(id);
    }

    Stack stack(dir.path(), clock);
    ASSERT_TRUE(stack.service.Restore().ok());
    std::shared_ptr<Event> event =
        stack.catalog.Find(stack.catalog.List(1, std::nullopt)->items.at(0)->definition().id);
    SeatInventory& table = stack.service.InventoryFor(event);
    std::size_t live = 0;
    for (const std::string& id : held) {
      std::optional<Hold> hold = table.Find(id);
      const bool is_live = hold && hold->status == HoldStatus::kHeld;
      if (released.contains(id)) {
        EXPECT_FALSE(is_live) << "released hold " << id << " came back in round " << round;
      } else if (!release_requested.contains(id)) {
        EXPECT_TRUE(is_live) << "acknowledged hold " << id << " lost in round " << round;
      }
      live += is_live;
    }
    // Holds journaled but not yet acknowledged at the kill may survive too; never fewer.
    EXPECT_GE(table.live_holds(), live);
    EXPECT_TRUE(table.CheckInvariant());
  }
}

}  // namespace
}  // namespace boxoffice
