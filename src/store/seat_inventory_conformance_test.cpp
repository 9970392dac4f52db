// The conformance suite of the SeatInventory port (ports/seat_inventory.hpp): holds all or
// nothing at the versions seen, conflicts with alternatives, limits, expiry, best available,
// restore, and a torture of concurrent holds. Every adapter runs it (see
// seat_inventory_conformance.hpp); a *_test.cpp, so the build puts it into the test binary.

#include "store/seat_inventory_conformance.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.hpp"
#include "common/card_digits.hpp"

namespace boxoffice {
namespace {

using std::chrono::seconds;

// A hold takes every seat asked for, bumps each version, and prices the hold.
TEST_P(SeatInventoryConformance, HoldsSeatsAndBumpsVersions) {
  Result<Hold> hold = table_.HoldSeats(alice_, {At("101-A-4"), At("101-A-3")});
  ASSERT_TRUE(hold.ok()) << hold.error().message;
  EXPECT_EQ(Ids(*hold), (std::vector<std::string>{"101-A-3", "101-A-4"}));
  EXPECT_EQ(hold->total_cents, 50'000);
  EXPECT_EQ(hold->expires_at, clock_.Now() + seconds(60));
  EXPECT_EQ(State("101-A-3"), (SeatState{SeatStatus::kHeld, 1, hold->slot}));
  EXPECT_EQ(hold->seats[0].version, 1u);
  EXPECT_EQ(table_.Counts().held, 2u);
  EXPECT_TRUE(table_.CheckInvariant());
}

// A conflict on a later seat rolls back the earlier ones (bumping their versions) and holds none.
TEST_P(SeatInventoryConformance, ConflictRollsBackEverythingTaken) {
  ASSERT_TRUE(table_.HoldSeats(bob_, {At("101-A-5")}).ok());
  const SeatRequest a4 = At("101-A-4");
  Result<Hold> hold = table_.HoldSeats(alice_, {a4, SeatRequest{Index("101-A-5"), 0}});
  ASSERT_FALSE(hold.ok());
  EXPECT_EQ(hold.error().code, "seat_conflict");
  EXPECT_EQ(hold.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(JsonIds(hold.error().details.at("conflicts"), false),
            std::vector<std::string>{"101-A-5"});
  // 101-A-4 was taken, then given back: available again, two versions on.
  EXPECT_EQ(State("101-A-4"), (SeatState{SeatStatus::kAvailable, a4.version + 2, 0}));
  EXPECT_EQ(table_.Counts().held, 1u);
  EXPECT_EQ(table_.live_holds(), 1u);
  EXPECT_TRUE(table_.CheckInvariant());
}

// A stale version is a conflict even though the seat is available again.
TEST_P(SeatInventoryConformance, StaleVersionConflicts) {
  Result<Hold> first = table_.HoldSeats(alice_, {At("101-B-1")});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(table_.Release(first->id).ok());
  EXPECT_EQ(State("101-B-1"), (SeatState{SeatStatus::kAvailable, 2, 0}));
  Result<Hold> stale = table_.HoldSeats(bob_, {SeatRequest{Index("101-B-1"), 0}});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, "seat_conflict");
  EXPECT_TRUE(table_.HoldSeats(bob_, {SeatRequest{Index("101-B-1"), 2}}).ok());
}

// The conflict answer offers as many adjacent available seats, nearest in the same section.
TEST_P(SeatInventoryConformance, ConflictOffersNearestAlternatives) {
  ASSERT_TRUE(table_.HoldSeats(bob_, {At("101-A-5"), At("101-A-6")}).ok());
  Result<Hold> hold = table_.HoldSeats(
      alice_, {SeatRequest{Index("101-A-5"), 0}, SeatRequest{Index("101-A-6"), 0}});
  ASSERT_FALSE(hold.ok());
  const std::vector<std::string> alternatives =
      JsonIds(hold.error().details.at("alternatives"), true);
  // 101-A-3/4 and 101-A-7/8 are equally near; the earlier wins the tie.
  EXPECT_EQ(alternatives, (std::vector<std::string>{"101-A-3", "101-A-4"}));
  for (const auto& item : hold.error().details.at("alternatives").get_array()) {
    EXPECT_EQ(item.at("version").to_number<std::int64_t>(), 0);
  }
}

// With the asked section full, alternatives come from the nearest other section and row.
TEST_P(SeatInventoryConformance, AlternativesFallBackToTheNearestSection) {
  ASSERT_TRUE(table_.HoldSeats(bob_, {At("201-A-1"), At("201-A-2"), At("201-A-3")}).ok());
  ASSERT_TRUE(table_.HoldSeats({"ses_carol", ""}, {At("201-A-4"), At("201-A-5")}).ok());
  Result<Hold> hold = table_.HoldSeats(
      alice_, {SeatRequest{Index("201-A-4"), 0}, SeatRequest{Index("201-A-5"), 0}});
  ASSERT_FALSE(hold.ok());
  EXPECT_EQ(JsonIds(hold.error().details.at("conflicts"), false),
            (std::vector<std::string>{"201-A-4", "201-A-5"}));
  // Section 101 is one away; its row A is the same row index; seats 4-5 match the numbers.
  EXPECT_EQ(JsonIds(hold.error().details.at("alternatives"), true),
            (std::vector<std::string>{"101-A-4", "101-A-5"}));
}

// Seats named twice, none, or more than per_order are refused before anything is taken.
TEST_P(SeatInventoryConformance, RefusesMalformedAndOversizedRequests) {
  Result<Hold> twice = table_.HoldSeats(alice_, {At("101-A-1"), At("101-A-1")});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "validation_failed");
  Result<Hold> none = table_.HoldSeats(alice_, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "validation_failed");
  Result<Hold> five = table_.HoldSeats(
      alice_, {At("101-B-1"), At("101-B-2"), At("101-B-3"), At("101-B-4"), At("101-B-5")});
  ASSERT_FALSE(five.ok());
  EXPECT_EQ(five.error().code, "limit_exceeded");
  EXPECT_EQ(table_.Counts().held, 0u);
}

// per_customer counts the owner's live holds; releasing gives the allowance back.
TEST_P(SeatInventoryConformance, PerCustomerLimitCountsLiveHolds) {
  Result<Hold> first = table_.HoldSeats(alice_, {At("101-A-1"), At("101-A-2"), At("101-A-3")});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(table_.HoldSeats(alice_, {At("101-B-1"), At("101-B-2"), At("101-B-3")}).ok());
  Result<Hold> over = table_.HoldBestAvailable(alice_, BestAvailableRequest{1, {}, false});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, "limit_exceeded");
  EXPECT_EQ(over.error().kind, ErrorKind::kUnprocessable);
  // Another session is not affected; a signed-in customer counts across sessions.
  EXPECT_TRUE(table_.HoldSeats(bob_, {At("201-A-1")}).ok());
  ASSERT_TRUE(table_.Release(first->id).ok());
  EXPECT_TRUE(table_.HoldBestAvailable(alice_, BestAvailableRequest{3, {}, false}).ok());
  const HoldOwner carol_phone{"ses_c1", "cus_carol"};
  const HoldOwner carol_laptop{"ses_c2", "cus_carol"};
  ASSERT_TRUE(table_.HoldSeats(carol_phone, {At("101-B-7"), At("101-B-8"), At("101-B-9")}).ok());
  ASSERT_TRUE(table_.HoldSeats(carol_laptop, {At("101-B-10"), At("201-A-5"), At("201-A-4")}).ok());
  Result<Hold> carol_over = table_.HoldSeats(carol_laptop, {At("201-A-3")});
  ASSERT_FALSE(carol_over.ok());
  EXPECT_EQ(carol_over.error().code, "limit_exceeded");
}

// Holds expire at their fixed deadline, in deadline order; seats return with a version bump.
TEST_P(SeatInventoryConformance, ExpiresAtTheDeadlineInOrder) {
  Result<Hold> early = table_.HoldSeats(alice_, {At("101-A-1")});
  clock_.Advance(seconds(10));
  Result<Hold> late = table_.HoldSeats(bob_, {At("101-A-2")});
  ASSERT_TRUE(early.ok() && late.ok());
  clock_.Advance(seconds(49));
  EXPECT_TRUE(table_.ExpireDue().empty());
  // Looking at a hold does not extend it.
  EXPECT_TRUE(table_.Find(early->id).has_value());
  clock_.Advance(seconds(1));
  std::vector<Hold> expired = table_.ExpireDue();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, early->id);
  EXPECT_EQ(expired[0].status, HoldStatus::kExpired);
  EXPECT_EQ(State("101-A-1"), (SeatState{SeatStatus::kAvailable, 2, 0}));
  EXPECT_EQ(State("101-A-2").status, SeatStatus::kHeld);
  clock_.Advance(seconds(10));
  expired = table_.ExpireDue();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, late->id);
  EXPECT_EQ(table_.Counts().available, table_.size());
  // An ended hold still answers Find with its end, and cannot be released again.
  std::optional<Hold> found = table_.Find(early->id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->status, HoldStatus::kExpired);
  EXPECT_EQ(table_.Release(early->id).error().code, "hold_not_found");
  EXPECT_EQ(table_.counters().expired, 2u);
}

// Find on a hold past its deadline expires it at once, before any sweep.
TEST_P(SeatInventoryConformance, FindExpiresAHoldPastItsDeadline) {
  Result<Hold> hold = table_.HoldSeats(alice_, {At("101-A-1")});
  ASSERT_TRUE(hold.ok());
  clock_.Advance(seconds(60));
  std::optional<Hold> found = table_.Find(hold->id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->status, HoldStatus::kExpired);
  EXPECT_EQ(State("101-A-1").status, SeatStatus::kAvailable);
}

// best_available: best tier, front row, centre of the row, unless the centre strands seats.
TEST_P(SeatInventoryConformance, BestAvailablePrefersTierFrontAndCentre) {
  Result<Hold> hold = table_.HoldBestAvailable(alice_, BestAvailableRequest{2, {}, false});
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(Ids(*hold), (std::vector<std::string>{"101-A-5", "101-A-6"}));
  // In a row of 5, the central 2-3-4 would leave 1 and 5 alone; 1-2-3 leaves a pair.
  Result<Hold> cheap = table_.HoldBestAvailable(bob_, BestAvailableRequest{3, "201", false});
  ASSERT_TRUE(cheap.ok());
  EXPECT_EQ(Ids(*cheap), (std::vector<std::string>{"201-A-1", "201-A-2", "201-A-3"}));
}

// best_available avoids leaving a lone seat when another block in the row leaves none.
TEST_P(SeatInventoryConformance, BestAvailableAvoidsSingleSeatGaps) {
  // Row 201-A with seat 5 held: 1 2 3 4 _. Blocks 2-3 and 3-4 are equally central, and 2-3
  // comes first, but it would strand seat 1 alone; 3-4 strands nothing.
  ASSERT_TRUE(table_.HoldSeats(bob_, {At("201-A-5")}).ok());
  Result<Hold> hold = table_.HoldBestAvailable(alice_, BestAvailableRequest{2, "201", false});
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(Ids(*hold), (std::vector<std::string>{"201-A-3", "201-A-4"}));
}

// accessible: true picks only accessible seats; none fitting is not_enough_seats.
TEST_P(SeatInventoryConformance, BestAvailableAccessibleAndNotEnough) {
  Result<Hold> hold = table_.HoldBestAvailable(alice_, BestAvailableRequest{2, {}, true});
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(Ids(*hold), (std::vector<std::string>{"101-A-1", "101-A-2"}));
  Result<Hold> more = table_.HoldBestAvailable(bob_, BestAvailableRequest{1, {}, true});
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error().code, "not_enough_seats");
  EXPECT_EQ(more.error().kind, ErrorKind::kConflict);
  Result<Hold> unknown = table_.HoldBestAvailable(bob_, BestAvailableRequest{1, "999", false});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "validation_failed");
  // 201 has 5 seats in one row: 4 fit, and the per_order limit stops 5 first.
  EXPECT_EQ(table_.HoldBestAvailable(bob_, BestAvailableRequest{5, "201", false}).error().code,
            "limit_exceeded");
}

// Restore puts a hold back with its recorded versions, and refuses a seat already taken. The ids
// are in the form an older build wrote (the slot in base 36), which a restore must still read.
TEST_P(SeatInventoryConformance, RestorePutsHoldsBackOrRefuses) {
  Hold journaled;
  journaled.id = "hld_0123456789abcdef0000005restored1";
  journaled.event_id = event_->definition().id;
  journaled.session_id = "ses_alice";
  journaled.seats = {HeldSeat{Index("101-B-3"), 7}, HeldSeat{Index("101-B-4"), 3}};
  journaled.created_at = clock_.Now();
  journaled.expires_at = clock_.Now() + seconds(30);
  ASSERT_TRUE(table_.Restore(journaled).ok());
  EXPECT_EQ(State("101-B-3").status, SeatStatus::kHeld);
  EXPECT_EQ(State("101-B-3").version, 7u);
  ASSERT_TRUE(table_.Find(journaled.id).has_value());
  Hold clash = journaled;
  clash.id = "hld_0123456789abcdef0000006clashing1";
  clash.seats = {HeldSeat{Index("101-B-2"), 1}, HeldSeat{Index("101-B-4"), 1}};
  Status refused = table_.Restore(clash);
  ASSERT_FALSE(refused.ok());
  // Nothing of the refused hold stays: 101-B-2 is available again.
  EXPECT_EQ(State("101-B-2").status, SeatStatus::kAvailable);
  EXPECT_TRUE(table_.CheckInvariant());
  clock_.Advance(seconds(30));
  EXPECT_EQ(table_.ExpireDue().size(), 1u);
}

// A fan sends the hold id back in the order's body, where the API refuses anything that could be a
// card number (common/card_digits.hpp): no hold id may hold a run of 13 digits, even when the
// event's id ends in ten of them. Slots 1 to 2,000 cover every width a low slot is written in.
TEST_P(SeatInventoryConformance, HoldIdsNeverPassForACardNumber) {
  std::unique_ptr<Event> event = MakeInventoryEvent(kInventoryEventJson, "evt_abcdef0123456789");
  std::unique_ptr<SeatInventory> inventory = Make(*event, clock_);
  for (int i = 0; i < 2'000; ++i) {
    Result<Hold> hold = inventory->HoldSeats(alice_, {SeatRequest{0, inventory->Seat(0).version}});
    ASSERT_TRUE(hold.ok()) << hold.error().message;
    std::size_t run = 0;
    std::size_t longest = 0;
    for (const char c : hold->id) {
      run = (c >= '0' && c <= '9') ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    ASSERT_LT(longest, kCardDigitsMin) << hold->id;
    ASSERT_TRUE(inventory->Release(hold->id).ok());
  }
}

// Before onsale_at nothing can be held; from that moment on it can.
TEST_P(SeatInventoryConformance, NothingIsHeldBeforeOnSale) {
  FakeClock clock;
  std::unique_ptr<Event> event = MakeEvent(R"({
    "name": "Later", "onsale_at": "2027-01-01T10:00:00Z",
    "price_tiers": [{"id": "A", "price_cents": 100}],
    "sections": [{"id": "S", "tier": "A", "rows": [{"label": "A", "seats": 4}]}]})");
  std::unique_ptr<SeatInventory> inventory = Make(*event, clock);
  SeatInventory& table = *inventory;
  clock.Set(*event->definition().onsale_at - seconds(1));
  Result<Hold> early = table.HoldBestAvailable({"ses_1", ""}, {1, {}, false});
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, "not_on_sale");
  EXPECT_EQ(early.error().kind, ErrorKind::kForbidden);
  EXPECT_EQ(table.HoldSeats({"ses_1", ""}, {SeatRequest{0, 0}}).error().code, "not_on_sale");
  clock.Advance(seconds(1));
  EXPECT_TRUE(table.HoldSeats({"ses_1", ""}, {SeatRequest{0, 0}}).ok());
}

// Torture: 8 threads of random multi-seat holds and releases over 1,000 hot seats. A shadow
// owner per seat proves no seat is ever in two live holds; counters and a scan agree at the end.
TEST_P(SeatInventoryConformance, TortureNoSeatIsEverInTwoLiveHolds) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr int kOperationsPerThread = 20'000;  // sanitizers slow each operation ~10x
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  constexpr int kOperationsPerThread = 20'000;
#else
  constexpr int kOperationsPerThread = 100'000;
#endif
#else
  constexpr int kOperationsPerThread = 100'000;
#endif
  constexpr int kThreads = 8;
  // 1,000 seats in 10 rows of 100; limits wide enough that only seat conflicts refuse holds.
  std::string json =
      R"({"name": "Torture", "price_tiers": [{"id": "A", "price_cents": 100}],
          "sections": [{"id": "S", "tier": "A", "rows": [)";
  for (int row = 0; row < 10; ++row) {
    json += (row ? "," : "") + std::string(R"({"label": "R)") + std::to_string(row) +
            R"(", "seats": 100})";
  }
  json += R"(]}], "limits": {"per_order": 8, "per_customer": 100}, "hold_ttl_s": 600})";
  FakeClock clock;
  std::unique_ptr<Event> event = MakeEvent(json.c_str());
  std::unique_ptr<SeatInventory> inventory = Make(*event, clock);
  SeatInventory& table = *inventory;
  const std::uint32_t seat_count = table.size();
  ASSERT_EQ(seat_count, 1'000u);
  std::unique_ptr<std::atomic<std::uint32_t>[]> owner(new std::atomic<std::uint32_t>[seat_count]);
  for (std::uint32_t i = 0; i < seat_count; ++i) owner[i] = 0;
  std::atomic<std::uint64_t> double_holds{0};
  std::atomic<std::uint64_t> granted{0};
  std::atomic<std::uint64_t> refused{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(1234 + t);
      const HoldOwner me{"ses_" + std::to_string(t), ""};
      std::vector<Hold> mine;
      for (int op = 0; op < kOperationsPerThread; ++op) {
        if (!mine.empty() && (mine.size() >= 8 || random() % 2 == 0)) {
          const std::size_t pick = random() % mine.size();
          Hold hold = std::move(mine[pick]);
          mine[pick] = std::move(mine.back());
          mine.pop_back();
          // Clear the shadow first: once released, another thread may take the seat at once.
          for (const HeldSeat& seat : hold.seats) owner[seat.index].store(0);
          if (!table.Release(hold.id).ok()) double_holds.fetch_add(1);
          continue;
        }
        std::vector<SeatRequest> wanted;
        const std::uint32_t count = 1 + random() % 4;
        const std::uint32_t start = random() % (seat_count - count);
        for (std::uint32_t i = 0; i < count; ++i) {
          const std::uint32_t index = start + i * (1 + random() % 3) % (seat_count - start);
          if (std::any_of(wanted.begin(), wanted.end(),
                          [index](const SeatRequest& r) { return r.index == index; })) {
            continue;
          }
          wanted.push_back(SeatRequest{index, table.Seat(index).version});
        }
        Result<Hold> hold = table.HoldSeats(me, wanted);
        if (!hold.ok()) {
          refused.fetch_add(1);
          continue;
        }
        granted.fetch_add(1);
        for (const HeldSeat& seat : hold->seats) {
          std::uint32_t free = 0;
          if (!owner[seat.index].compare_exchange_strong(free, hold->slot)) {
            double_holds.fetch_add(1);
          }
          if (table.Seat(seat.index).hold != hold->slot) double_holds.fetch_add(1);
        }
        mine.push_back(std::move(hold).value());
      }
      for (const Hold& hold : mine) {
        for (const HeldSeat& seat : hold.seats) owner[seat.index].store(0);
        if (!table.Release(hold.id).ok()) double_holds.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(double_holds.load(), 0u);
  EXPECT_GT(granted.load(), 0u);
  EXPECT_GT(refused.load(), 0u) << "no contention: the test proves nothing";
  EXPECT_TRUE(table.CheckInvariant());
  EXPECT_EQ(table.Counts().available, seat_count);
  EXPECT_EQ(table.live_holds(), 0u);
}

}  // namespace
}  // namespace boxoffice
