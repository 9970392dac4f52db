#include "store/sqlite/sqlite_ledger.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/ledger_conformance.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_handle.hpp"
#include "support/crash.hpp"

namespace boxoffice {
namespace {

using ledger_conformance::LedgerConformance;
using ledger_conformance::LedgerFactory;
using ledger_conformance::LedgerFactoryName;
using ledger_conformance::PutSettingAndWait;
using ledger_conformance::TempDir;

std::string DatabasePath(const std::string& dir) { return dir + "/ledger.db"; }

std::unique_ptr<Ledger> OpenSqliteInDir(const std::string& dir) {
  auto opened = SqliteLedger::Open(SqliteLedgerOptions{.path = DatabasePath(dir)});
  if (!opened.ok()) {
    ADD_FAILURE() << opened.error().message;
    return nullptr;
  }
  return std::move(opened).value();
}

class SqliteLedgerTest : public ::testing::Test {
 protected:
  std::string path() const { return DatabasePath(dir_.path()); }

  std::unique_ptr<SqliteLedger> OpenLedger(SqliteLedgerOptions options = {}) {
    options.path = path();
    auto opened = SqliteLedger::Open(std::move(options));
    if (!opened.ok()) {
      ADD_FAILURE() << opened.error().message;
      return nullptr;
    }
    return std::move(opened).value();
  }

  // A plain connection beside the ledger, to look at the file the way another process would.
  std::unique_ptr<sqlite::Connection> OpenRaw() {
    auto opened = sqlite::Connection::Open(path(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                           /*busy_timeout_ms=*/5'000);
    if (!opened.ok()) {
      ADD_FAILURE() << opened.error().message;
      return nullptr;
    }
    return std::move(opened).value();
  }

  std::string Query(sqlite::Connection& connection, std::string_view sql) {
    auto text = connection.QueryText(sql);
    if (!text.ok()) {
      ADD_FAILURE() << text.error().message;
      return "";
    }
    return *text;
  }

  TempDir dir_;
};

// Blocks the writer thread inside a `done` until released, so writes pile up in the queue and
// the next group is known exactly.
class WriterGate {
 public:
  explicit WriterGate(SqliteLedger& ledger) {
    std::shared_future<void> released = release_.get_future().share();
    auto entered = std::make_shared<std::promise<void>>();
    std::future<void> entered_future = entered->get_future();
    ledger.PutSetting("gate", "closed", [entered, released](Status) {
      entered->set_value();
      released.wait();
    });
    entered_future.wait();
  }
  void Open() { release_.set_value(); }

 private:
  std::promise<void> release_;
};

// The schema is recorded once per version, and reopening neither reapplies nor re-records it.
TEST_F(SqliteLedgerTest, MigrationsAreAppliedOnceAndReopenIsIdempotent) {
  { ASSERT_NE(OpenLedger(), nullptr); }
  auto raw = OpenRaw();
  ASSERT_NE(raw, nullptr);
  const std::string expected_count = std::to_string(sqlite::LedgerMigrations().size());
  EXPECT_EQ(Query(*raw, "SELECT COUNT(*) FROM schema_migrations"), expected_count);
  EXPECT_EQ(Query(*raw, "SELECT MAX(version) FROM schema_migrations"), expected_count);
  EXPECT_EQ(Query(*raw,
                  "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                  "('events', 'customers', 'settings')"),
            "3");
  const std::string recorded =
      Query(*raw, "SELECT group_concat(version || '@' || applied_at, ',') FROM schema_migrations");
  EXPECT_FALSE(recorded.empty());
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto ledger = OpenLedger();
    ASSERT_NE(ledger, nullptr);
    ASSERT_TRUE(PutSettingAndWait(*ledger, "reopen", std::to_string(reopen)).ok());
  }
  EXPECT_EQ(Query(*raw,
                  "SELECT group_concat(version || '@' || applied_at, ',') FROM "
                  "schema_migrations"),
            recorded);
}

// The runner applies only the versions a database lacks, and a failing migration leaves the
// database exactly as it was.
TEST_F(SqliteLedgerTest, ApplyMigrationsAppliesOnlyTheMissingOnes) {
  auto raw = OpenRaw();
  ASSERT_NE(raw, nullptr);
  // Without IF NOT EXISTS: running a migration twice would fail.
  const sqlite::Migration v1{1, "a", "CREATE TABLE a (x INTEGER)"};
  const sqlite::Migration v2{2, "b", "CREATE TABLE b (y INTEGER)"};
  const sqlite::Migration v3{3, "broken",
                             "CREATE TABLE c (z INTEGER); INSERT INTO nowhere VALUES (1)"};
  const sqlite::Migration first[] = {v1};
  const sqlite::Migration second[] = {v1, v2};
  const sqlite::Migration third[] = {v1, v2, v3};
  ASSERT_TRUE(sqlite::ApplyMigrations(*raw, first, "t1").ok());
  Status upgraded = sqlite::ApplyMigrations(*raw, second, "t2");
  ASSERT_TRUE(upgraded.ok()) << upgraded.error().message;
  EXPECT_EQ(Query(*raw,
                  "SELECT group_concat(version || '@' || applied_at, ',') FROM "
                  "(SELECT * FROM schema_migrations ORDER BY version)"),
            "1@t1,2@t2");
  Status broken = sqlite::ApplyMigrations(*raw, third, "t3");
  EXPECT_FALSE(broken.ok());
  EXPECT_EQ(Query(*raw, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'c'"), "0");
  EXPECT_EQ(Query(*raw, "SELECT COUNT(*) FROM schema_migrations"), "2");
  const sqlite::Migration gap[] = {v2};
  EXPECT_FALSE(sqlite::ApplyMigrations(*raw, gap, "t4").ok());
}

// A database written by a newer build (a version this code does not know) is refused.
TEST_F(SqliteLedgerTest, RefusesADatabaseWithANewerSchema) {
  { ASSERT_NE(OpenLedger(), nullptr); }
  {
    auto raw = OpenRaw();
    ASSERT_NE(raw, nullptr);
    ASSERT_TRUE(
        raw->Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 'future')")
            .ok());
  }
  auto opened = SqliteLedger::Open(SqliteLedgerOptions{.path = path()});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::kInternal);
  EXPECT_EQ(opened.error().code, "ledger_schema_too_new");
}

// Unusable options and an unreachable file fail Open with an error, not a crash.
TEST_F(SqliteLedgerTest, OpenFailsCleanly) {
  auto no_path = SqliteLedger::Open(SqliteLedgerOptions{});
  ASSERT_FALSE(no_path.ok());
  EXPECT_EQ(no_path.error().code, "ledger_bad_options");
  auto no_batch = SqliteLedger::Open(SqliteLedgerOptions{.path = path(), .max_batch = 0});
  ASSERT_FALSE(no_batch.ok());
  EXPECT_EQ(no_batch.error().code, "ledger_bad_options");
  auto missing_dir = SqliteLedger::Open(SqliteLedgerOptions{.path = dir_.path() + "/no/such.db"});
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.error().kind, ErrorKind::kInternal);
}

// The file is in WAL mode (persisted in the file, so any connection sees it) and writes go to
// the WAL.
TEST_F(SqliteLedgerTest, UsesWriteAheadLogging) {
  auto ledger = OpenLedger();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(PutSettingAndWait(*ledger, "k", "v").ok());
  EXPECT_TRUE(std::filesystem::exists(path() + "-wal"));
  auto raw = OpenRaw();
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(Query(*raw, "PRAGMA journal_mode"), "wal");
}

// Writes queued while the writer is busy commit together: 1000 writes take exactly
// ceil(1000 / max_batch) commits, never more than max_batch per group.
TEST_F(SqliteLedgerTest, GroupCommitTakesEverythingQueuedUpToMaxBatch) {
  constexpr int kWrites = 1000;
  for (const std::size_t max_batch : {std::size_t{512}, std::size_t{100}}) {
    auto ledger = OpenLedger(SqliteLedgerOptions{.path = path(), .max_batch = max_batch});
    ASSERT_NE(ledger, nullptr);
    std::atomic<int> succeeded{0};
    WriterGate gate(*ledger);
    const std::uint64_t commits_before = ledger->commits();
    for (int i = 0; i < kWrites; ++i) {
      ledger->PutSetting("batch_" + std::to_string(i), "v", [&](Status status) {
        if (status.ok()) ++succeeded;
      });
    }
    gate.Open();
    ledger->Flush();
    EXPECT_EQ(succeeded.load(), kWrites);
    EXPECT_EQ(ledger->commits() - commits_before, (kWrites + max_batch - 1) / max_batch)
        << "max_batch " << max_batch;
  }
}

// Writes beyond queue_max are refused with kUnavailable instead of growing the queue.
TEST_F(SqliteLedgerTest, RefusesWritesBeyondTheQueueLimit) {
  auto ledger = OpenLedger(SqliteLedgerOptions{.path = path(), .queue_max = 10});
  ASSERT_NE(ledger, nullptr);
  std::atomic<int> succeeded{0};
  std::atomic<int> overloaded{0};
  WriterGate gate(*ledger);  // the gate's own write has left the queue
  for (int i = 0; i < 15; ++i) {
    ledger->PutSetting("queued_" + std::to_string(i), "v", [&](Status status) {
      if (status.ok()) {
        ++succeeded;
      } else if (status.error().kind == ErrorKind::kUnavailable &&
                 status.error().code == "ledger_overloaded") {
        ++overloaded;
      }
    });
  }
  gate.Open();
  ledger->Flush();
  EXPECT_EQ(succeeded.load(), 10);
  EXPECT_EQ(overloaded.load(), 5);
  auto refused = ledger->GetSetting("queued_14");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(*refused, std::nullopt);
}

// When the group's transaction cannot start (another process holds the write lock), every write
// of the group fails instead of being acknowledged, and the next group succeeds.
TEST_F(SqliteLedgerTest, AGroupThatCannotBeginFailsEveryWriteAndTheWriterRecovers) {
  auto ledger = OpenLedger(SqliteLedgerOptions{.path = path(), .busy_timeout_ms = 50});
  ASSERT_NE(ledger, nullptr);
  auto raw = OpenRaw();
  ASSERT_NE(raw, nullptr);
  ASSERT_TRUE(raw->Exec("BEGIN IMMEDIATE").ok());
  Status blocked = PutSettingAndWait(*ledger, "blocked", "v");
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().kind, ErrorKind::kInternal);
  // Readers are not held up by the lock (WAL).
  auto read = ledger->GetSetting("blocked");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, std::nullopt);
  ASSERT_TRUE(raw->Exec("ROLLBACK").ok());
  EXPECT_TRUE(PutSettingAndWait(*ledger, "after", "v").ok());
  read = ledger->GetSetting("blocked");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, std::nullopt);
}

// A write submitted once the destructor has begun (here from a done) completes with
// kUnavailable "ledger_closed" and is not written; the writes before it are.
TEST_F(SqliteLedgerTest, WritesAfterShutdownBeganCompleteUnavailable) {
  auto ledger = OpenLedger();
  ASSERT_NE(ledger, nullptr);
  SqliteLedger* raw = ledger.get();
  auto late = std::make_shared<std::promise<Status>>();
  std::future<Status> late_status = late->get_future();
  std::atomic<bool> saw_closing{false};
  raw->PutSetting("first", "1", [raw, late, &saw_closing](Status) {
    // Runs on the writer thread, which the destructor cannot join before this returns.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!raw->IsClosing() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    saw_closing = raw->IsClosing();
    raw->PutSetting("late", "2", [late](Status status) { late->set_value(std::move(status)); });
  });
  ledger.reset();
  ASSERT_TRUE(saw_closing.load());
  ASSERT_EQ(late_status.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  Status status = late_status.get();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(status.error().code, "ledger_closed");

  auto reopened = OpenLedger();
  ASSERT_NE(reopened, nullptr);
  auto first = reopened->GetSetting("first");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, std::optional<std::string>("1"));
  auto missing = reopened->GetSetting("late");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, std::nullopt);
}

// ---- Crash test -------------------------------------------------------------------------------

// One acknowledgement, written by the child with a single write(2). Records no larger than
// PIPE_BUF are written atomically, so a SIGKILL never leaves half a record in the pipe.
struct AckRecord {
  std::uint32_t round;
  std::uint32_t kind;  // 0: a setting, 1: a customer
  std::uint64_t index;
};
static_assert(sizeof(AckRecord) == 16);
static_assert(sizeof(AckRecord) <= PIPE_BUF);

std::string AckKey(const AckRecord& record) {
  return "crash_" + std::to_string(record.round) + "_" + std::to_string(record.index);
}

// The child: writes as fast as the ledger takes them and acknowledges each `done` on the pipe.
// It never returns into GoogleTest; the parent kills it mid-stream.
[[noreturn]] void RunCrashChild(const std::string& path, int ack_fd, std::uint32_t round) {
  constexpr int kInFlightMax = 4'096;  // keeps the child's queue and memory bounded
  auto opened = SqliteLedger::Open(SqliteLedgerOptions{.path = path});
  if (!opened.ok()) _exit(3);
  std::unique_ptr<SqliteLedger> ledger = std::move(opened).value();
  std::atomic<int> in_flight{0};
  const auto give_up = std::chrono::steady_clock::now() + test_support::kCrashChildLifetime;
  for (std::uint64_t i = 0; std::chrono::steady_clock::now() < give_up; ++i) {
    while (in_flight.load() >= kInFlightMax)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    ++in_flight;
    const AckRecord record{round, static_cast<std::uint32_t>(i % 2), i};
    auto done = [ack_fd, record, &in_flight](Status status) {
      if (!status.ok()) _exit(5);
      test_support::WriteAckRecord(ack_fd, record);
      --in_flight;
    };
    const std::string key = AckKey(record);
    if (record.kind == 0) {
      ledger->PutSetting(key, "value_" + std::to_string(i), done);
    } else {
      ledger->InsertCustomer(CustomerRecord{"cus_" + key, key + "@example.com", "hash", 1}, done);
    }
  }
  _exit(0);  // the parent expects to kill us first; exiting is reported as a failure
}

// SIGKILL the writing process mid-stream, several times over the same file: every write whose
// done ran is in the database afterwards, and the file passes SQLite's integrity check. (A kill
// proves done-after-commit; surviving a power cut additionally rests on synchronous=FULL.)
TEST(SqliteLedgerCrashTest, EveryAcknowledgedWriteSurvivesSigkill) {
  constexpr std::uint32_t kRounds = 3;
  constexpr std::size_t kAcksBeforeKill = 2'000;
  TempDir dir;
  const std::string path = DatabasePath(dir.path());
  std::vector<AckRecord> acks;
  for (std::uint32_t round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE(test_support::KillAfterAcks<AckRecord>(
        kAcksBeforeKill, [&](int ack_fd) { RunCrashChild(path, ack_fd, round); }, acks));

    auto opened = SqliteLedger::Open(SqliteLedgerOptions{.path = path});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    std::unique_ptr<SqliteLedger> ledger = std::move(opened).value();
    for (const AckRecord& ack : acks) {
      const std::string key = AckKey(ack);
      if (ack.kind == 0) {
        auto value = ledger->GetSetting(key);
        ASSERT_TRUE(value.ok()) << value.error().message;
        ASSERT_EQ(*value, std::optional<std::string>("value_" + std::to_string(ack.index)))
            << "acknowledged setting " << key << " lost after the kill in round " << round;
      } else {
        auto customer = ledger->FindCustomerByEmail(key + "@example.com");
        ASSERT_TRUE(customer.ok()) << customer.error().message;
        ASSERT_TRUE(customer->has_value())
            << "acknowledged customer " << key << " lost after the kill in round " << round;
      }
    }
    ledger.reset();
    auto raw = sqlite::Connection::Open(path, SQLITE_OPEN_READWRITE, 5'000);
    ASSERT_TRUE(raw.ok());
    auto integrity = (*raw)->QueryText("PRAGMA integrity_check");
    ASSERT_TRUE(integrity.ok());
    EXPECT_EQ(*integrity, "ok");
  }
}

// The checkout's crash test: the child journals a hold, begins its payment and confirms the
// order (a chain of writes, each queued from the previous one's done) as fast as it can, and
// acknowledges each confirmed order. After SIGKILL every acknowledged order is there whole, its
// hold ended and its attempt confirmed, and no seat is sold without its order (all or nothing).
std::string CrashOrderId(const AckRecord& record) {
  return "ord_crash_" + std::to_string(record.round) + "_" + std::to_string(record.index);
}

[[noreturn]] void RunOrderCrashChild(const std::string& path, int ack_fd, std::uint32_t round) {
  constexpr int kInFlightMax = 1'024;
  auto opened = SqliteLedger::Open(SqliteLedgerOptions{.path = path});
  if (!opened.ok()) _exit(3);
  std::unique_ptr<SqliteLedger> ledger = std::move(opened).value();
  SqliteLedger* raw = ledger.get();
  std::atomic<int> in_flight{0};
  const auto give_up = std::chrono::steady_clock::now() + test_support::kCrashChildLifetime;
  for (std::uint64_t i = 0; std::chrono::steady_clock::now() < give_up; ++i) {
    while (in_flight.load() >= kInFlightMax)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    ++in_flight;
    const AckRecord record{round, 2, i};
    const std::string order_id = CrashOrderId(record);
    const std::string hold_id = "hld_" + order_id;
    ConfirmOrderRecord confirm;
    confirm.order = OrderRecord{order_id,         "evt_crash",  hold_id, "ses",       "",
                                "a@b.c",          100,          "USD",   "confirmed", "sim",
                                "pi_" + order_id, "authorized", 1,       1,           {}};
    confirm.order.tickets.push_back(
        TicketRecord{"tkt_" + order_id, order_id, "evt_crash",
                     "S-" + std::to_string(round) + "-" + std::to_string(i), 100, "", 0});
    confirm.payment_key = order_id;
    auto acknowledge = [ack_fd, record, &in_flight](Status status) {
      if (!status.ok()) _exit(5);
      test_support::WriteAckRecord(ack_fd, record);
      --in_flight;
    };
    PaymentAttemptRecord attempt{order_id, order_id, "evt_crash", 100, "USD", "pending",
                                 "",       "",       1,           1,   "",    ""};
    raw->InsertHold(HoldRecord{hold_id, "evt_crash", "ses", "", "[]", 100, 1, 2},
                    [raw, attempt = std::move(attempt), confirm = std::move(confirm),
                     acknowledge](Status held) mutable {
                      if (!held.ok()) _exit(7);
                      raw->BeginPayment(
                          std::move(attempt), IdempotencyRecord{},
                          [raw, confirm = std::move(confirm), acknowledge](Status begun) mutable {
                            if (!begun.ok()) _exit(8);
                            raw->ConfirmOrder(std::move(confirm), acknowledge);
                          });
                    });
  }
  _exit(0);
}

TEST(SqliteLedgerCrashTest, EveryAcknowledgedOrderSurvivesSigkill) {
  constexpr std::uint32_t kRounds = 3;
  constexpr std::size_t kAcksBeforeKill = 500;
  TempDir dir;
  const std::string path = DatabasePath(dir.path());
  std::vector<AckRecord> acks;
  for (std::uint32_t round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE(test_support::KillAfterAcks<AckRecord>(
        kAcksBeforeKill, [&](int ack_fd) { RunOrderCrashChild(path, ack_fd, round); }, acks));

    auto opened = SqliteLedger::Open(SqliteLedgerOptions{.path = path});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    std::unique_ptr<SqliteLedger> ledger = std::move(opened).value();
    auto live = ledger->LoadLiveHolds();
    ASSERT_TRUE(live.ok());
    std::set<std::string> live_holds;
    for (const HoldRecord& hold : *live) live_holds.insert(hold.id);
    auto pending_payments = ledger->LoadPendingPayments();
    ASSERT_TRUE(pending_payments.ok());
    std::set<std::string> pending_keys;
    for (const PaymentAttemptRecord& attempt : *pending_payments) {
      pending_keys.insert(attempt.idempotency_key);
    }
    for (const AckRecord& ack : acks) {
      const std::string order_id = CrashOrderId(ack);
      auto order = ledger->FindOrder(order_id);
      ASSERT_TRUE(order.ok()) << order.error().message;
      ASSERT_TRUE(order->has_value()) << "acknowledged order " << order_id << " lost";
      ASSERT_EQ((*order)->tickets.size(), 1u) << order_id;
      ASSERT_FALSE(live_holds.contains("hld_" + order_id)) << "the order's hold is still live";
      ASSERT_FALSE(pending_keys.contains(order_id)) << "the order's attempt is still pending";
    }
    // All or nothing: every sold seat belongs to an order that exists, with its ticket.
    auto sold = ledger->LoadSoldSeats();
    ASSERT_TRUE(sold.ok());
    EXPECT_GE(sold->size(), acks.size());
    for (const SoldSeatRecord& seat : *sold) {
      auto order = ledger->FindOrder(seat.order_id);
      ASSERT_TRUE(order.ok());
      ASSERT_TRUE(order->has_value()) << "seat " << seat.seat_id << " sold without its order";
      ASSERT_EQ((*order)->tickets.size(), 1u);
      EXPECT_EQ((*order)->tickets[0].seat_id, seat.seat_id);
    }
    ledger.reset();
    auto raw = sqlite::Connection::Open(path, SQLITE_OPEN_READWRITE, 5'000);
    ASSERT_TRUE(raw.ok());
    auto integrity = (*raw)->QueryText("PRAGMA integrity_check");
    ASSERT_TRUE(integrity.ok());
    EXPECT_EQ(*integrity, "ok");
  }
}

}  // namespace
}  // namespace boxoffice

namespace boxoffice::ledger_conformance {
BOXOFFICE_LEDGER_CONFORMANCE(Sqlite, (LedgerFactory{"Sqlite", OpenSqliteInDir}));
}  // namespace boxoffice::ledger_conformance
