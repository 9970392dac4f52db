#include "operators/audit_trail.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <future>
#include <string>
#include <thread>

#include "common/time.hpp"
#include "store/memory/memory_ledger.hpp"

namespace boxoffice {
namespace {

const OperatorIdentity kAdmin{std::string(kAdminKeyId), OperatorScope::kOperator};

// Records `entry` and returns what a reader sees of the log inside `then`.
Result<AuditPage> RecordAndReadInThen(AuditTrail& trail, AuditEntry entry) {
  std::promise<Result<AuditPage>> seen;
  trail.Record(kAdmin, std::move(entry), [&] { seen.set_value(trail.Read(0, 100)); });
  return seen.get_future().get();
}

// An entry carries the actor, the clock's time, the action, the target and both states; it is
// readable by the time `then` runs, which is what lets a route answer only after it is written.
TEST(AuditTrailTest, EntryIsDurableWhenThenRuns) {
  MemoryLedger ledger;
  FakeClock clock;
  MetricsRegistry metrics;
  AuditTrail trail(ledger, clock, metrics);
  Result<AuditPage> page = RecordAndReadInThen(
      trail, AuditEntry{audit_action::kQueueUpdate, "evt_1", boost::json::object{{"paused", false}},
                        boost::json::object{{"paused", true}}});
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->entries.size(), 1u);
  const AuditRecord& entry = page->entries[0];
  EXPECT_EQ(entry.id, 1);
  EXPECT_EQ(entry.at_ms, ToUnixMillis(clock.Now()));
  EXPECT_EQ(entry.actor_key_id, "admin");
  EXPECT_EQ(entry.actor_scope, "operator");
  EXPECT_EQ(entry.action, "queue.update");
  EXPECT_EQ(entry.target, "evt_1");
  EXPECT_EQ(boost::json::parse(entry.before_json), boost::json::parse(R"({"paused":false})"));
  EXPECT_EQ(boost::json::parse(entry.after_json), boost::json::parse(R"({"paused":true})"));
  EXPECT_NE(metrics.Render().find(R"(boxoffice_audit_entries_total{outcome="written"} 1)"),
            std::string::npos);
}

// A state beyond kAuditStateBytesMax is left out of its entry, which is still written; a state
// that is absent stays absent.
TEST(AuditTrailTest, OversizedAndAbsentStatesAreLeftOut) {
  MemoryLedger ledger;
  FakeClock clock;
  MetricsRegistry metrics;
  AuditTrail trail(ledger, clock, metrics);
  Result<AuditPage> page = RecordAndReadInThen(
      trail, AuditEntry{audit_action::kEventCreate, "evt_big", std::nullopt,
                        boost::json::object{{"name", std::string(kAuditStateBytesMax, 'x')}}});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].target, "evt_big");
  EXPECT_EQ(page->entries[0].before_json, "");
  EXPECT_EQ(page->entries[0].after_json, "");
}

// A log that cannot write: the control has happened, so `then` still runs, and the loss is
// counted for an alert.
class FailingAuditLog final : public AuditLog {
 public:
  void AppendAudit(AuditRecord, DurableDone done) override {
    std::thread([done = std::move(done)] { done(Error::Internal("disk full")); }).join();
  }
  Result<AuditPage> LoadAudit(std::int64_t, std::size_t) override { return AuditPage{}; }
};

TEST(AuditTrailTest, AFailedWriteStillRunsThenAndIsCounted) {
  FailingAuditLog log;
  FakeClock clock;
  MetricsRegistry metrics;
  AuditTrail trail(log, clock, metrics);
  std::promise<void> ran;
  trail.Record(kAdmin, AuditEntry{audit_action::kDefenseBlock, "203.0.113.0/24", {}, {}},
               [&ran] { ran.set_value(); });
  ran.get_future().get();
  EXPECT_NE(metrics.Render().find(R"(boxoffice_audit_entries_total{outcome="failed"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace boxoffice
