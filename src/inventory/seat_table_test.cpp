#include "inventory/seat_table.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace boxoffice {
namespace {

// Packing keeps status, version and hold apart, including the largest values.
TEST(SeatStateTest, PackRoundTrips) {
  const SeatState states[] = {{SeatStatus::kAvailable, 0, 0},
                              {SeatStatus::kHeld, 7, 42},
                              {SeatStatus::kSold, SeatState::kVersionMask, 0xFFFFFFFFu}};
  for (const SeatState& state : states) EXPECT_EQ(SeatState::Unpack(state.Pack()), state);
}

// A new table has every seat available at version 0, and counts agree.
TEST(SeatTableTest, StartsAvailable) {
  SeatTable table(1000);
  EXPECT_EQ(table.Load(999), SeatState{});
  const SeatCounts counts = table.Count();
  EXPECT_EQ(counts.available, 1000u);
  EXPECT_EQ(counts.held + counts.sold, 0u);
}

// A stale expected state loses the swap and learns the current state.
TEST(SeatTableTest, CompareExchangeRejectsStaleVersion) {
  SeatTable table(1);
  SeatState expected{};
  ASSERT_TRUE(table.CompareExchange(0, expected, {SeatStatus::kHeld, 1, 5}));
  SeatState stale{};
  EXPECT_FALSE(table.CompareExchange(0, stale, {SeatStatus::kHeld, 1, 6}));
  EXPECT_EQ(stale, (SeatState{SeatStatus::kHeld, 1, 5}));
}

// Of many threads racing for one seat, exactly one wins each round.
TEST(SeatTableTest, OneWinnerPerSeatUnderContention) {
  constexpr std::uint32_t kSeats = 512;
  constexpr int kThreads = 8;
  SeatTable table(kSeats);
  std::vector<std::vector<std::uint32_t>> won(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint32_t seat = 0; seat < kSeats; ++seat) {
        SeatState expected{};
        if (table.CompareExchange(seat, expected,
                                  {SeatStatus::kHeld, 1, static_cast<std::uint32_t>(t + 1)})) {
          won[t].push_back(seat);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::size_t total = 0;
  for (int t = 0; t < kThreads; ++t) {
    total += won[t].size();
    for (std::uint32_t seat : won[t]) EXPECT_EQ(table.Load(seat).hold, std::uint32_t(t + 1));
  }
  EXPECT_EQ(total, kSeats);
  EXPECT_EQ(table.Count().held, kSeats);
}

}  // namespace
}  // namespace boxoffice
