// The conformance suite of the AuditLog port (ports/audit_log.hpp). Every ledger adapter runs it
// (BOXOFFICE_LEDGER_CONFORMANCE in ledger_conformance.hpp).
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/ledger_conformance.hpp"

namespace boxoffice::ledger_conformance {
namespace {

AuditRecord MakeEntry(std::string target, std::int64_t at_ms = 1'700'000'000'000) {
  AuditRecord record;
  record.id = 999;  // ignored: the store assigns ids
  record.at_ms = at_ms;
  record.actor_key_id = "admin";
  record.actor_scope = "operator";
  record.action = "queue.update";
  record.target = std::move(target);
  record.before_json = R"({"paused":false})";
  record.after_json = R"({"paused":true})";
  return record;
}

Status AppendAndWait(Ledger& ledger, AuditRecord record) {
  return WaitForDurable(
      [&](Ledger::Done done) { ledger.AppendAudit(std::move(record), std::move(done)); });
}

// Entries get ids 1, 2, 3, ... in the order written and come back field for field, with the
// states absent ("") where they were; the log survives a reopen and numbering goes on from it.
TEST_P(AuditLogConformance, EntriesAreNumberedInOrderAndSurviveReopen) {
  {
    std::unique_ptr<Ledger> ledger = Open();
    ASSERT_NE(ledger, nullptr);
    Result<AuditPage> empty = ledger->LoadAudit(0, 10);
    ASSERT_TRUE(empty.ok()) << empty.error().message;
    EXPECT_TRUE(empty->entries.empty());
    EXPECT_EQ(empty->latest_id, 0);
    ASSERT_TRUE(AppendAndWait(*ledger, MakeEntry("evt_1", 5'000)).ok());
    AuditRecord bare = MakeEntry("203.0.113.0/24", 4'000);  // an earlier clock changes no order
    bare.action = "defense.unblock";
    bare.before_json.clear();
    bare.after_json.clear();
    ASSERT_TRUE(AppendAndWait(*ledger, bare).ok());
  }
  std::unique_ptr<Ledger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(AppendAndWait(*ledger, MakeEntry("evt_3")).ok());
  Result<AuditPage> page = ledger->LoadAudit(0, 10);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->entries.size(), 3u);
  EXPECT_EQ(page->latest_id, 3);
  const AuditRecord& first = page->entries[0];
  EXPECT_EQ(first.id, 1);
  EXPECT_EQ(first.at_ms, 5'000);
  EXPECT_EQ(first.actor_key_id, "admin");
  EXPECT_EQ(first.actor_scope, "operator");
  EXPECT_EQ(first.action, "queue.update");
  EXPECT_EQ(first.target, "evt_1");
  EXPECT_EQ(first.before_json, R"({"paused":false})");
  EXPECT_EQ(first.after_json, R"({"paused":true})");
  EXPECT_EQ(page->entries[1].id, 2);
  EXPECT_EQ(page->entries[1].action, "defense.unblock");
  EXPECT_EQ(page->entries[1].before_json, "");
  EXPECT_EQ(page->entries[1].after_json, "");
  EXPECT_EQ(page->entries[2].id, 3);
  EXPECT_EQ(page->entries[2].target, "evt_3");
}

// Pages hold at most `limit` entries above `after_id`, oldest first; walking them visits every
// entry once; past the end a page is empty and still says which id is the newest.
TEST_P(AuditLogConformance, PagesWalkTheLogOnce) {
  std::unique_ptr<Ledger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  constexpr int kEntries = 7;
  for (int i = 1; i <= kEntries; ++i) {
    ASSERT_TRUE(AppendAndWait(*ledger, MakeEntry("evt_" + std::to_string(i))).ok());
  }
  std::vector<std::string> seen;
  std::int64_t after = 0;
  for (int pages = 0; pages < kEntries; ++pages) {
    Result<AuditPage> page = ledger->LoadAudit(after, 3);
    ASSERT_TRUE(page.ok()) << page.error().message;
    EXPECT_EQ(page->latest_id, kEntries);
    ASSERT_LE(page->entries.size(), 3u);
    if (page->entries.empty()) break;
    for (const AuditRecord& entry : page->entries) {
      EXPECT_GT(entry.id, after);
      after = entry.id;
      seen.push_back(entry.target);
    }
  }
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kEntries));
  for (int i = 0; i < kEntries; ++i) EXPECT_EQ(seen[i], "evt_" + std::to_string(i + 1));
  Result<AuditPage> beyond = ledger->LoadAudit(kEntries + 5, 3);
  ASSERT_TRUE(beyond.ok());
  EXPECT_TRUE(beyond->entries.empty());
  EXPECT_EQ(beyond->latest_id, kEntries);
}

// Many threads append at once: every entry is written once, under distinct ids 1..N.
TEST_P(AuditLogConformance, ConcurrentAppendsGetDistinctConsecutiveIds) {
  std::unique_ptr<Ledger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> failed{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        const std::string target = std::to_string(t) + "/" + std::to_string(i);
        if (!AppendAndWait(*ledger, MakeEntry(target)).ok()) ++failed;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  Result<AuditPage> page = ledger->LoadAudit(0, kThreads * kPerThread + 10);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->entries.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> targets;
  for (std::size_t i = 0; i < page->entries.size(); ++i) {
    EXPECT_EQ(page->entries[i].id, static_cast<std::int64_t>(i) + 1);
    targets.insert(page->entries[i].target);
  }
  EXPECT_EQ(targets.size(), page->entries.size());
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
