#include "defense/decision_log.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
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

// One entry of `route_class` from `client` with `decision`, its request id its sequence-to-be.
DecisionRecord EntryFrom(const std::string& request_id, RouteClass route_class,
                         std::string_view client, Decision decision) {
  static const RiskFeatures kNoFeatures{};
  DecisionRecord record = Entry(request_id, kNoFeatures, decision);
  record.route_class = route_class;
  record.client = client;
  return record;
}

std::vector<std::string> RequestIds(const DecisionLog::Page& page) {
  std::vector<std::string> ids;
  for (const ScoredDecision& item : page.items) ids.push_back(item.request_id);
  return ids;
}

// A log of ten entries over two route classes, three decisions and three networks.
void RecordMixedEntries(DecisionLog& log) {
  const struct {
    RouteClass route_class;
    const char* client;
    Decision decision;
  } entries[] = {
      {RouteClass::kQueueJoin, "203.0.113.7", Decision::kChallenged},       // 1
      {RouteClass::kQueueJoin, "198.51.100.1", Decision::kAllowed},         // 2
      {RouteClass::kHold, "203.0.113.200", Decision::kChallenged},          // 3
      {RouteClass::kHold, "203.0.113.7", Decision::kAllowed},               // 4
      {RouteClass::kQueueJoin, "2001:db8::5", Decision::kChallenged},       // 5
      {RouteClass::kQueueJoin, "203.0.114.1", Decision::kChallenged},       // 6
      {RouteClass::kHold, "198.51.100.1", Decision::kRiskBlocked},          // 7
      {RouteClass::kQueueJoin, "203.0.113.9", Decision::kChallengePassed},  // 8
      {RouteClass::kQueueJoin, "not an address", Decision::kChallenged},    // 9
      {RouteClass::kHold, "2001:db8:0:1::5", Decision::kChallenged},        // 10
  };
  int n = 0;
  for (const auto& entry : entries) {
    log.Record(EntryFrom(std::to_string(++n), entry.route_class, entry.client, entry.decision));
  }
}

DecisionFilter ClientFilter(std::string_view cidr) {
  DecisionFilter filter;
  filter.client = Cidr::Parse(cidr).value();
  return filter;
}

// Each filter keeps exactly the entries it names, and filters set together must all match.
TEST(DecisionLogTest, FiltersKeepOnlyMatchingEntries) {
  DecisionLog log(16);
  RecordMixedEntries(log);
  using Ids = std::vector<std::string>;
  DecisionFilter challenged;
  challenged.decision = Decision::kChallenged;
  EXPECT_EQ(RequestIds(log.After(0, 100, challenged)), (Ids{"1", "3", "5", "6", "9", "10"}));
  DecisionFilter holds;
  holds.route_class = RouteClass::kHold;
  EXPECT_EQ(RequestIds(log.After(0, 100, holds)), (Ids{"3", "4", "7", "10"}));
  EXPECT_EQ(RequestIds(log.After(0, 100, ClientFilter("203.0.113.0/24"))),
            (Ids{"1", "3", "4", "8"}));
  // A bare address is that one host; an IPv6 range holds only its own addresses.
  EXPECT_EQ(RequestIds(log.After(0, 100, ClientFilter("203.0.113.7"))), (Ids{"1", "4"}));
  EXPECT_EQ(RequestIds(log.After(0, 100, ClientFilter("2001:db8::/64"))), (Ids{"5"}));
  EXPECT_EQ(RequestIds(log.After(0, 100, ClientFilter("2001:db8::/32"))), (Ids{"5", "10"}));
  DecisionFilter all = ClientFilter("203.0.113.0/24");
  all.decision = Decision::kChallenged;
  EXPECT_EQ(RequestIds(log.After(0, 100, all)), (Ids{"1", "3"}));
  all.route_class = RouteClass::kQueueJoin;
  EXPECT_EQ(RequestIds(log.After(0, 100, all)), (Ids{"1"}));
  // No filter: every entry, as before filters existed.
  EXPECT_EQ(log.After(0, 100).items.size(), 10u);
}

// A filtered page stops at `limit` matches and says how far it looked; the next page goes on
// from there, and a page that matched nothing still moves past what it examined.
TEST(DecisionLogTest, FilteredPagesMovePastWhatTheyExamined) {
  DecisionLog log(16);
  RecordMixedEntries(log);
  DecisionFilter challenged;
  challenged.decision = Decision::kChallenged;
  const DecisionLog::Page first = log.After(0, 2, challenged);
  EXPECT_EQ(RequestIds(first), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(first.first_scanned, 1u);
  EXPECT_EQ(first.last_scanned, 3u);
  const DecisionLog::Page second = log.After(first.last_scanned, 2, challenged);
  EXPECT_EQ(RequestIds(second), (std::vector<std::string>{"5", "6"}));
  EXPECT_EQ(second.first_scanned, 4u);
  EXPECT_EQ(second.last_scanned, 6u);

  DecisionFilter passed;
  passed.decision = Decision::kChallengeFailed;  // none recorded
  const DecisionLog::Page none = log.After(0, 5, passed);
  EXPECT_TRUE(none.items.empty());
  EXPECT_EQ(none.first_scanned, 1u);
  EXPECT_EQ(none.last_scanned, 10u);
  EXPECT_EQ(none.latest, 10u);
  const DecisionLog::Page nothing_new = log.After(none.last_scanned, 5, passed);
  EXPECT_EQ(nothing_new.first_scanned, 0u);
  EXPECT_EQ(nothing_new.last_scanned, 0u);
}

// A filtered read of a full ring examines every held entry (more than one lock chunk) once, and
// no more: from the oldest held to the latest.
TEST(DecisionLogTest, FilteredReadExaminesTheWholeRingOnce) {
  DecisionLog log(256);
  for (int i = 1; i <= 1000; ++i) {
    log.Record(EntryFrom(std::to_string(i), RouteClass::kQueueJoin,
                         i % 100 == 0 ? "192.0.2.1" : "198.51.100.1", Decision::kAllowed));
  }
  const DecisionFilter filter = ClientFilter("192.0.2.0/24");
  const DecisionLog::Page page = log.After(0, 1000, filter);
  EXPECT_EQ(RequestIds(page), (std::vector<std::string>{"800", "900", "1000"}));
  EXPECT_EQ(page.first_scanned, 745u);
  EXPECT_EQ(page.last_scanned, 1000u);
  const DecisionLog::Page newest = log.Before(2000, 0, 1000, filter);
  EXPECT_EQ(RequestIds(newest), (std::vector<std::string>{"800", "900", "1000"}));
  EXPECT_EQ(newest.first_scanned, 745u);
  EXPECT_EQ(newest.last_scanned, 1000u);
}

// Reading down from `before` gives the newest matches; following `first_scanned`
// down walks every match exactly once, and `after` bounds the walk from below.
TEST(DecisionLogTest, BeforeReadsTheNewestMatchesAndWalksDown) {
  DecisionLog log(16);
  RecordMixedEntries(log);
  DecisionFilter challenged;
  challenged.decision = Decision::kChallenged;
  const DecisionLog::Page newest = log.Before(11, 0, 2, challenged);
  EXPECT_EQ(RequestIds(newest), (std::vector<std::string>{"9", "10"}));
  EXPECT_EQ(newest.last_scanned, 10u);
  EXPECT_EQ(newest.first_scanned, 9u);
  // A `before` past the latest reads from the latest.
  EXPECT_EQ(RequestIds(log.Before(1'000'000, 0, 2, challenged)), RequestIds(newest));

  std::vector<std::string> walked;
  std::uint64_t before = 11;
  for (int pages = 0; pages < 10; ++pages) {
    const DecisionLog::Page page = log.Before(before, 0, 2, challenged);
    if (page.first_scanned == 0) break;
    const std::vector<std::string> ids = RequestIds(page);
    walked.insert(walked.begin(), ids.begin(), ids.end());
    before = page.first_scanned;
  }
  EXPECT_EQ(walked, (std::vector<std::string>{"1", "3", "5", "6", "9", "10"}));

  const DecisionLog::Page bounded = log.Before(11, 4, 100, challenged);
  EXPECT_EQ(RequestIds(bounded), (std::vector<std::string>{"5", "6", "9", "10"}));
  EXPECT_EQ(bounded.first_scanned, 5u);
  EXPECT_TRUE(log.Before(1, 0, 10).items.empty());
  EXPECT_EQ(log.Before(1, 0, 10).first_scanned, 0u);
  EXPECT_TRUE(log.Before(5, 4, 10).items.empty());
  EXPECT_TRUE(DecisionLog(4).Before(100, 0, 10).items.empty());
}

// Many writers and a reader at once: sequences are unique and dense, and every entry read is
// whole (its request id matches its features).
// The busiest client networks of one event in a window: /24s and /48s, most requests first, with
// how many were challenged or blocked; other events, older entries and non-addresses are out.
TEST(DecisionLogTest, TopPrefixesCountsTheBusiestNetworksOfAnEvent) {
  DecisionLog log(64);
  const TimePoint base = TimePoint(std::chrono::seconds(1'800'000'000));
  const std::string request_id = "r";  // a record only views its strings
  auto record = [&](std::string_view client, Decision decision, std::string_view event_id,
                    int seconds_after) {
    DecisionRecord entry = EntryFrom(request_id, RouteClass::kQueueJoin, client, decision);
    entry.event_id = event_id;
    entry.at = base + std::chrono::seconds(seconds_after);
    log.Record(entry);
  };
  record("198.51.100.1", Decision::kAllowed, "evt_1", 0);  // before the window
  for (int i = 0; i < 3; ++i) record("203.0.113.7", Decision::kChallenged, "evt_1", 10);
  record("203.0.113.200", Decision::kRiskBlocked, "evt_1", 11);
  record("198.51.100.9", Decision::kAllowed, "evt_1", 12);
  record("198.51.100.10", Decision::kChallengePassed, "evt_1", 12);
  record("2001:db8:1:2::5", Decision::kAllowed, "evt_1", 13);
  record("192.0.2.1", Decision::kAllowed, "evt_2", 13);  // another event
  record("not-an-address", Decision::kAllowed, "evt_1", 14);

  const std::vector<PrefixCount> top = log.TopPrefixes("evt_1", base + std::chrono::seconds(5), 10);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].prefix, "203.0.113.0/24");
  EXPECT_EQ(top[0].requests, 4u);
  EXPECT_EQ(top[0].challenged, 3u);
  EXPECT_EQ(top[0].blocked, 1u);
  EXPECT_EQ(top[1].prefix, "198.51.100.0/24");
  EXPECT_EQ(top[1].requests, 2u);  // the one before the window is not counted
  EXPECT_EQ(top[1].challenged, 1u);
  EXPECT_EQ(top[2].prefix, "2001:db8:1::/48");
  EXPECT_EQ(log.TopPrefixes("evt_1", base + std::chrono::seconds(5), 1).size(), 1u);
  EXPECT_TRUE(log.TopPrefixes("evt_3", base, 10).empty());
  EXPECT_TRUE(DecisionLog(8).TopPrefixes("evt_1", base, 10).empty());
}

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
  // A filtered reader from the newest end sees whole entries of the range only (the writers
  // alternate between a client inside it and one outside), in order, inside what it examined.
  std::thread newest_reader([&] {
    const DecisionFilter filter = ClientFilter("198.51.100.0/24");
    while (!done.load()) {
      const DecisionLog::Page page =
          log.Before(std::numeric_limits<std::uint64_t>::max(), 0, 100, filter);
      for (std::size_t i = 0; i < page.items.size(); ++i) {
        const ScoredDecision& item = page.items[i];
        ASSERT_EQ(item.request_id, std::to_string(static_cast<int>(item.features[0])));
        ASSERT_EQ(item.client, "198.51.100.7");
        ASSERT_GE(item.sequence, page.first_scanned);
        ASSERT_LE(item.sequence, page.last_scanned);
        if (i > 0) {
          ASSERT_GT(item.sequence, page.items[i - 1].sequence);
        }
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
        const std::string request_id = std::to_string(id);  // the record only views it
        DecisionRecord record = Entry(request_id, features);
        if (id % 2 == 1) record.client = "203.0.113.9";
        log.Record(record);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  done = true;
  reader.join();
  newest_reader.join();
  const DecisionLog::Page last = log.After(0, 2000);
  EXPECT_EQ(last.latest, static_cast<std::uint64_t>(kThreads * kPerThread));
  ASSERT_EQ(last.items.size(), 1024u);
  EXPECT_EQ(last.items.front().sequence, last.latest - 1023);
}

}  // namespace
}  // namespace boxoffice
