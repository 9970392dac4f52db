#include "common/sample_ring.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace boxoffice {
namespace {

// The sample at time t in these tests: column c holds t * (c + 1), so any value read back says
// which time and column it was written for.
std::vector<double> ValuesAt(std::int64_t t, std::size_t columns) {
  std::vector<double> values(columns);
  for (std::size_t c = 0; c < columns; ++c) values[c] = static_cast<double>(t) * (c + 1);
  return values;
}

// Samples come back oldest first, as columns, with NaN kept as NaN.
TEST(SampleRingTest, ReturnsSamplesAsColumns) {
  SampleRing ring(2, 8);
  EXPECT_TRUE(ring.Since(0).t.empty());
  EXPECT_FALSE(ring.LatestAfter(0));
  const double missing = std::numeric_limits<double>::quiet_NaN();
  ASSERT_TRUE(ring.Append(100, std::vector<double>{1, missing}));
  ASSERT_TRUE(ring.Append(101, std::vector<double>{2, 20}));
  const SampleWindow window = ring.Since(0);
  EXPECT_EQ(window.t, (std::vector<std::int64_t>{100, 101}));
  EXPECT_EQ(std::vector<double>(window.Column(0).begin(), window.Column(0).end()),
            (std::vector<double>{1, 2}));
  EXPECT_TRUE(std::isnan(window.Column(1)[0]));
  EXPECT_EQ(window.Column(1)[1], 20);
  std::optional<SampleRow> latest = ring.LatestAfter(0);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->t, 101);
  EXPECT_EQ(latest->values, (std::vector<double>{2, 20}));
}

// A full ring drops its oldest samples and keeps exactly the latest `capacity`, in order.
TEST(SampleRingTest, WrapsAroundKeepingTheLatest) {
  SampleRing ring(3, 5);
  for (std::int64_t t = 1; t <= 13; ++t) ASSERT_TRUE(ring.Append(t, ValuesAt(t, 3)));
  EXPECT_EQ(ring.size(), 5u);
  const SampleWindow window = ring.Since(0);
  EXPECT_EQ(window.t, (std::vector<std::int64_t>{9, 10, 11, 12, 13}));
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t row = 0; row < window.t.size(); ++row) {
      EXPECT_EQ(window.Column(c)[row], ValuesAt(window.t[row], 3)[c]) << c << "," << row;
    }
  }
  EXPECT_EQ(ring.LatestAfter(12)->t, 13);
}

// `since` keeps only later samples, wherever the cut falls relative to the wrap; gaps in time
// (seconds the sampler missed) are searched across.
TEST(SampleRingTest, SinceFiltersByTime) {
  SampleRing ring(1, 4);
  for (std::int64_t t : {10, 20, 30, 40, 50, 60}) ASSERT_TRUE(ring.Append(t, ValuesAt(t, 1)));
  // Held now: 30, 40, 50, 60, with the oldest in the middle of the storage.
  EXPECT_EQ(ring.Since(0).t, (std::vector<std::int64_t>{30, 40, 50, 60}));
  EXPECT_EQ(ring.Since(30).t, (std::vector<std::int64_t>{40, 50, 60}));
  EXPECT_EQ(ring.Since(45).t, (std::vector<std::int64_t>{50, 60}));
  EXPECT_EQ(ring.Since(59).t, (std::vector<std::int64_t>{60}));
  EXPECT_TRUE(ring.Since(60).t.empty());
  EXPECT_TRUE(ring.Since(1'000).t.empty());
  EXPECT_EQ(ring.Since(45).Column(0)[0], 50);
  EXPECT_FALSE(ring.LatestAfter(60));
  EXPECT_EQ(ring.LatestAfter(59)->t, 60);
}

// A sample not after the latest (a wall clock stepped back, a second sampled twice) is refused
// and changes nothing.
TEST(SampleRingTest, RefusesTimeGoingBackwards) {
  SampleRing ring(1, 4);
  ASSERT_TRUE(ring.Append(50, std::vector<double>{1}));
  EXPECT_FALSE(ring.Append(50, std::vector<double>{2}));
  EXPECT_FALSE(ring.Append(49, std::vector<double>{3}));
  EXPECT_EQ(ring.size(), 1u);
  EXPECT_EQ(ring.LatestAfter(0)->values, std::vector<double>{1});
}

// One writer appending while readers read the whole ring and the latest sample: every read is a
// run of consecutive times no longer than the ring, and every value belongs to its own row's
// time, so no reader ever saw a sample half written or a window torn by the wrap.
TEST(SampleRingTest, ConcurrentAppendAndRead) {
  constexpr std::size_t kColumns = 6;
  constexpr std::size_t kCapacity = 64;
  constexpr std::int64_t kSamples = 20'000;
  constexpr int kReaders = 3;
  SampleRing ring(kColumns, kCapacity);
  std::atomic<bool> done{false};
  std::atomic<int> started{0};
  std::atomic<std::int64_t> windows_read{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      std::int64_t latest_seen = 0;
      started.fetch_add(1);
      for (std::int64_t read = 0; !done.load() || read < 100; ++read) {
        const std::int64_t since = r == 0 ? 0 : latest_seen - static_cast<std::int64_t>(r * 7);
        const SampleWindow window = ring.Since(since);
        ASSERT_LE(window.t.size(), kCapacity);
        ASSERT_EQ(window.values.size(), window.t.size() * kColumns);
        for (std::size_t row = 0; row < window.t.size(); ++row) {
          ASSERT_GT(window.t[row], since);
          if (row > 0) {
            ASSERT_EQ(window.t[row], window.t[row - 1] + 1);
          }
          for (std::size_t c = 0; c < kColumns; ++c) {
            ASSERT_EQ(window.Column(c)[row], static_cast<double>(window.t[row]) * (c + 1));
          }
        }
        if (std::optional<SampleRow> latest = ring.LatestAfter(latest_seen)) {
          ASSERT_GT(latest->t, latest_seen);
          ASSERT_EQ(latest->values, ValuesAt(latest->t, kColumns));
          latest_seen = latest->t;
        }
        windows_read.fetch_add(1);
      }
    });
  }
  // The writer starts once every reader runs, so that reads and appends overlap.
  while (started.load() < kReaders) std::this_thread::yield();
  for (std::int64_t t = 1; t <= kSamples; ++t) EXPECT_TRUE(ring.Append(t, ValuesAt(t, kColumns)));
  done.store(true);
  for (std::thread& reader : readers) reader.join();
  EXPECT_GE(windows_read.load(), kReaders * 100);
  EXPECT_EQ(ring.Since(0).t.front(), kSamples - static_cast<std::int64_t>(kCapacity) + 1);
}

}  // namespace
}  // namespace boxoffice
