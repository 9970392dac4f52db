#include "defense/decision_log.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace boxoffice {
namespace {

DecisionRecord Entry(const std::string& request_id, const RiskFeatures& features,
                     Decision decision = Decision::kAllowed) {
  return DecisionRecord{TimePoint(std::chrono::seconds(1'800'000'000)),
                        RouteClass::kHold,
                        decision,
                        0.25,
                        &features,
                        request_id,
                        "evt_1",
                        "198.51.100.7"};
}

// Entries come back in order with every field, and pages continue after the last sequence.
TEST(DecisionLogTest, PagesBySequence) {
  DecisionLog log(16);
  EXPECT_EQ(log.After(0, 10).latest, 0u);
  EXPECT_TRUE(log.After(0, 10).items.empty());
  RiskFeatures features{};
  for (int i = 0; i < 5; ++i) {
    features[kTimingRegular] = i / 10.0;
    EXPECT_EQ(log.Record(Entry("req-" + std::to_string(i), features, Decision::kChallenged)),
              static_cast<std::uint64_t>(i + 1));
  }
  DecisionLog::Page first = log.After(0, 3);
  ASSERT_EQ(first.items.size(), 3u);
  EXPECT_EQ(first.oldest, 1u);
  EXPECT_EQ(first.latest, 5u);
  EXPECT_EQ(first.items[0].sequence, 1u);
  EXPECT_EQ(first.items[2].request_id, "req-2");
  EXPECT_EQ(first.items[2].event_id, "evt_1");
  EXPECT_EQ(first.items[2].client, "198.51.100.7");
  EXPECT_EQ(first.items[2].route_class, RouteClass::kHold);
  EXPECT_EQ(first.items[2].decision, Decision::kChallenged);
  EXPECT_DOUBLE_EQ(first.items[2].features[kTimingRegular], 0.2);
  EXPECT_DOUBLE_EQ(first.items[2].score, 0.25);
  EXPECT_EQ(first.items[2].at, TimePoint(std::chrono::seconds(1'800'000'000)));
  DecisionLog::Page second = log.After(first.items.back().sequence, 3);
  ASSERT_EQ(second.items.size(), 2u);
  EXPECT_EQ(second.items[0].request_id, "req-3");
  EXPECT_TRUE(log.After(5, 3).items.empty());
}

// The ring keeps the latest `capacity` entries; a reader that fell behind resumes at the oldest.
TEST(DecisionLogTest, RingDropsTheOldest) {
  DecisionLog log(5);  // rounded up to 8
  EXPECT_EQ(log.capacity(), 8u);
  const RiskFeatures features{};
  for (int i = 1; i <= 20; ++i) log.Record(Entry("req-" + std::to_string(i), features));
  DecisionLog::Page page = log.After(0, 100);
  EXPECT_EQ(page.oldest, 13u);
  EXPECT_EQ(page.latest, 20u);
  ASSERT_EQ(page.items.size(), 8u);
  EXPECT_EQ(page.items.front().request_id, "req-13");
  EXPECT_EQ(page.items.back().request_id, "req-20");
  // More than one read chunk (64 entries) in one page.
  DecisionLog large(256);
  for (int i = 1; i <= 300; ++i) large.Record(Entry("r" + std::to_string(i), features));
  DecisionLog::Page all = large.After(0, 1000);
  ASSERT_EQ(all.items.size(), 256u);
  for (std::size_t i = 1; i < all.items.size(); ++i) {
    ASSERT_EQ(all.items[i].sequence, all.items[i - 1].sequence + 1);
  }
}

// Values longer than their slot are cut, never overflowing it.
TEST(DecisionLogTest, LongValuesAreCut) {
  DecisionLog log(4);
  const RiskFeatures features{};
  const std::string request_id(500, 'r');
  DecisionRecord record = Entry(request_id, features);
  const std::string event(100, 'e');
  const std::string client(100, 'c');
  record.event_id = event;
  record.client = client;
  log.Record(record);
  const ScoredDecision got = log.After(0, 1).items.at(0);
  EXPECT_EQ(got.request_id, std::string(kDecisionRequestIdMaxChars, 'r'));
  EXPECT_EQ(got.event_id.size(), kDecisionEventIdMaxChars);
  EXPECT_EQ(got.client.size(), kDecisionClientMaxChars);
}

// Many writers and a reader at once: sequences are unique and dense, and every entry read is
// whole (its request id matches its features).
TEST(DecisionLogTest, ConcurrentWritersAndReader) {
  DecisionLog log(1024);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5'000;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    std::uint64_t after = 0;
    while (!done.load()) {
      const DecisionLog::Page page = log.After(after, 200);
      for (const ScoredDecision& item : page.items) {
        ASSERT_GT(item.sequence, after);
        ASSERT_EQ(item.request_id, std::to_string(static_cast<int>(item.features[0])));
        after = item.sequence;
      }
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        RiskFeatures features{};
        const int id = t * kPerThread + i;
        features[0] = id;
        log.Record(Entry(std::to_string(id), features));
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  done = true;
  reader.join();
  const DecisionLog::Page last = log.After(0, 2000);
  EXPECT_EQ(last.latest, static_cast<std::uint64_t>(kThreads * kPerThread));
  ASSERT_EQ(last.items.size(), 1024u);
  EXPECT_EQ(last.items.front().sequence, last.latest - 1023);
}

}  // namespace
}  // namespace boxoffice
