// The QueueStore conformance suite, run against every adapter: the in-memory store and the
// ledger-backed store on SQLite. A later Redis adapter joins the parameter list.
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <memory>
#include <ostream>

#include "common/crypto.hpp"
#include "ports/clock.hpp"
#include "store/ledger_conformance.hpp"
#include "store/ledger_queue_store.hpp"
#include "store/memory/memory_queue_store.hpp"
#include "store/sqlite/sqlite_ledger.hpp"
#include "waitingroom/waiting_room.hpp"

namespace boxoffice {
namespace {

// Owns whatever an adapter needs (a ledger, a directory) next to the store itself.
struct StoreUnderTest {
  std::unique_ptr<ledger_conformance::TempDir> dir;
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<QueueStore> store;
};

struct QueueStoreFactory {
  std::string name;
  // Opens the store; `previous` (when given) is reopened over the same durable state.
  std::function<StoreUnderTest(StoreUnderTest* previous)> open;
};

// Names the adapter in test listings instead of dumping the struct's bytes.
void PrintTo(const QueueStoreFactory& factory, std::ostream* out) { *out << factory.name; }

StoreUnderTest OpenMemory(StoreUnderTest* previous) {
  StoreUnderTest opened;
  // Memory has no durable state to reopen: the same object stands for "after the restart".
  opened.store = previous ? std::move(previous->store) : std::make_unique<MemoryQueueStore>();
  return opened;
}

StoreUnderTest OpenLedger(StoreUnderTest* previous) {
  StoreUnderTest opened;
  if (previous) {
    opened.dir = std::move(previous->dir);
    previous->store.reset();
    previous->ledger.reset();
  } else {
    opened.dir = std::make_unique<ledger_conformance::TempDir>();
  }
  auto ledger = SqliteLedger::Open(SqliteLedgerOptions{.path = opened.dir->path() + "/ledger.db"});
  EXPECT_TRUE(ledger.ok());
  if (!ledger) return opened;
  opened.ledger = std::move(ledger).value();
  opened.store = std::make_unique<LedgerQueueStore>(*opened.ledger);
  return opened;
}

class QueueStoreConformance : public ::testing::TestWithParam<QueueStoreFactory> {
 protected:
  void SetUp() override { InitCrypto(); }
};

// A put value reads back, per event and field, and replaces the earlier one.
TEST_P(QueueStoreConformance, PutThenGet) {
  StoreUnderTest opened = GetParam().open(nullptr);
  ASSERT_NE(opened.store, nullptr);
  std::promise<Status> written;
  opened.store->Put("evt_a", "serving", "7", nullptr);
  opened.store->Put("evt_a", "serving", "8", [&written](Status s) { written.set_value(s); });
  EXPECT_TRUE(written.get_future().get().ok());
  opened.store->Put("evt_b", "serving", "1", nullptr);
  opened.store->Flush();
  EXPECT_EQ(*opened.store->Get("evt_a", "serving").value(), "8");
  EXPECT_EQ(*opened.store->Get("evt_b", "serving").value(), "1");
  EXPECT_FALSE(opened.store->Get("evt_a", "seed").value().has_value());
}

// A waiting room reopened over the same store keeps places and never reissues a number.
TEST_P(QueueStoreConformance, WaitingRoomSurvivesReopen) {
  FakeClock clock;
  StoreUnderTest opened = GetParam().open(nullptr);
  ASSERT_NE(opened.store, nullptr);
  EventDefinition event;
  event.id = "evt_r";
  event.queue.enabled = true;
  event.queue.paused = true;
  std::string ticket;
  {
    WaitingRoom room(*opened.store, clock, "secret");
    std::promise<Status> ready;
    room.Attach(event, nullptr, false, [&ready](Status s) { ready.set_value(s); });
    ASSERT_TRUE(ready.get_future().get().ok());
    for (int i = 0; i < 5; ++i) {
      Result<FanView> view = room.Join("evt_r", FanIdentity{"ses_" + std::to_string(i), "", ""});
      ASSERT_TRUE(view.ok());
      ticket = view->queue_ticket;
    }
    opened.store->Flush();
  }
  StoreUnderTest reopened = GetParam().open(&opened);
  ASSERT_NE(reopened.store, nullptr);
  WaitingRoom room(*reopened.store, clock, "secret");
  room.Attach(event, nullptr, true);
  reopened.store->Flush();
  Result<FanView> view = room.Poll("evt_r", "ses_4", ticket);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->position, 5u);
  Result<FanView> newcomer = room.Join("evt_r", FanIdentity{"ses_new", "", ""});
  ASSERT_TRUE(newcomer.ok());
  EXPECT_GT(*newcomer->position, kSequenceBlock);
}

INSTANTIATE_TEST_SUITE_P(Adapters, QueueStoreConformance,
                         ::testing::Values(QueueStoreFactory{"Memory", OpenMemory},
                                           QueueStoreFactory{"Ledger", OpenLedger}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace boxoffice
