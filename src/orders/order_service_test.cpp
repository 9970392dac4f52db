#include "orders/order_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "orders/order_test_support.hpp"

namespace boxoffice {
namespace {

using order_testing::ErrorCode;
using order_testing::OrderFixture;

class OrderServiceTest : public OrderFixture {
 protected:
  // The id of an order of `quantity` seats that ses_1 placed (201), for the refund tests.
  std::string PlacedOrderId(const std::shared_ptr<Event>& event, std::uint32_t quantity) {
    const RenderedAnswer placed = Place(Request(HoldSeats(event, "ses_1", quantity)));
    EXPECT_EQ(placed.status, 201) << placed.body;
    return placed.status == 201 ? OrderIdOf(placed) : "";
  }
};

// An authorized order sells the hold's seats (versions bump), ends the hold as ordered and writes
// the order with one ticket per seat.
TEST_F(OrderServiceTest, PlacedOrderSellsTheSeatsAndEndsTheHold) {
  auto event = CreateEvent();
  const Hold hold = HoldSeats(event, "ses_1", 2);
  const RenderedAnswer response = Place(Request(hold));
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_FALSE(response.replayed);

  const SeatCounts counts = holds_->InventoryFor(event).Counts();
  EXPECT_EQ(counts.sold, 2u);
  EXPECT_EQ(counts.held, 0u);
  EXPECT_EQ(counts.available, 8u);
  EXPECT_TRUE(holds_->InventoryFor(event).CheckInvariant());
  for (const HeldSeat& seat : hold.seats) {
    const SeatState state = holds_->InventoryFor(event).Seat(seat.index);
    EXPECT_EQ(state.status, SeatStatus::kSold);
    EXPECT_EQ(state.version, seat.version + 1) << "selling bumps the version";
  }
  std::optional<Hold> ended = holds_->InventoryFor(event).Find(hold.id);
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->status, HoldStatus::kOrdered);

  Result<OrderRecord> order = orders_->Get(OrderIdOf(response), "ses_1", "", false);
  ASSERT_TRUE(order.ok()) << order.error().message;
  EXPECT_EQ(order->status, "confirmed");
  EXPECT_EQ(order->payment_status, "authorized");
  EXPECT_EQ(order->total_cents, 5'000);
  ASSERT_EQ(order->tickets.size(), 2u);
  EXPECT_EQ(gateway_.Count("authorized"), 1);
  auto live = ledger_->LoadLiveHolds();
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->empty()) << "the journal ends the hold in the order's transaction";
  EXPECT_EQ(orders_->counters().confirmed, 1u);
}

// Only the session that placed an order (or the operator) sees it; others get 404.
TEST_F(OrderServiceTest, OrderIsVisibleToItsSessionAndTheOperatorOnly) {
  auto event = CreateEvent();
  const RenderedAnswer response = Place(Request(HoldSeats(event, "ses_1")));
  ASSERT_EQ(response.status, 201);
  const std::string id = OrderIdOf(response);
  EXPECT_TRUE(orders_->Get(id, "ses_1", "", false).ok());
  EXPECT_TRUE(orders_->Get(id, "", "", true).ok());
  Result<OrderRecord> stranger = orders_->Get(id, "ses_2", "", false);
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().code, "order_not_found");
  EXPECT_FALSE(orders_->Get("ord_nope", "ses_1", "", false).ok());
}

// A decline is 402-worthy and leaves the hold live, so the fan can retry with another card.
TEST_F(OrderServiceTest, DeclineKeepsTheHoldForARetry) {
  auto event = CreateEvent();
  const Hold hold = HoldSeats(event, "ses_1", 2);
  const RenderedAnswer declined = Place(Request(hold, "tok_declined"));
  EXPECT_EQ(declined.status, 402);
  EXPECT_EQ(ErrorCode(declined), "payment_declined");
  EXPECT_EQ(holds_->InventoryFor(event).Counts().held, 2u);
  EXPECT_EQ(holds_->InventoryFor(event).Find(hold.id)->status, HoldStatus::kHeld);

  const RenderedAnswer retried = Place(Request(hold, "tok_visa"));
  ASSERT_EQ(retried.status, 201) << retried.body;
  EXPECT_EQ(holds_->InventoryFor(event).Counts().sold, 2u);
  auto pending = ledger_->LoadPendingPayments();
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty()) << "the declined attempt is settled";
}

// Another session's hold, an unknown hold and an expired hold are 409 hold_expired, and the
// gateway is never asked.
TEST_F(OrderServiceTest, HoldNotLiveOrNotYoursIsHoldExpired) {
  auto event = CreateEvent();
  const Hold hold = HoldSeats(event, "ses_1", 1);
  PlaceOrderRequest stranger = Request(hold);
  stranger.session_id = "ses_2";
  EXPECT_EQ(ErrorCode(Place(stranger)), "hold_expired");
  PlaceOrderRequest unknown = Request(hold);
  unknown.hold_id = "hld_nothing_here";
  EXPECT_EQ(ErrorCode(Place(unknown)), "hold_expired");
  clock_.Advance(std::chrono::seconds(event->definition().hold_ttl_s + 1));
  const RenderedAnswer expired = Place(Request(hold));
  EXPECT_EQ(expired.status, 409);
  EXPECT_EQ(ErrorCode(expired), "hold_expired");
  EXPECT_EQ(gateway_.authorize_calls(), 0);
  EXPECT_EQ(holds_->InventoryFor(event).Counts().available, 10u);
}

// The hold expires while the card is being authorized: the authorization is voided, the answer
// is 409, no seat is sold and nobody is charged.
TEST_F(OrderServiceTest, HoldExpiringDuringAuthorizationVoidsIt) {
  auto event = CreateEvent();
  const Hold hold = HoldSeats(event, "ses_1", 2);
  gateway_.DuringAuthorize(
      [this, &event] { clock_.Advance(std::chrono::seconds(event->definition().hold_ttl_s)); });
  const RenderedAnswer response = Place(Request(hold));
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(ErrorCode(response), "hold_expired");
  EXPECT_EQ(gateway_.Count("voided"), 1);
  EXPECT_EQ(gateway_.Count("authorized"), 0);
  EXPECT_EQ(holds_->InventoryFor(event).Counts().sold, 0u);
  EXPECT_TRUE(holds_->InventoryFor(event).CheckInvariant());
  auto pending = ledger_->LoadPendingPayments();
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
  EXPECT_EQ(orders_->counters().conflicts, 1u);
}

// A retryable gateway failure is 503 with Retry-After, and the same Idempotency-Key then works.
TEST_F(OrderServiceTest, GatewayFailureIs503AndTheKeyMayBeRetried) {
  auto event = CreateEvent();
  const Hold hold = HoldSeats(event, "ses_1", 1);
  PlaceOrderRequest failing = Request(hold, "tok_error", "key-1");
  failing.request_hash = "same";
  const RenderedAnswer failed = Place(failing);
  EXPECT_EQ(failed.status, 503);
  EXPECT_GT(failed.retry_after_s, 0);
  EXPECT_EQ(ErrorCode(failed), "payments_unavailable");
  PlaceOrderRequest retry = Request(hold, "tok_visa", "key-1");
  retry.request_hash = "same";
  const RenderedAnswer placed = Place(retry);
  EXPECT_EQ(placed.status, 201) << placed.body;
}

// A lost reply (timeout) that did authorize is found by its key and voided; the fan gets 503.
TEST_F(OrderServiceTest, AmbiguousTimeoutIsLookedUpAndVoided) {
  auto event = CreateEvent();
  const RenderedAnswer response = Place(Request(HoldSeats(event, "ses_1", 1), "tok_timeout"));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(gateway_.Count("voided"), 1);
  EXPECT_EQ(gateway_.Count("authorized"), 0);
  EXPECT_EQ(holds_->InventoryFor(event).Counts().held, 1u) << "the hold stays for a retry";
}

// Same key and body: the first answer again, byte for byte, without a second authorization.
// Same key, other body: 422 idempotency_key_reused.
TEST_F(OrderServiceTest, IdempotentReplayReturnsTheFirstAnswer) {
  auto event = CreateEvent();
  const Hold hold = HoldSeats(event, "ses_1", 2);
  const RenderedAnswer first = Place(Request(hold, "tok_visa", "key-1"));
  ASSERT_EQ(first.status, 201);
  const RenderedAnswer again = Place(Request(hold, "tok_visa", "key-1"));
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_TRUE(again.replayed);
  PlaceOrderRequest other = Request(hold, "tok_visa", "key-1");
  other.request_hash = "another body";
  const RenderedAnswer reused = Place(other);
  EXPECT_EQ(reused.status, 422);
  EXPECT_EQ(ErrorCode(reused), "idempotency_key_reused");
  EXPECT_EQ(gateway_.authorize_calls(), 1);
  // The key is the session's: another session's same key is another request (and its hold).
  const Hold theirs = HoldSeats(event, "ses_2", 1);
  EXPECT_EQ(Place(Request(theirs, "tok_visa", "key-1")).status, 201);
}

// A declined answer is stored too: replaying the key replays the decline.
TEST_F(OrderServiceTest, DeclineIsReplayedForItsKey) {
  auto event = CreateEvent();
  const Hold hold = HoldSeats(event, "ses_1", 1);
  const RenderedAnswer first = Place(Request(hold, "tok_declined", "key-d"));
  EXPECT_EQ(first.status, 402);
  const RenderedAnswer again = Place(Request(hold, "tok_declined", "key-d"));
  EXPECT_EQ(again.status, 402);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(gateway_.authorize_calls(), 1);
}

// A replay while the first request is still authorizing is 409 idempotency_in_flight.
TEST_F(OrderServiceTest, ReplayWhileInFlightIs409) {
  auto event = CreateEvent();
  const Hold hold = HoldSeats(event, "ses_1", 1);
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first_call{true};
  gateway_.DuringAuthorize([&] {
    if (first_call.exchange(false)) {
      entered.set_value();
      released.wait();
    }
  });
  std::promise<RenderedAnswer> first;
  orders_->Place(Request(hold, "tok_visa", "key-1"),
                 [&first](RenderedAnswer response) { first.set_value(std::move(response)); });
  entered.get_future().wait();
  const RenderedAnswer during = Place(Request(hold, "tok_visa", "key-1"));
  EXPECT_EQ(during.status, 409);
  EXPECT_EQ(ErrorCode(during), "idempotency_in_flight");
  release.set_value();
  EXPECT_EQ(first.get_future().get().status, 201);
}

// 16 threads send the same key and body at once: one order, one authorization; every answer is
// the order (first or replayed) or 409 in flight.
TEST_F(OrderServiceTest, ConcurrentDuplicatesMakeOneOrder) {
  auto event = CreateEvent();
  const Hold hold = HoldSeats(event, "ses_1", 2);
  constexpr int kThreads = 16;
  std::latch start(kThreads);
  std::vector<RenderedAnswer> answers(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      answers[i] = Place(Request(hold, "tok_visa", "same-key"));
    });
  }
  for (std::thread& thread : threads) thread.join();
  int created = 0;
  std::string body;
  for (const RenderedAnswer& answer : answers) {
    if (answer.status == 201) {
      ++created;
      if (body.empty()) body = answer.body;
      EXPECT_EQ(answer.body, body) << "every 201 is the same order";
    } else {
      EXPECT_EQ(answer.status, 409);
      EXPECT_EQ(ErrorCode(answer), "idempotency_in_flight");
    }
  }
  EXPECT_GE(created, 1);
  EXPECT_EQ(gateway_.authorize_calls(), 1);
  EXPECT_EQ(holds_->InventoryFor(event).Counts().sold, 2u);
}

// Many fans race to order holds on distinct seats from many threads: all succeed, the seat
// invariant holds and the ledger has one sold seat per ticket.
TEST_F(OrderServiceTest, ConcurrentOrdersOnDistinctHoldsAllConfirm) {
  constexpr int kFans = 20;
  auto event = CreateEvent(kFans);
  std::vector<Hold> holds;
  for (int i = 0; i < kFans; ++i) holds.push_back(HoldSeats(event, "ses_" + std::to_string(i), 1));
  std::latch start(kFans);
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kFans; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      if (Place(Request(holds[i])).status == 201) ++created;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(created.load(), kFans);
  EXPECT_EQ(holds_->InventoryFor(event).Counts().sold, std::uint32_t{kFans});
  EXPECT_TRUE(holds_->InventoryFor(event).CheckInvariant());
  auto sold = ledger_->LoadSoldSeats();
  ASSERT_TRUE(sold.ok());
  EXPECT_EQ(sold->size(), std::size_t{kFans});
}

// A gateway that keeps every authorization until the test lets it answer: a slow gateway, with
// the test deciding when "later" is. Every other call goes straight to `answers`.
class ParkingGateway final : public PaymentGateway {
 public:
  explicit ParkingGateway(PaymentGateway& answers) : answers_(answers) {}
  const std::string& name() const override { return answers_.name(); }
  PaymentResult Authorize(const AuthorizeRequest& request) override {
    return answers_.Authorize(request);
  }
  PaymentResult Capture(const PaymentRef& payment, std::int64_t amount_cents,
                        const std::string& key) override {
    return answers_.Capture(payment, amount_cents, key);
  }
  PaymentResult Void(const PaymentRef& payment, const std::string& key) override {
    return answers_.Void(payment, key);
  }
  PaymentResult Refund(const PaymentRef& payment, std::int64_t amount_cents,
                       const std::string& key) override {
    return answers_.Refund(payment, amount_cents, key);
  }
  PaymentResult Lookup(const std::string& key) override { return answers_.Lookup(key); }
  void AuthorizeAsync(const AuthorizeRequest& request, PaymentDone done) override {
    std::lock_guard lock(mutex_);
    parked_.emplace_back(request, std::move(done));
    arrived_.notify_all();
  }

  // Blocks until `count` authorizations wait for their answer.
  void AwaitParked(std::size_t count) {
    std::unique_lock lock(mutex_);
    arrived_.wait(lock, [&] { return parked_.size() >= count; });
  }
  // Answers every parked authorization (from this thread, as a gateway's client would from its).
  void AnswerAll() {
    std::vector<std::pair<AuthorizeRequest, PaymentDone>> parked;
    {
      std::lock_guard lock(mutex_);
      parked.swap(parked_);
    }
    for (auto& [request, done] : parked) done(answers_.Authorize(request));
  }

 private:
  PaymentGateway& answers_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::pair<AuthorizeRequest, PaymentDone>> parked_;
};

// One worker keeps several orders at the gateway at once: none of them holds it while its
// authorization waits. Beyond in_flight_max an order is refused at once, and the answers, when
// they come, confirm every order.
TEST_F(OrderServiceTest, ConcurrentOrdersAtTheGatewayHoldNoWorkerUpToTheBound) {
  auto event = CreateEvent();
  std::mutex mutex;
  std::condition_variable answered;
  std::vector<RenderedAnswer> answers;
  ParkingGateway slow(gateway_);
  // Declared after what its answers touch, so that it is destroyed (its orders ended) first.
  OrderService orders(*catalog_, *holds_, *ledger_, &slow, nullptr, clock_, metrics_,
                      api::MakeOrderRendering(), OrderServiceOptions{1, 16, 3});
  auto place = [&](const std::string& session) {
    orders.Place(Request(HoldSeats(event, session, 1)), [&](RenderedAnswer answer) {
      std::lock_guard lock(mutex);
      answers.push_back(std::move(answer));
      answered.notify_all();
    });
  };
  for (const char* session : {"ses_1", "ses_2", "ses_3"}) place(session);
  slow.AwaitParked(3);  // a worker that waited for the first answer would never send the second
  EXPECT_EQ(orders.in_flight(), 3u);
  place("ses_4");
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(answers.size(), 1u);  // refused on the caller's thread, before any answer came
    EXPECT_EQ(answers[0].status, 503);
    EXPECT_EQ(ErrorCode(answers[0]), "overloaded");
  }
  slow.AnswerAll();
  {
    std::unique_lock lock(mutex);
    answered.wait(lock, [&] { return answers.size() == 4; });
  }
  for (std::size_t i = 1; i < answers.size(); ++i) EXPECT_EQ(answers[i].status, 201);
  EXPECT_EQ(holds_->InventoryFor(event).Counts().sold, 3u);
}

// Without a gateway every order is 503 payments_unavailable.
TEST_F(OrderServiceTest, NoGatewayIs503) {
  auto event = CreateEvent();
  OrderService without(*catalog_, *holds_, *ledger_, nullptr, nullptr, clock_, metrics_,
                       api::MakeOrderRendering(), OrderServiceOptions{1, 4, kOrdersInFlightMax});
  std::promise<RenderedAnswer> answered;
  without.Place(Request(HoldSeats(event, "ses_1", 1)),
                [&answered](RenderedAnswer response) { answered.set_value(std::move(response)); });
  const RenderedAnswer response = answered.get_future().get();
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(ErrorCode(response), "payments_unavailable");
}

// Bought seats count against per_customer like held ones, also after a restart; sold seats come
// back sold and the order's hold does not come back.
TEST_F(OrderServiceTest, SoldSeatsAndLimitsSurviveARestart) {
  auto event = CreateEvent(10, 3);
  const RenderedAnswer placed = Place(Request(HoldSeats(event, "ses_1", 2)));
  ASSERT_EQ(placed.status, 201);
  HoldOwner owner{"ses_1", ""};
  Result<Hold> over =
      holds_->InventoryFor(event).HoldBestAvailable(owner, BestAvailableRequest{2, {}, false});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, "limit_exceeded");

  Reopen();
  event = catalog_->Find(event->definition().id);
  ASSERT_NE(event, nullptr);
  const SeatCounts counts = holds_->InventoryFor(event).Counts();
  EXPECT_EQ(counts.sold, 2u);
  EXPECT_EQ(counts.held, 0u);
  EXPECT_TRUE(holds_->InventoryFor(event).CheckInvariant());
  Result<Hold> still_over =
      holds_->InventoryFor(event).HoldBestAvailable(owner, BestAvailableRequest{2, {}, false});
  ASSERT_FALSE(still_over.ok());
  EXPECT_EQ(still_over.error().code, "limit_exceeded");
  EXPECT_TRUE(holds_->InventoryFor(event)
                  .HoldBestAvailable(owner, BestAvailableRequest{1, {}, false})
                  .ok());
}

// A crash between authorize and confirm leaves a pending attempt and an authorization at the
// gateway; recovery at the next start voids it and forgets the in-flight key.
TEST_F(OrderServiceTest, RecoveryVoidsAnAuthorizationWithoutAnOrder) {
  auto event = CreateEvent();
  PaymentAttemptRecord attempt;
  attempt.idempotency_key = "ord_crashed";
  attempt.order_id = "ord_crashed";
  attempt.event_id = event->definition().id;
  attempt.amount_cents = 2'500;
  attempt.currency = "USD";
  attempt.state = "pending";
  attempt.request_scope = "ses_1";
  attempt.request_key = "key-crash";
  IdempotencyRecord in_flight{"ses_1", "key-crash", "h", "in_flight", 0, "", 1};
  ASSERT_TRUE(WaitForDurable([&](Ledger::Done done) {
                ledger_->BeginPayment(attempt, in_flight, std::move(done));
              }).ok());
  // The process "dies" right after the gateway authorized.
  ASSERT_EQ(
      gateway_.Authorize(AuthorizeRequest{"ord_crashed", 2'500, "USD", "tok_visa", "ord_crashed"})
          .outcome,
      PaymentOutcome::kSucceeded);
  // A second attempt crashed before reaching the gateway at all.
  attempt.idempotency_key = attempt.order_id = "ord_never_sent";
  attempt.request_key = "";
  ASSERT_TRUE(WaitForDurable([&](Ledger::Done done) {
                ledger_->BeginPayment(attempt, IdempotencyRecord{}, std::move(done));
              }).ok());

  Reopen();
  Result<std::size_t> recovered = orders_->RecoverPendingPayments();
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_EQ(*recovered, 2u);
  EXPECT_EQ(gateway_.Count("voided"), 1);
  EXPECT_EQ(gateway_.Count("authorized"), 0);
  auto pending = ledger_->LoadPendingPayments();
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
  auto key = ledger_->FindIdempotency("ses_1", "key-crash");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value()) << "the fan may retry with the same key";
  // Running recovery again finds nothing left to do.
  EXPECT_EQ(*orders_->RecoverPendingPayments(), 0u);
}

RenderedAnswer RefundAndWait(OrderService& orders, RefundRequest request) {
  std::promise<RenderedAnswer> answered;
  orders.Refund(std::move(request),
                [&answered](RenderedAnswer response) { answered.set_value(std::move(response)); });
  return answered.get_future().get();
}

// A refund before capture voids the authorization, revokes the order and puts its seats back on
// sale with new versions; the freed allowance lets the fan hold again.
TEST_F(OrderServiceTest, RefundBeforeCaptureVoidsAndReturnsTheSeats) {
  auto event = CreateEvent(10, 2);
  const RenderedAnswer placed = Place(Request(HoldSeats(event, "ses_1", 2)));
  ASSERT_EQ(placed.status, 201);
  const std::string id = OrderIdOf(placed);
  Result<OrderRecord> before = orders_->Get(id, "", "", true);
  ASSERT_TRUE(before.ok());
  std::vector<std::pair<std::uint32_t, std::uint32_t>> sold_versions;
  for (const TicketRecord& ticket : before->tickets) {
    const std::uint32_t index = *event->seat_map().Find(ticket.seat_id);
    sold_versions.emplace_back(index, holds_->InventoryFor(event).Seat(index).version);
  }

  const RenderedAnswer refunded = RefundAndWait(*orders_, RefundRequest{id, "", ""});
  ASSERT_EQ(refunded.status, 200) << refunded.body;
  EXPECT_EQ(gateway_.Count("voided"), 1);
  for (const auto& [index, version] : sold_versions) {
    const SeatState state = holds_->InventoryFor(event).Seat(index);
    EXPECT_EQ(state.status, SeatStatus::kAvailable);
    EXPECT_EQ(state.version, version + 1);
  }
  EXPECT_EQ(holds_->InventoryFor(event).Counts().available, 10u);
  EXPECT_TRUE(holds_->InventoryFor(event).CheckInvariant());
  Result<OrderRecord> after = orders_->Get(id, "", "", true);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, "refunded");
  EXPECT_EQ(after->payment_status, "voided");
  EXPECT_TRUE(holds_->InventoryFor(event)
                  .HoldBestAvailable(HoldOwner{"ses_1", ""}, BestAvailableRequest{2, {}, false})
                  .ok())
      << "the refunded seats no longer count against per_customer";
  const RenderedAnswer again = RefundAndWait(*orders_, RefundRequest{id, "", ""});
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(ErrorCode(again), "order_refunded");
  EXPECT_EQ(ErrorCode(RefundAndWait(*orders_, RefundRequest{"ord_unknown", "", ""})),
            "order_not_found");
}

// After capture the refund goes to the gateway as a refund; a replay of its key answers the same.
TEST_F(OrderServiceTest, RefundAfterCaptureRefundsAndReplaysItsKey) {
  auto event = CreateEvent();
  const RenderedAnswer placed = Place(Request(HoldSeats(event, "ses_1", 1)));
  ASSERT_EQ(placed.status, 201);
  const std::string id = OrderIdOf(placed);
  // Capture as the outbox would.
  Result<OrderRecord> order = orders_->Get(id, "", "", true);
  ASSERT_TRUE(order.ok());
  ASSERT_EQ(gateway_.Capture({order->gateway, order->payment_id}, order->total_cents, "c").outcome,
            PaymentOutcome::kSucceeded);
  const RenderedAnswer first = RefundAndWait(*orders_, RefundRequest{id, "refund-1", "h"});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(gateway_.Count("refunded"), 1);
  const RenderedAnswer replay = RefundAndWait(*orders_, RefundRequest{id, "refund-1", "h"});
  EXPECT_EQ(replay.status, 200);
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(replay.body, first.body);
  EXPECT_EQ(holds_->InventoryFor(event).Counts().sold, 0u);
}

// While a refund waits on the gateway, its duplicate (same key) is 409 idempotency_in_flight and
// another request for the order 409 refund_in_flight, never order_refunded; once it is done the
// duplicate replays its answer. The gateway gave the money back once.
TEST_F(OrderServiceTest, RefundRacingItsDuplicateIsInFlightNeverRefunded) {
  auto event = CreateEvent();
  const std::string id = PlacedOrderId(event, 1);
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first_call{true};
  gateway_.DuringReturn([&] {
    if (first_call.exchange(false)) {
      entered.set_value();
      released.wait();
    }
  });
  std::promise<RenderedAnswer> first;
  orders_->Refund(RefundRequest{id, "refund-1", "h"},
                  [&first](RenderedAnswer answer) { first.set_value(std::move(answer)); });
  entered.get_future().wait();
  const RenderedAnswer duplicate = RefundAndWait(*orders_, RefundRequest{id, "refund-1", "h"});
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(ErrorCode(duplicate), "idempotency_in_flight");
  const RenderedAnswer other = RefundAndWait(*orders_, RefundRequest{id, "", ""});
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(ErrorCode(other), "refund_in_flight");
  const RenderedAnswer other_key = RefundAndWait(*orders_, RefundRequest{id, "refund-2", "h2"});
  EXPECT_EQ(other_key.status, 409);
  EXPECT_EQ(ErrorCode(other_key), "refund_in_flight") << "another key is another request";
  release.set_value();
  const RenderedAnswer done = first.get_future().get();
  ASSERT_EQ(done.status, 200) << done.body;
  const RenderedAnswer replay = RefundAndWait(*orders_, RefundRequest{id, "refund-1", "h"});
  EXPECT_EQ(replay.status, 200);
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(gateway_.void_calls(), 1);
  EXPECT_EQ(gateway_.Count("voided"), 1);
}

// A refund whose gateway answer is lost may have given the money back: it stays pending (503 to
// the operator, 409 in flight to their retry) and FinishPendingRefunds finishes it with the same
// gateway keys, backing off while the gateway keeps failing; the retry then replays the answer.
TEST_F(OrderServiceTest, RefundWhoseAnswerIsLostIsFinishedLater) {
  auto event = CreateEvent();
  const std::string id = PlacedOrderId(event, 2);
  gateway_.LoseReturnReplies(2);
  const RenderedAnswer lost = RefundAndWait(*orders_, RefundRequest{id, "refund-1", "h"});
  EXPECT_EQ(lost.status, 503);
  EXPECT_EQ(gateway_.Count("voided"), 1) << "the void took effect; its reply was lost";
  EXPECT_EQ(orders_->Get(id, "", "", true)->status, "confirmed");
  const RenderedAnswer retry = RefundAndWait(*orders_, RefundRequest{id, "refund-1", "h"});
  EXPECT_EQ(retry.status, 409);
  EXPECT_EQ(ErrorCode(retry), "idempotency_in_flight");

  Result<std::size_t> swept = orders_->FinishPendingRefunds();  // the second reply is lost too
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 0u);
  const int calls = gateway_.void_calls();
  swept = orders_->FinishPendingRefunds();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(gateway_.void_calls(), calls) << "it backs off before asking the gateway again";
  clock_.Advance(kRefundRetryFirst);
  swept = orders_->FinishPendingRefunds();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 1u);
  EXPECT_EQ(orders_->Get(id, "", "", true)->status, "refunded");
  EXPECT_EQ(holds_->InventoryFor(event).Counts().sold, 0u);
  EXPECT_EQ(gateway_.Count("voided"), 1);
  const RenderedAnswer replay = RefundAndWait(*orders_, RefundRequest{id, "refund-1", "h"});
  EXPECT_EQ(replay.status, 200) << replay.body;
  EXPECT_TRUE(replay.replayed);
}

// A refund the gateway surely did nothing for is abandoned: 503, nothing pending, and the same key
// may be sent again, which refunds.
TEST_F(OrderServiceTest, RefundTheGatewayRefusesMayBeAskedAgain) {
  auto event = CreateEvent();
  const std::string id = PlacedOrderId(event, 1);
  gateway_.FailReturns(2);  // the void, then the refund tried in its place
  const RenderedAnswer failed = RefundAndWait(*orders_, RefundRequest{id, "refund-1", "h"});
  EXPECT_EQ(failed.status, 503);
  Result<std::vector<RefundAttemptRecord>> pending = ledger_->LoadPendingRefunds();
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
  const RenderedAnswer again = RefundAndWait(*orders_, RefundRequest{id, "refund-1", "h"});
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_FALSE(again.replayed);
}

// A refund cut short by a crash after the gateway gave the money back is finished at the next
// start, before anyone is served: the seats are for sale again and the operator's retry replays.
TEST_F(OrderServiceTest, RefundCutShortByACrashIsFinishedAtTheNextStart) {
  auto event = CreateEvent();
  const std::string id = PlacedOrderId(event, 2);
  // What the crashed process left: its attempt durable, the authorization voided.
  ASSERT_TRUE(WaitForDurable([&](DurableDone done) {
                ledger_->BeginRefund(
                    RefundAttemptRecord{id, "pending", 1, 1, "operator", "refund-1"},
                    IdempotencyRecord{"operator", "refund-1", "h", "in_flight", 0, "", 1},
                    std::move(done));
              }).ok());
  Result<OrderRecord> order = orders_->Get(id, "", "", true);
  ASSERT_TRUE(order.ok());
  ASSERT_EQ(gateway_.Void({order->gateway, order->payment_id}, id + ":void").outcome,
            PaymentOutcome::kSucceeded);
  Reopen();
  EXPECT_EQ(holds_->InventoryFor(event).Counts().sold, 2u);
  Result<std::size_t> finished = orders_->FinishPendingRefunds();
  ASSERT_TRUE(finished.ok());
  EXPECT_EQ(*finished, 1u);
  EXPECT_EQ(holds_->InventoryFor(event).Counts().sold, 0u);
  EXPECT_EQ(orders_->Get(id, "", "", true)->payment_status, "voided");
  const RenderedAnswer replay = RefundAndWait(*orders_, RefundRequest{id, "refund-1", "h"});
  EXPECT_EQ(replay.status, 200) << replay.body;
  EXPECT_TRUE(replay.replayed);
}

// A ticket is found by its owner and the operator, not by another session; its code appears once
// the order is completed.
TEST_F(OrderServiceTest, TicketIsVisibleToItsOwnerAndTheOperatorOnly) {
  auto event = CreateEvent();
  const RenderedAnswer placed = Place(Request(HoldSeats(event, "ses_1", 1)));
  ASSERT_EQ(placed.status, 201);
  Result<OrderRecord> order = orders_->Get(OrderIdOf(placed), "ses_1", "", false);
  ASSERT_TRUE(order.ok());
  const std::string ticket_id = order->tickets.at(0).id;
  Result<TicketRecord> mine = orders_->GetTicket(ticket_id, "ses_1", "", false);
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  EXPECT_EQ(mine->seat_id, order->tickets[0].seat_id);
  EXPECT_EQ(mine->order_id, order->id);
  EXPECT_TRUE(orders_->GetTicket(ticket_id, "", "", true).ok());
  Result<TicketRecord> theirs = orders_->GetTicket(ticket_id, "ses_2", "", false);
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.error().code, "ticket_not_found");
  EXPECT_FALSE(orders_->GetTicket("tkt_unknown", "", "", true).ok());
}

}  // namespace
}  // namespace boxoffice
