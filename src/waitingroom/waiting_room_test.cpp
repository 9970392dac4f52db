#include "waitingroom/waiting_room.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <set>
#include <thread>
#include <utility>

#include "common/crypto.hpp"
#include "store/memory/memory_queue_store.hpp"
#include "waitingroom/shuffle.hpp"

namespace boxoffice {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kSecret = "waiting-room-test-secret";

struct Fan {
  std::string session_id;
  std::string ticket;
};

class WaitingRoomTest : public ::testing::Test {
 protected:
  void SetUp() override { InitCrypto(); }

  EventDefinition MakeEvent(std::string id, std::uint32_t rate, std::uint32_t max_active) {
    EventDefinition event;
    event.id = std::move(id);
    event.queue.enabled = true;
    event.queue.admission_rate_per_s = rate;
    event.queue.max_active = max_active;
    event.queue.access_ttl_s = 600;
    return event;
  }

  void Attach(WaitingRoom& room, const EventDefinition& event, bool restore = false) {
    room.Attach(
        event, [this] { return inventory_.load(); }, restore);
  }

  Fan Join(WaitingRoom& room, std::string_view event_id, int index) {
    Fan fan{"ses_" + std::to_string(index), ""};
    Result<FanView> view = room.Join(event_id, FanIdentity{fan.session_id, "", ""});
    EXPECT_TRUE(view.ok());
    if (view) fan.ticket = view->queue_ticket;
    return fan;
  }

  FanView Poll(WaitingRoom& room, std::string_view event_id, const Fan& fan) {
    Result<FanView> view = room.Poll(event_id, fan.session_id, fan.ticket);
    EXPECT_TRUE(view.ok());
    return view ? *view : FanView{};
  }

  // Moves the clock in 100 ms ticks, as the server's ticker does.
  void Run(WaitingRoom& room, milliseconds duration) {
    for (milliseconds elapsed(0); elapsed < duration; elapsed += milliseconds(100)) {
      clock_.Advance(milliseconds(100));
      room.Tick();
    }
  }

  std::uint64_t Admitted(WaitingRoom& room, std::string_view event_id) {
    return room.Stats(event_id)->admitted;
  }

  FakeClock clock_;
  MemoryQueueStore store_;
  std::atomic<InventoryLevel> inventory_{InventoryLevel{100, 0}};
};

// Fans are admitted in exactly the order they joined.
TEST_F(WaitingRoomTest, AdmitsInJoinOrder) {
  WaitingRoom room(store_, clock_, kSecret);
  Attach(room, MakeEvent("evt_a", 10, 1000));
  std::vector<Fan> fans;
  for (int i = 0; i < 50; ++i) fans.push_back(Join(room, "evt_a", i));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Poll(room, "evt_a", fans[i]).position, i + 1u);
  std::uint64_t admitted_before = 0;
  while (admitted_before < 50) {
    Run(room, milliseconds(100));
    const std::uint64_t admitted = Admitted(room, "evt_a");
    for (std::uint64_t i = 0; i < 50; ++i) {
      const FanState state = Poll(room, "evt_a", fans[i]).state;
      EXPECT_EQ(state == FanState::kAdmitted, i < admitted) << i;
    }
    admitted_before = admitted;
  }
}

// The counter moves at the configured rate: 10/s admits 50 fans in 5 s, not sooner.
TEST_F(WaitingRoomTest, PacesAtTheConfiguredRate) {
  WaitingRoom room(store_, clock_, kSecret);
  Attach(room, MakeEvent("evt_a", 10, 1000));
  std::vector<Fan> fans;
  for (int i = 0; i < 100; ++i) fans.push_back(Join(room, "evt_a", i));
  Run(room, seconds(5));
  EXPECT_NEAR(static_cast<double>(Admitted(room, "evt_a")), 50.0, 1.0);
  Run(room, seconds(2));
  EXPECT_NEAR(static_cast<double>(Admitted(room, "evt_a")), 70.0, 1.0);
  // The measured outflow drives the ETA: fan 100 is ~30 places back at ~10/s.
  const FanView last = Poll(room, "evt_a", fans[99]);
  ASSERT_TRUE(last.eta_s.has_value());
  EXPECT_NEAR(static_cast<double>(*last.eta_s), 3.0, 1.0);
}

// No more than max_active fans hold access at once; expiry frees the slots.
TEST_F(WaitingRoomTest, NeverExceedsMaxActive) {
  WaitingRoom room(store_, clock_, kSecret);
  EventDefinition event = MakeEvent("evt_a", 100, 5);
  event.queue.access_ttl_s = 60;
  Attach(room, event);
  for (int i = 0; i < 20; ++i) Join(room, "evt_a", i);
  Run(room, seconds(10));
  EXPECT_EQ(room.Stats("evt_a")->active, 5u);
  EXPECT_EQ(Admitted(room, "evt_a"), 5u);
  Run(room, seconds(55));
  EXPECT_EQ(Admitted(room, "evt_a"), 10u);
  EXPECT_EQ(room.Stats("evt_a")->active, 5u);
}

// A fan who stopped polling is skipped without taking a slot and, on return, goes in at the next
// free slot ahead of those behind.
TEST_F(WaitingRoomTest, AbandonedFanIsSkippedAndReturnsAheadOfOthers) {
  WaitingRoomOptions options;
  options.abandon_after_s = 30;
  WaitingRoom room(store_, clock_, kSecret, options);
  Attach(room, MakeEvent("evt_a", 1, 1000));
  room.Control("evt_a", QueueControls{std::nullopt, std::nullopt, true, std::nullopt, std::nullopt},
               [](auto) {});
  std::vector<Fan> fans;
  for (int i = 0; i < 5; ++i) fans.push_back(Join(room, "evt_a", i));
  // Everyone but fan 0 keeps polling for a minute while the queue is paused.
  for (int second = 0; second < 60; ++second) {
    Run(room, seconds(1));
    for (int i = 1; i < 5; ++i) Poll(room, "evt_a", fans[i]);
  }
  room.Control("evt_a",
               QueueControls{std::nullopt, std::nullopt, false, std::nullopt, std::nullopt},
               [](auto) {});
  Run(room, milliseconds(1000));
  EXPECT_EQ(room.Stats("evt_a")->abandoned, 1u);
  EXPECT_EQ(Poll(room, "evt_a", fans[1]).state, FanState::kAdmitted);
  EXPECT_EQ(Poll(room, "evt_a", fans[2]).state, FanState::kWaiting);
  // Fan 0 returns: first in line for the next slot, ahead of fans 2..4.
  const FanView back = Poll(room, "evt_a", fans[0]);
  EXPECT_EQ(back.state, FanState::kWaiting);
  EXPECT_EQ(back.position, 1u);
  Run(room, milliseconds(1000));
  EXPECT_EQ(Poll(room, "evt_a", fans[0]).state, FanState::kAdmitted);
  EXPECT_EQ(Poll(room, "evt_a", fans[2]).state, FanState::kWaiting);
  Run(room, milliseconds(1000));
  EXPECT_EQ(Poll(room, "evt_a", fans[2]).state, FanState::kAdmitted);
}

// A fan who came back and then went quiet again is passed over too: the slot goes to the fan
// behind, and the quiet fan, if they return once more, is at the end of those returning.
TEST_F(WaitingRoomTest, ReturnedFanWhoGoesQuietAgainIsSkipped) {
  WaitingRoomOptions options;
  options.abandon_after_s = 30;
  WaitingRoom room(store_, clock_, kSecret, options);
  Attach(room, MakeEvent("evt_a", 1, 1000));
  const auto pause = [&room](bool paused) {
    room.Control("evt_a",
                 QueueControls{std::nullopt, std::nullopt, paused, std::nullopt, std::nullopt},
                 [](auto) {});
  };
  pause(true);
  std::vector<Fan> fans;
  for (int i = 0; i < 4; ++i) fans.push_back(Join(room, "evt_a", i));
  // Fan 0 goes quiet; the others poll. Resumed, the counter passes fan 0 and admits fan 1.
  const auto poll_others_for = [&](int seconds_quiet) {
    for (int second = 0; second < seconds_quiet; ++second) {
      Run(room, seconds(1));
      for (int i = 1; i < 4; ++i) Poll(room, "evt_a", fans[i]);
    }
  };
  poll_others_for(60);
  pause(false);
  Run(room, milliseconds(1000));
  EXPECT_EQ(Poll(room, "evt_a", fans[1]).state, FanState::kAdmitted);
  // Fan 0 comes back (first of those returning), then goes quiet again while paused.
  pause(true);
  EXPECT_EQ(Poll(room, "evt_a", fans[0]).position, 1u);
  poll_others_for(60);
  pause(false);
  Run(room, milliseconds(1000));
  EXPECT_EQ(Poll(room, "evt_a", fans[2]).state, FanState::kAdmitted);
  EXPECT_EQ(room.Stats("evt_a")->abandoned, 2u);
  // Back once more: in line again, behind nobody who is returning, and admitted next.
  EXPECT_EQ(Poll(room, "evt_a", fans[0]).state, FanState::kWaiting);
  Run(room, milliseconds(1000));
  EXPECT_EQ(Poll(room, "evt_a", fans[0]).state, FanState::kAdmitted);
  EXPECT_EQ(Poll(room, "evt_a", fans[3]).state, FanState::kWaiting);
}

// Pausing stops admissions; resuming continues from where the counter stood.
TEST_F(WaitingRoomTest, PauseAndResume) {
  WaitingRoom room(store_, clock_, kSecret);
  Attach(room, MakeEvent("evt_a", 10, 1000));
  std::vector<Fan> fans;
  for (int i = 0; i < 40; ++i) fans.push_back(Join(room, "evt_a", i));
  Run(room, seconds(1));
  EXPECT_FALSE(Poll(room, "evt_a", fans[29]).paused);
  const std::uint64_t before = Admitted(room, "evt_a");
  EXPECT_NEAR(static_cast<double>(before), 10.0, 1.0);
  Result<QueueChange> paused = Error::Internal("no answer");
  room.Control("evt_a",
               QueueControls{std::nullopt, std::nullopt, true, "Back at 10:15", std::nullopt},
               [&paused](Result<QueueChange> change) { paused = std::move(change); });
  ASSERT_TRUE(paused.ok());
  // The change reports the settings it replaced as well as those now in force.
  EXPECT_FALSE(paused->before.paused);
  EXPECT_EQ(paused->before.message, "");
  EXPECT_TRUE(paused->after.paused);
  EXPECT_EQ(paused->after.message, "Back at 10:15");
  Run(room, seconds(5));
  EXPECT_EQ(Admitted(room, "evt_a"), before);
  // Waiting fans are told the doors are held, and promised no time.
  const FanView held = Poll(room, "evt_a", fans[29]);
  EXPECT_EQ(held.state, FanState::kWaiting);
  EXPECT_TRUE(held.paused);
  EXPECT_FALSE(held.eta_s);
  EXPECT_EQ(held.message, "Back at 10:15");
  // The message is for the line: an admitted fan's view does not carry it.
  EXPECT_EQ(Poll(room, "evt_a", fans[0]).state, FanState::kAdmitted);
  EXPECT_EQ(Poll(room, "evt_a", fans[0]).message, "");
  // Resuming leaves the message up until the operator takes it down with "".
  room.Control("evt_a", QueueControls{20, std::nullopt, false, std::nullopt, std::nullopt},
               [](auto) {});
  Run(room, seconds(1));
  EXPECT_NEAR(static_cast<double>(Admitted(room, "evt_a")), before + 20.0, 1.0);
  EXPECT_FALSE(Poll(room, "evt_a", fans[29]).paused);
  EXPECT_EQ(Poll(room, "evt_a", fans[39]).message, "Back at 10:15");
  room.Control("evt_a", QueueControls{std::nullopt, std::nullopt, std::nullopt, "", std::nullopt},
               [](auto) {});
  EXPECT_EQ(Poll(room, "evt_a", fans[39]).message, "");
}

// Closing the queue turns new fans away while everyone already in line keeps their place, is
// admitted in order, and may join again to find it; the closure survives a restart until the
// operator reopens.
TEST_F(WaitingRoomTest, ClosingTheQueueKeepsThoseInLine) {
  std::vector<Fan> fans;
  {
    WaitingRoom room(store_, clock_, kSecret);
    Attach(room, MakeEvent("evt_a", 2, 1000));
    for (int i = 0; i < 4; ++i) fans.push_back(Join(room, "evt_a", i));
    Result<QueueChange> closed = Error::Internal("no answer");
    room.Control("evt_a",
                 QueueControls{std::nullopt, std::nullopt, std::nullopt, std::nullopt, true},
                 [&closed](Result<QueueChange> change) { closed = change; });
    ASSERT_TRUE(closed.ok());
    EXPECT_FALSE(closed->before.closed);
    EXPECT_TRUE(closed->after.closed);
    EXPECT_EQ(room.PublicQueueJson("evt_a")->at("closed"), true);

    Result<FanView> newcomer = room.Join("evt_a", FanIdentity{"ses_new", "", ""});
    ASSERT_FALSE(newcomer.ok());
    EXPECT_EQ(newcomer.error().code, "queue_closed");
    EXPECT_EQ(newcomer.error().kind, ErrorKind::kConflict);
    Result<FanView> again = room.Join("evt_a", FanIdentity{fans[3].session_id, "", ""});
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->position, 4u);
    Run(room, seconds(1));
    EXPECT_EQ(Poll(room, "evt_a", fans[0]).state, FanState::kAdmitted);
    EXPECT_EQ(Poll(room, "evt_a", fans[1]).state, FanState::kAdmitted);
    EXPECT_EQ(room.Stats("evt_a")->joined, 4u);
  }
  WaitingRoom restarted(store_, clock_, kSecret);
  Attach(restarted, MakeEvent("evt_a", 2, 1000), true);
  EXPECT_TRUE(restarted.Settings("evt_a")->closed);
  EXPECT_EQ(restarted.Join("evt_a", FanIdentity{"ses_new", "", ""}).error().code, "queue_closed");
  restarted.Control("evt_a",
                    QueueControls{std::nullopt, std::nullopt, std::nullopt, std::nullopt, false},
                    [](auto) {});
  EXPECT_TRUE(restarted.Join("evt_a", FanIdentity{"ses_new", "", ""}).ok());
}

// A queue without a waiting line (disabled) admits at once, and closing it still turns new fans
// away: "closed" means nobody new gets in, whatever the queue's shape.
TEST_F(WaitingRoomTest, ClosingADisabledQueueTurnsNewFansAway) {
  WaitingRoom room(store_, clock_, kSecret);
  EventDefinition event = MakeEvent("evt_a", 2, 1000);
  event.queue.enabled = false;
  Attach(room, event);
  EXPECT_TRUE(room.Join("evt_a", FanIdentity{"ses_1", "", ""}).ok());
  room.Control("evt_a", QueueControls{std::nullopt, std::nullopt, std::nullopt, std::nullopt, true},
               [](auto) {});
  EXPECT_EQ(room.Join("evt_a", FanIdentity{"ses_2", "", ""}).error().code, "queue_closed");
  // The fan who came in before the closure is the same fan (200), not a new one.
  Result<FanView> again = room.Join("evt_a", FanIdentity{"ses_1", "", ""});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
}

// With nothing available and nothing held, waiting fans are told sold_out at once; while holds
// could return seats they keep waiting and are told how many are held.
TEST_F(WaitingRoomTest, SoldOut) {
  WaitingRoom room(store_, clock_, kSecret);
  Attach(room, MakeEvent("evt_a", 1, 1000));
  std::vector<Fan> fans;
  for (int i = 0; i < 5; ++i) fans.push_back(Join(room, "evt_a", i));
  inventory_ = InventoryLevel{0, 4};
  Run(room, seconds(1));
  FanView view = Poll(room, "evt_a", fans[4]);
  EXPECT_EQ(view.state, FanState::kWaiting);
  EXPECT_EQ(view.seats_held, 4u);
  inventory_ = InventoryLevel{0, 0};
  Run(room, seconds(1));
  const std::uint64_t admitted = Admitted(room, "evt_a");
  EXPECT_EQ(Poll(room, "evt_a", fans[4]).state, FanState::kSoldOut);
  Run(room, seconds(10));
  EXPECT_EQ(Admitted(room, "evt_a"), admitted);
}

// Forged, other-session and other-event tickets and access tokens are refused; an expired access
// token is refused; a genuine one is accepted.
TEST_F(WaitingRoomTest, RejectsForeignTicketsAndTokens) {
  WaitingRoom room(store_, clock_, kSecret);
  Attach(room, MakeEvent("evt_a", 100, 1000));
  Attach(room, MakeEvent("evt_b", 100, 1000));
  const Fan fan = Join(room, "evt_a", 1);
  EXPECT_FALSE(room.Poll("evt_a", "ses_other", fan.ticket).ok());
  EXPECT_FALSE(room.Poll("evt_b", fan.session_id, fan.ticket).ok());
  std::string forged = fan.ticket;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  Result<FanView> forged_view = room.Poll("evt_a", fan.session_id, forged);
  ASSERT_FALSE(forged_view.ok());
  EXPECT_EQ(forged_view.error().kind, ErrorKind::kUnauthenticated);
  WaitingRoom other_server(store_, clock_, "another-secret");
  other_server.Attach(MakeEvent("evt_c", 1, 1), nullptr, false);
  EXPECT_FALSE(
      room.Poll("evt_a", fan.session_id,
                other_server.Join("evt_c", FanIdentity{fan.session_id, "", ""})->queue_ticket)
          .ok());

  Run(room, seconds(1));
  const FanView admitted = Poll(room, "evt_a", fan);
  ASSERT_EQ(admitted.state, FanState::kAdmitted);
  EXPECT_TRUE(room.VerifyAccess("evt_a", fan.session_id, admitted.access_token).ok());
  EXPECT_FALSE(room.VerifyAccess("evt_b", fan.session_id, admitted.access_token).ok());
  EXPECT_FALSE(room.VerifyAccess("evt_a", "ses_other", admitted.access_token).ok());
  EXPECT_FALSE(room.VerifyAccess("evt_a", fan.session_id, "").ok());
  EXPECT_FALSE(room.VerifyAccess("evt_a", fan.session_id, fan.ticket).ok());
  clock_.Advance(seconds(601));
  const Status expired = room.VerifyAccess("evt_a", fan.session_id, admitted.access_token);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, "invalid_access_token");
  EXPECT_EQ(Poll(room, "evt_a", fan).state, FanState::kClosed);
}

// The same session, customer or device joining again gets the same place.
TEST_F(WaitingRoomTest, OnePlacePerSessionCustomerAndDevice) {
  WaitingRoom room(store_, clock_, kSecret);
  Attach(room, MakeEvent("evt_a", 1, 1000));
  Result<FanView> first = room.Join("evt_a", FanIdentity{"ses_1", "cus_1", "dev_1"});
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created);
  for (const FanIdentity& again : {FanIdentity{"ses_1", "", ""}, FanIdentity{"ses_2", "cus_1", ""},
                                   FanIdentity{"ses_3", "", "dev_1"}}) {
    Result<FanView> view = room.Join("evt_a", again);
    ASSERT_TRUE(view.ok());
    EXPECT_FALSE(view->created);
    EXPECT_EQ(view->position, 1u);
  }
  Result<FanView> stranger = room.Join("evt_a", FanIdentity{"ses_4", "", ""});
  EXPECT_EQ(stranger->position, 2u);
}

// A restart keeps every ticket's place and the settings in force, never reissues a sequence
// number, and admitted fans' access tokens stay valid.
TEST_F(WaitingRoomTest, RestartKeepsPlaces) {
  std::vector<Fan> fans;
  std::string access_token;
  std::uint64_t last_number_position = 0;
  {
    WaitingRoom room(store_, clock_, kSecret);
    Attach(room, MakeEvent("evt_a", 2, 1000));
    for (int i = 0; i < 10; ++i) fans.push_back(Join(room, "evt_a", i));
    Run(room, seconds(1));
    access_token = Poll(room, "evt_a", fans[0]).access_token;
    ASSERT_FALSE(access_token.empty());
    room.Control("evt_a",
                 QueueControls{std::nullopt, 77, true, "Paused for a moment", std::nullopt},
                 [](auto) {});
    last_number_position = *Poll(room, "evt_a", fans[9]).position;
  }
  WaitingRoom restarted(store_, clock_, kSecret);
  Attach(restarted, MakeEvent("evt_a", 2, 1000), true);
  EXPECT_EQ(restarted.Settings("evt_a")->max_active, 77u);
  EXPECT_TRUE(restarted.Settings("evt_a")->paused);
  EXPECT_EQ(restarted.Settings("evt_a")->message, "Paused for a moment");
  EXPECT_EQ(Poll(restarted, "evt_a", fans[9]).position, last_number_position);
  // The numbers reserved ahead but never handed out are nobody waiting.
  EXPECT_EQ(restarted.Stats("evt_a")->waiting, 8u);
  EXPECT_TRUE(restarted.VerifyAccess("evt_a", fans[0].session_id, access_token).ok());
  const Fan newcomer = Join(restarted, "evt_a", 100);
  EXPECT_GT(*Poll(restarted, "evt_a", newcomer).position, last_number_position);
  // Fans who have not polled since the restart are not skipped: admission resumes in order.
  restarted.Control("evt_a",
                    QueueControls{std::nullopt, std::nullopt, false, std::nullopt, std::nullopt},
                    [](auto) {});
  Run(restarted, seconds(1));
  EXPECT_EQ(restarted.Stats("evt_a")->abandoned, 0u);
  EXPECT_EQ(Poll(restarted, "evt_a", fans[3]).state, FanState::kAdmitted);
  EXPECT_EQ(Poll(restarted, "evt_a", fans[4]).state, FanState::kWaiting);
}

// While every seat left is held, nobody is admitted: they would find nothing to buy and keep a
// slot from the fans behind. Admission resumes when a hold returns seats.
TEST_F(WaitingRoomTest, NobodyIsAdmittedWhileEverySeatIsHeld) {
  WaitingRoom room(store_, clock_, kSecret);
  Attach(room, MakeEvent("evt_a", 100, 100));
  const Fan fan = Join(room, "evt_a", 0);
  inventory_ = InventoryLevel{0, 4};
  Run(room, seconds(2));
  EXPECT_EQ(room.Stats("evt_a")->admitted, 0u);
  const FanView waiting = Poll(room, "evt_a", fan);
  EXPECT_EQ(waiting.state, FanState::kWaiting);
  EXPECT_EQ(waiting.seats_held, 4u);
  inventory_ = InventoryLevel{2, 2};
  Run(room, seconds(1));
  EXPECT_EQ(Poll(room, "evt_a", fan).state, FanState::kAdmitted);
}

// Closed-loop admission: an order gives the slot back at once, the next tick fills it, and the
// buyer's access is spent: they see why, and a new join is a new place at the back.
TEST_F(WaitingRoomTest, AConfirmedOrderFreesTheSlotAtOnce) {
  WaitingRoom room(store_, clock_, kSecret);
  Attach(room, MakeEvent("evt_a", 100, 2));
  std::vector<Fan> fans;
  for (int i = 0; i < 5; ++i) fans.push_back(Join(room, "evt_a", i));
  Run(room, seconds(1));
  ASSERT_EQ(room.Stats("evt_a")->active, 2u);
  const FanView admitted = Poll(room, "evt_a", fans[0]);
  ASSERT_EQ(admitted.state, FanState::kAdmitted);
  EXPECT_EQ(admitted.sequence, 1u);
  EXPECT_EQ(admitted.admitted_as, 1u);
  EXPECT_EQ(Poll(room, "evt_a", fans[2]).state, FanState::kWaiting);

  ASSERT_TRUE(room.VerifyAccess("evt_a", fans[0].session_id, admitted.access_token).ok());
  room.OrderConfirmed("evt_a", fans[0].session_id, admitted.access_token);
  EXPECT_EQ(room.Stats("evt_a")->active, 1u);
  EXPECT_EQ(room.Stats("evt_a")->released_ordered, 1u);
  Run(room, milliseconds(100));
  EXPECT_EQ(room.Stats("evt_a")->active, 2u);
  EXPECT_EQ(Poll(room, "evt_a", fans[2]).state, FanState::kAdmitted);

  const FanView spent = Poll(room, "evt_a", fans[0]);
  EXPECT_EQ(spent.state, FanState::kClosed);
  EXPECT_EQ(spent.access_released, AccessRelease::kOrdered);
  const Status refused = room.VerifyAccess("evt_a", fans[0].session_id, admitted.access_token);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "invalid_access_token");
  EXPECT_EQ(refused.error().details.at("access_released").as_string(), "ordered");

  Result<FanView> again = room.Join("evt_a", FanIdentity{fans[0].session_id, "", ""});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->created);
  EXPECT_EQ(again->sequence, 6u);
  EXPECT_EQ(again->state, FanState::kWaiting);
}

// The last seats held and sold between two reads of the seat counts: the slot their buyer frees
// must not go to the fan behind, who would be admitted into a sold-out event; that fan is told
// it sold out instead.
TEST_F(WaitingRoomTest, TheLastBuyersSlotWaitsForFreshCounts) {
  WaitingRoom room(store_, clock_, kSecret);
  std::function<void()> while_counting;
  room.Attach(
      MakeEvent("evt_a", 100, 1),
      [this, &while_counting] {
        const InventoryLevel level = inventory_.load();
        if (while_counting) std::exchange(while_counting, nullptr)();
        return level;
      },
      false);
  const Fan buyer = Join(room, "evt_a", 0);
  const Fan behind = Join(room, "evt_a", 1);
  inventory_ = InventoryLevel{2, 0};
  Run(room, milliseconds(100));
  const FanView admitted = Poll(room, "evt_a", buyer);
  ASSERT_EQ(admitted.state, FanState::kAdmitted);

  // The counts this tick reads still show both seats; the buyer holds and buys them while the
  // tick runs.
  while_counting = [&] {
    inventory_ = InventoryLevel{0, 0};
    room.OrderConfirmed("evt_a", buyer.session_id, admitted.access_token);
  };
  Run(room, milliseconds(100));
  EXPECT_EQ(room.Stats("evt_a")->admitted, 1u);
  Run(room, milliseconds(100));
  EXPECT_EQ(room.Stats("evt_a")->admitted, 1u);
  EXPECT_EQ(Poll(room, "evt_a", behind).state, FanState::kSoldOut);
}

// An operator may let buyers shop on: the order then counts as activity, not as the end.
TEST_F(WaitingRoomTest, OrdersNeedNotEndAccess) {
  WaitingRoom room(store_, clock_, kSecret);
  EventDefinition event = MakeEvent("evt_a", 100, 2);
  event.queue.order_ends_access = false;
  Attach(room, event);
  const Fan fan = Join(room, "evt_a", 0);
  Run(room, seconds(1));
  const std::string token = Poll(room, "evt_a", fan).access_token;
  room.OrderConfirmed("evt_a", fan.session_id, token);
  EXPECT_TRUE(room.VerifyAccess("evt_a", fan.session_id, token).ok());
  EXPECT_EQ(room.Stats("evt_a")->active, 1u);
  EXPECT_EQ(room.Stats("evt_a")->released_ordered, 0u);
}

// A fan who makes no hold or order call for idle_release_s gives the slot to the next fan; if
// they come back their token still works and they count as active again.
TEST_F(WaitingRoomTest, AnIdleFanGivesTheSlotBackAndMayResume) {
  WaitingRoom room(store_, clock_, kSecret);
  EventDefinition event = MakeEvent("evt_a", 100, 1);
  event.queue.idle_release_s = 10;
  Attach(room, event);
  const Fan first = Join(room, "evt_a", 0);
  const Fan second = Join(room, "evt_a", 1);
  const Fan third = Join(room, "evt_a", 2);
  Run(room, seconds(1));
  const std::string token = Poll(room, "evt_a", first).access_token;
  ASSERT_FALSE(token.empty());
  // Still polling (waiting fans must, or they are passed over), but no inventory call.
  for (int second_elapsed = 0; second_elapsed < 11; ++second_elapsed) {
    Run(room, seconds(1));
    Poll(room, "evt_a", second);
    Poll(room, "evt_a", third);
  }
  EXPECT_EQ(room.Stats("evt_a")->released_idle, 1u);
  const FanView next = Poll(room, "evt_a", second);
  ASSERT_EQ(next.state, FanState::kAdmitted);
  EXPECT_EQ(Poll(room, "evt_a", first).state, FanState::kAdmitted);  // the token still admits

  EXPECT_TRUE(room.VerifyAccess("evt_a", first.session_id, token).ok());
  EXPECT_EQ(room.Stats("evt_a")->resumed, 1u);
  EXPECT_EQ(room.Stats("evt_a")->active, 2u);
  // An active fan's calls keep the slot: one every 5 s for 30 s never goes idle.
  for (int i = 0; i < 6; ++i) {
    Run(room, seconds(5));
    Poll(room, "evt_a", third);
    ASSERT_TRUE(room.VerifyAccess("evt_a", second.session_id, next.access_token).ok());
  }
  EXPECT_EQ(room.Stats("evt_a")->released_idle, 2u);                // the first fan, idle again
  EXPECT_EQ(Poll(room, "evt_a", third).state, FanState::kWaiting);  // the second holds the slot
}

// Leaving gives up a place in line (the counter skips it, the waiting count drops at once) or
// an active slot; it is idempotent and ends the fan's access.
TEST_F(WaitingRoomTest, LeavingGivesUpThePlaceOrTheSlot) {
  WaitingRoom room(store_, clock_, kSecret);
  EventDefinition event = MakeEvent("evt_a", 100, 10);
  event.queue.paused = true;
  Attach(room, event);
  std::vector<Fan> fans;
  for (int i = 0; i < 4; ++i) fans.push_back(Join(room, "evt_a", i));
  ASSERT_TRUE(room.Leave("evt_a", fans[1].session_id, fans[1].ticket).ok());
  ASSERT_TRUE(room.Leave("evt_a", fans[1].session_id, fans[1].ticket).ok());
  EXPECT_EQ(room.Stats("evt_a")->waiting, 3u);
  EXPECT_EQ(room.Stats("evt_a")->left_waiting, 1u);
  EXPECT_FALSE(room.Leave("evt_a", fans[2].session_id, fans[1].ticket).ok());  // not theirs

  room.Control("evt_a",
               QueueControls{std::nullopt, std::nullopt, false, std::nullopt, std::nullopt},
               [](auto) {});
  Run(room, seconds(1));
  EXPECT_EQ(room.Stats("evt_a")->admitted, 3u);
  EXPECT_EQ(room.Stats("evt_a")->abandoned, 0u);
  EXPECT_EQ(room.Stats("evt_a")->waiting, 0u);
  const FanView left = Poll(room, "evt_a", fans[1]);
  EXPECT_EQ(left.state, FanState::kClosed);
  EXPECT_EQ(left.access_released, AccessRelease::kLeft);

  const std::string token = Poll(room, "evt_a", fans[0]).access_token;
  ASSERT_TRUE(room.Leave("evt_a", fans[0].session_id, fans[0].ticket).ok());
  EXPECT_EQ(room.Stats("evt_a")->active, 2u);
  EXPECT_EQ(room.Stats("evt_a")->released_left, 1u);
  EXPECT_FALSE(room.VerifyAccess("evt_a", fans[0].session_id, token).ok());
}

// Access that runs out is counted as such, and the slot refilled.
TEST_F(WaitingRoomTest, ExpiredAccessIsCountedAndRefilled) {
  WaitingRoom room(store_, clock_, kSecret);
  EventDefinition event = MakeEvent("evt_a", 100, 1);
  event.queue.access_ttl_s = 60;
  event.queue.idle_release_s = 3'600;
  Attach(room, event);
  const Fan first = Join(room, "evt_a", 0);
  const Fan second = Join(room, "evt_a", 1);
  Run(room, seconds(1));
  for (int i = 0; i < 61; ++i) {
    Run(room, seconds(1));
    Poll(room, "evt_a", second);
  }
  EXPECT_EQ(room.Stats("evt_a")->released_expired, 1u);
  EXPECT_EQ(Poll(room, "evt_a", first).access_released, AccessRelease::kExpired);
  EXPECT_EQ(Poll(room, "evt_a", second).state, FanState::kAdmitted);
}

// A token signed before a restart is honoured and its holder counted active again, with its
// own expiry.
TEST_F(WaitingRoomTest, ATokenFromBeforeARestartIsTakenOn) {
  std::string token;
  Fan fan;
  EventDefinition event = MakeEvent("evt_a", 100, 10);
  event.queue.idle_release_s = 3'600;
  {
    WaitingRoom room(store_, clock_, kSecret);
    Attach(room, event);
    fan = Join(room, "evt_a", 0);
    Run(room, seconds(1));
    token = Poll(room, "evt_a", fan).access_token;
  }
  clock_.Advance(seconds(300));
  WaitingRoom restarted(store_, clock_, kSecret);
  Attach(restarted, event, true);
  ASSERT_TRUE(restarted.VerifyAccess("evt_a", fan.session_id, token).ok());
  EXPECT_EQ(restarted.Stats("evt_a")->active, 1u);
  Run(restarted, seconds(301));
  EXPECT_EQ(restarted.Stats("evt_a")->active, 0u);
  EXPECT_EQ(restarted.Stats("evt_a")->released_expired, 1u);
}

// A join that outruns the durable reservation of sequence numbers is refused, not risked.
// Live settings read back from the store are taken only as PATCH writes them: a count no
// uint32 holds, or one outside PATCH's bounds, leaves the definition's setting. The restore threw
// for 1e30 before (found by fuzz/json_documents_fuzzer.cpp), so the server could not start.
TEST_F(WaitingRoomTest, RestoredSettingsOutOfRangeAreIgnored) {
  for (const char* stored :
       {R"({"admission_rate_per_s": 1e30, "max_active": -1})",
        R"({"admission_rate_per_s": 5333333333333333333333333330, "max_active": 2.5})",
        R"({"admission_rate_per_s": 0, "max_active": 4294967295})"}) {
    store_.Put("evt_a", "settings", stored, nullptr);
    WaitingRoom restarted(store_, clock_, kSecret);
    Attach(restarted, MakeEvent("evt_a", 2, 1000), true);
    ASSERT_TRUE(restarted.Settings("evt_a").ok()) << stored;
    EXPECT_EQ(restarted.Settings("evt_a")->admission_rate_per_s, 2u) << stored;
    EXPECT_EQ(restarted.Settings("evt_a")->max_active, 1000u) << stored;
  }
  store_.Put("evt_a", "settings", R"({"admission_rate_per_s": 30, "max_active": 40.0})", nullptr);
  WaitingRoom restarted(store_, clock_, kSecret);
  Attach(restarted, MakeEvent("evt_a", 2, 1000), true);
  EXPECT_EQ(restarted.Settings("evt_a")->admission_rate_per_s, 30u);
  EXPECT_EQ(restarted.Settings("evt_a")->max_active, 40u);
}

TEST_F(WaitingRoomTest, QueueLengthIsBounded) {
  WaitingRoomOptions options;
  options.queue_length_max = 3;
  WaitingRoom room(store_, clock_, kSecret, options);
  Attach(room, MakeEvent("evt_a", 1, 1000));
  for (int i = 0; i < 3; ++i) Join(room, "evt_a", i);
  Result<FanView> full = room.Join("evt_a", FanIdentity{"ses_x", "", ""});
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, "queue_full");
  EXPECT_GT(full.error().retry_after_s, 0);
}

// Before opening, a shuffled event's fans wait in the pre-queue; at opening their order is a
// permutation that anyone can recompute from the revealed seed; later fans follow in FIFO order.
TEST_F(WaitingRoomTest, ShufflesThePrequeueVerifiably) {
  WaitingRoom room(store_, clock_, kSecret);
  EventDefinition event = MakeEvent("evt_s", 1000, 100000);
  event.queue.policy = QueuePolicy::kShufflePrequeue;
  event.onsale_at = clock_.Now() + seconds(60);
  Attach(room, event);
  const std::string commitment =
      std::string(room.PublicQueueJson("evt_s")->at("seed_sha256").as_string());
  EXPECT_FALSE(room.PublicQueueJson("evt_s")->contains("seed"));
  std::vector<Fan> fans;
  for (int i = 0; i < 200; ++i) {
    fans.push_back(Join(room, "evt_s", i));
    EXPECT_EQ(Poll(room, "evt_s", fans.back()).state, FanState::kPrequeue);
  }
  clock_.Advance(seconds(60));
  room.Control("evt_s", QueueControls{std::nullopt, std::nullopt, true, std::nullopt, std::nullopt},
               [](auto) {});
  room.Tick();
  const boost::json::object revealed = *room.PublicQueueJson("evt_s");
  const std::string seed(revealed.at("seed").as_string());
  EXPECT_EQ(Sha256Hex(seed), commitment);
  const Fan late = Join(room, "evt_s", 1000);

  const Shuffle shuffle(seed, 200);
  std::set<std::uint64_t> positions;
  for (int i = 0; i < 200; ++i) {
    const FanView view = Poll(room, "evt_s", fans[i]);
    ASSERT_EQ(view.state, FanState::kWaiting);
    EXPECT_EQ(*view.position, shuffle.Permute(i) + 1);
    positions.insert(*view.position);
  }
  EXPECT_EQ(positions.size(), 200u);
  EXPECT_EQ(*positions.begin(), 1u);
  EXPECT_EQ(*positions.rbegin(), 200u);
  EXPECT_EQ(Poll(room, "evt_s", late).position, 201u);
  // Not the join order: the draw moved at least some fans.
  int unmoved = 0;
  for (int i = 0; i < 200; ++i) unmoved += shuffle.Permute(i) == static_cast<std::uint64_t>(i);
  EXPECT_LT(unmoved, 20);

  // Admission follows the draw.
  room.Control("evt_s",
               QueueControls{std::nullopt, std::nullopt, false, std::nullopt, std::nullopt},
               [](auto) {});
  Run(room, milliseconds(100));
  for (int i = 0; i < 200; ++i) {
    const FanView view = Poll(room, "evt_s", fans[i]);
    EXPECT_EQ(view.state == FanState::kAdmitted, shuffle.Permute(i) < 100) << i;
  }
}

// Many threads joining and polling at once while the controller ticks: every fan gets a distinct
// place, none is lost, and admission stays within max_active.
TEST_F(WaitingRoomTest, ConcurrentJoinsGetDistinctPlaces) {
  constexpr int kThreads = 8;
  constexpr int kFansPerThread = 500;
  WaitingRoom room(store_, clock_, kSecret);
  Attach(room, MakeEvent("evt_a", 1000, 300));
  std::vector<std::vector<Fan>> fans(kThreads);
  std::atomic<bool> stop{false};
  std::thread ticker([&] {
    while (!stop) {
      clock_.Advance(milliseconds(10));
      room.Tick();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kFansPerThread; ++i) {
        fans[t].push_back(Join(room, "evt_a", t * kFansPerThread + i));
        Poll(room, "evt_a", fans[t].back());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  stop = true;
  ticker.join();
  EXPECT_EQ(room.Stats("evt_a")->joined, std::uint64_t{kThreads * kFansPerThread});
  EXPECT_LE(room.Stats("evt_a")->active, 300u);
  std::set<std::string> tickets;
  for (const auto& list : fans) {
    for (const Fan& fan : list) tickets.insert(fan.ticket);
  }
  EXPECT_EQ(tickets.size(), std::size_t{kThreads * kFansPerThread});
}

// The Feistel shuffle is a bijection on every size, and Unpermute inverts it.
TEST(ShuffleTest, IsAPermutationOfEverySize) {
  InitCrypto();
  for (std::uint64_t size : {1u, 2u, 3u, 7u, 64u, 1000u, 4097u}) {
    const Shuffle shuffle("seed", size);
    std::vector<bool> seen(size, false);
    for (std::uint64_t i = 0; i < size; ++i) {
      const std::uint64_t place = shuffle.Permute(i);
      ASSERT_LT(place, size);
      EXPECT_FALSE(seen[place]);
      seen[place] = true;
      EXPECT_EQ(shuffle.Unpermute(place), i);
    }
  }
  EXPECT_NE(Shuffle("seed-a", 1000).Permute(0), Shuffle("seed-b", 1000).Permute(0));
}

}  // namespace
}  // namespace boxoffice
