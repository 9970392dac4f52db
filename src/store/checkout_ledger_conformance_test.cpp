// The conformance suite of The CheckoutLedger port (ports/checkout_ledger.hpp): orders, payments,
// the outbox, refunds. Every ledger adapter runs it (BOXOFFICE_LEDGER_CONFORMANCE in
// ledger_conformance.hpp). A *_test.cpp, so the build puts it into the test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/ledger_conformance.hpp"

namespace boxoffice::ledger_conformance {
namespace {

// A confirmed order comes back whole with its tickets, sold seats, outbox row and response.
TEST_P(CheckoutLedgerConformance, ConfirmedOrderWritesEverythingAtOnce) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ConfirmOrderRecord record = MakeConfirm("ord_1", "hld_1", {"101-A-1", "101-A-2"});
  record.idempotency = MakeKey("ses_1", "key-1", "done");
  record.idempotency.response_status = 201;
  record.idempotency.response_body = R"({"order_id":"ord_1"})";
  ASSERT_TRUE(Confirm(*ledger, record).ok());

  auto order = ledger->FindOrder("ord_1");
  ASSERT_TRUE(order.ok()) << order.error().message;
  ASSERT_TRUE(order->has_value());
  EXPECT_EQ((*order)->status, "confirmed");
  EXPECT_EQ((*order)->hold_id, "hld_1");
  EXPECT_EQ((*order)->payment_id, "pi_ord_1");
  EXPECT_EQ((*order)->total_cents, 5'000);
  ASSERT_EQ((*order)->tickets.size(), 2u);
  EXPECT_EQ((*order)->tickets[0].seat_id, "101-A-1");
  EXPECT_EQ((*order)->tickets[1].seat_id, "101-A-2");
  EXPECT_EQ((*order)->tickets[0].code, "");

  auto live = ledger->LoadLiveHolds();
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->empty()) << "the hold ends with the order";
  auto pending = ledger->LoadPendingPayments();
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty()) << "the attempt is confirmed";
  auto sold = ledger->LoadSoldSeats();
  ASSERT_TRUE(sold.ok());
  ASSERT_EQ(sold->size(), 2u);
  EXPECT_EQ((*sold)[0].owner_key, "ses_1");
  auto key = ledger->FindIdempotency("ses_1", "key-1");
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(key->has_value());
  EXPECT_EQ((*key)->state, "done");
  EXPECT_EQ((*key)->response_status, 201);
  EXPECT_EQ((*key)->response_body, R"({"order_id":"ord_1"})");
  auto due = ledger->LoadDueOutbox(record.first_outbox_attempt_at_ms, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].order_id, "ord_1");
  EXPECT_EQ((*due)[0].kind, "fulfil_order");
  auto counts = ledger->CountOrders("evt_shop");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->confirmed, 1);
  EXPECT_EQ(counts->tickets_sold, 2);
  EXPECT_EQ(counts->revenue_cents, 5'000);
  EXPECT_EQ(counts->outbox_pending, 1);
}

// The orders of an address come newest first with their tickets, ASCII case aside, at most the
// limit; another address's are never among them.
TEST_P(CheckoutLedgerConformance, FindsOrdersByEmailNewestFirst) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  const std::pair<const char*, const char*> orders[] = {
      {"ord_1", "fan@example.com"}, {"ord_2", "other@example.com"}, {"ord_3", "Fan@Example.COM"}};
  int seat = 1;
  for (const auto& [order_id, email] : orders) {
    const std::string hold_id = std::string("hld_") + order_id;
    PrepareOrder(*ledger, order_id, hold_id);
    ConfirmOrderRecord record = MakeConfirm(order_id, hold_id, {"101-A-" + std::to_string(seat++)});
    record.order.email = email;
    ASSERT_TRUE(Confirm(*ledger, record).ok());
  }
  auto found = ledger->FindOrdersByEmail("FAN@example.com", 10);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].id, "ord_3");
  EXPECT_EQ((*found)[1].id, "ord_1");
  ASSERT_EQ((*found)[0].tickets.size(), 1u);
  EXPECT_EQ((*found)[0].tickets[0].seat_id, "101-A-3");
  auto newest = ledger->FindOrdersByEmail("fan@example.com", 1);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].id, "ord_3");
  auto none = ledger->FindOrdersByEmail("nobody@example.com", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// UNIQUE (event_id, seat_id): a second order naming a sold seat fails "seat_sold" and writes
// nothing at all (its hold stays live, its attempt pending, no order, no outbox row).
TEST_P(CheckoutLedgerConformance, SeatIsNeverSoldTwice) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  PrepareOrder(*ledger, "ord_2", "hld_2");
  ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"})).ok());
  Status second = Confirm(*ledger, MakeConfirm("ord_2", "hld_2", {"101-A-2", "101-A-1"}));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(second.error().code, "seat_sold");
  auto order = ledger->FindOrder("ord_2");
  ASSERT_TRUE(order.ok());
  EXPECT_FALSE(order->has_value());
  auto sold = ledger->LoadSoldSeats();
  ASSERT_TRUE(sold.ok());
  ASSERT_EQ(sold->size(), 1u);
  EXPECT_EQ((*sold)[0].order_id, "ord_1");
  auto live = ledger->LoadLiveHolds();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "hld_2");
  auto pending = ledger->LoadPendingPayments();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].idempotency_key, "pay_ord_2");
  auto due = ledger->LoadDueOutbox(std::numeric_limits<std::int64_t>::max(), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due->size(), 1u);
}

// Many orders racing for one seat from many threads: exactly one is confirmed.
TEST_P(CheckoutLedgerConformance, ConcurrentOrdersForOneSeatConfirmOnce) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  constexpr int kOrders = 32;
  for (int i = 0; i < kOrders; ++i) {
    PrepareOrder(*ledger, "ord_" + std::to_string(i), "hld_" + std::to_string(i));
  }
  std::atomic<int> confirmed{0};
  std::atomic<int> seat_sold{0};
  std::latch start(kOrders);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOrders; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Status status = Confirm(
          *ledger, MakeConfirm("ord_" + std::to_string(i), "hld_" + std::to_string(i), {"9-Z-1"}));
      if (status.ok()) ++confirmed;
      if (!status.ok() && status.error().code == "seat_sold") ++seat_sold;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(confirmed.load(), 1);
  EXPECT_EQ(seat_sold.load(), kOrders - 1);
}

// A hold that has ended (expired, released or ordered) cannot become an order.
TEST_P(CheckoutLedgerConformance, EndedHoldIsHoldConsumed) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ASSERT_TRUE(EndHoldAndWait(*ledger, "hld_1", "expired", 5).ok());
  Status late = Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"}));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "hold_consumed");
  // An unknown hold is consumed too: nothing may be sold without a journaled hold.
  PrepareOrder(*ledger, "ord_2", "hld_other");
  Status unknown = Confirm(*ledger, MakeConfirm("ord_2", "hld_never", {"101-A-1"}));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "hold_consumed");
  auto sold = ledger->LoadSoldSeats();
  ASSERT_TRUE(sold.ok());
  EXPECT_TRUE(sold->empty());
}

// A key in flight or done refuses a second BeginPayment with "idempotency_key_used", per scope;
// a failed attempt forgets its in-flight key so the client may retry with it; a declined one
// stores its response.
TEST_P(CheckoutLedgerConformance, IdempotencyKeysAreScopedAndSettled) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto begin = [&](std::string order, std::string scope, std::string key) {
    return WaitForDurable([&](Ledger::Done done) {
      ledger->BeginPayment(MakeAttempt("pay_" + order, order), MakeKey(scope, key),
                           std::move(done));
    });
  };
  ASSERT_TRUE(begin("ord_1", "ses_1", "k").ok());
  Status twice = begin("ord_2", "ses_1", "k");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "idempotency_key_used");
  EXPECT_TRUE(begin("ord_3", "ses_2", "k").ok()) << "another session's key is another key";
  auto in_flight = ledger->FindIdempotency("ses_1", "k");
  ASSERT_TRUE(in_flight.ok());
  ASSERT_TRUE(in_flight->has_value());
  EXPECT_EQ((*in_flight)->state, "in_flight");
  EXPECT_EQ((*in_flight)->request_hash, "hash-1");

  PaymentSettlement failed{"pay_ord_1", "failed", "sim", "", 7, MakeKey("ses_1", "k", "forget")};
  ASSERT_TRUE(WaitForDurable([&](Ledger::Done done) {
                ledger->SettlePayment(failed, std::move(done));
              }).ok());
  auto forgotten = ledger->FindIdempotency("ses_1", "k");
  ASSERT_TRUE(forgotten.ok());
  EXPECT_FALSE(forgotten->has_value());
  ASSERT_TRUE(begin("ord_4", "ses_1", "k").ok()) << "the same key again after a failure";

  IdempotencyRecord declined = MakeKey("ses_1", "k", "done");
  declined.response_status = 402;
  declined.response_body = R"({"error":{"code":"payment_declined"}})";
  ASSERT_TRUE(WaitForDurable([&](Ledger::Done done) {
                ledger->SettlePayment(
                    PaymentSettlement{"pay_ord_4", "declined", "sim", "", 8, declined},
                    std::move(done));
              }).ok());
  auto stored = ledger->FindIdempotency("ses_1", "k");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->state, "done");
  EXPECT_EQ((*stored)->response_status, 402);
  EXPECT_EQ((*stored)->response_body, declined.response_body);
  auto pending = ledger->LoadPendingPayments();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].order_id, "ord_3");
  Status unknown = WaitForDurable([&](Ledger::Done done) {
    ledger->SettlePayment(PaymentSettlement{"pay_nope", "voided", "", "", 9, {}}, std::move(done));
  });
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "payment_not_found");
}

// The outbox: a retry moves the next attempt, a dead row is no longer due, completing an order
// stores the ticket codes and ends its row; all of it survives a reopen.
TEST_P(CheckoutLedgerConformance, OutboxRetriesDiesAndCompletes) {
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    PrepareOrder(*ledger, "ord_1", "hld_1");
    PrepareOrder(*ledger, "ord_2", "hld_2");
    ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"})).ok());
    ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_2", "hld_2", {"101-A-2"})).ok());
    auto due = ledger->LoadDueOutbox(1'700'000'001'000, 10);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 2u);
    const std::int64_t first = (*due)[0].id;
    const std::int64_t second = (*due)[1].id;
    ASSERT_TRUE(WaitForDurable([&](Ledger::Done done) {
                  ledger->RetryOutbox(
                      OutboxRetryRecord{first, 1, 1'700'000'002'000, false, "gateway timeout"},
                      std::move(done));
                }).ok());
    due = ledger->LoadDueOutbox(1'700'000'001'500, 10);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 1u);
    EXPECT_EQ((*due)[0].id, second);
    ASSERT_TRUE(
        WaitForDurable([&](Ledger::Done done) {
          ledger->RetryOutbox(OutboxRetryRecord{second, 5, 0, true, "gave up"}, std::move(done));
        }).ok());
    ASSERT_TRUE(WaitForDurable([&](Ledger::Done done) {
                  ledger->CompleteOrder(
                      CompleteOrderRecord{"ord_1", first, {{"tkt_ord_1_0", "code-1"}}, 9},
                      std::move(done));
                }).ok());
  }
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto due = ledger->LoadDueOutbox(std::numeric_limits<std::int64_t>::max(), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  auto order = ledger->FindOrder("ord_1");
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(order->has_value());
  EXPECT_EQ((*order)->status, "completed");
  EXPECT_EQ((*order)->payment_status, "captured");
  ASSERT_EQ((*order)->tickets.size(), 1u);
  EXPECT_EQ((*order)->tickets[0].code, "code-1");
  auto counts = ledger->CountOrders("evt_shop");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->completed, 1);
  EXPECT_EQ(counts->confirmed, 1);
  EXPECT_EQ(counts->outbox_dead, 1);
  EXPECT_EQ(counts->outbox_pending, 0);
}

// A refund revokes the tickets and frees the seats, so the seat can be sold again; a second
// refund is order_refunded and an unknown order order_not_found.
TEST_P(CheckoutLedgerConformance, RefundFreesTheSeatsForAnotherSale) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1", "101-A-2"})).ok());
  ASSERT_TRUE(Refund(*ledger, "ord_1", "voided").ok());
  auto order = ledger->FindOrder("ord_1");
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(order->has_value());
  EXPECT_EQ((*order)->status, "refunded");
  EXPECT_EQ((*order)->payment_status, "voided");
  for (const TicketRecord& ticket : (*order)->tickets) EXPECT_EQ(ticket.revoked_at_ms, 77);
  auto sold = ledger->LoadSoldSeats();
  ASSERT_TRUE(sold.ok());
  EXPECT_TRUE(sold->empty());
  auto due = ledger->LoadDueOutbox(std::numeric_limits<std::int64_t>::max(), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty()) << "a refunded order has nothing left to fulfil";

  Status twice = Refund(*ledger, "ord_1", "voided");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "order_refunded");
  Status unknown = Refund(*ledger, "ord_nope", "voided");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "order_not_found");

  PrepareOrder(*ledger, "ord_2", "hld_2");
  EXPECT_TRUE(Confirm(*ledger, MakeConfirm("ord_2", "hld_2", {"101-A-1"})).ok())
      << "a refunded seat can be sold again";
  auto counts = ledger->CountOrders("evt_shop");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->refunded, 1);
  EXPECT_EQ(counts->confirmed, 1);
  EXPECT_EQ(counts->tickets_sold, 1);
  EXPECT_EQ(counts->revenue_cents, 2'500);
}

// A refund attempt guards its order: a second refund waits (refund_in_flight) and writes nothing,
// the operator's key is in flight with it, an abandoned attempt frees the key and is replaced,
// pending ones survive a reopen, and the refund itself ends its attempt.
TEST_P(CheckoutLedgerConformance, RefundAttemptsGuardTheirOrderAndSurviveAReopen) {
  const auto begin = [](Ledger& ledger, const std::string& order_id, const std::string& key) {
    RefundAttemptRecord attempt{order_id, "pending", 10, 10, key.empty() ? "" : "operator", key};
    return WaitForDurable([&](Ledger::Done done) {
      ledger.BeginRefund(attempt, key.empty() ? IdempotencyRecord{} : MakeKey("operator", key),
                         std::move(done));
    });
  };
  const auto abandon = [](Ledger& ledger, const std::string& order_id) {
    return WaitForDurable([&](Ledger::Done done) {
      ledger.AbandonRefund(RefundAbandonRecord{order_id, 20}, std::move(done));
    });
  };
  const auto state_of = [](Ledger& ledger, const std::string& key) -> std::string {
    auto found = ledger.FindIdempotency("operator", key);
    EXPECT_TRUE(found.ok());
    return found.ok() && found->has_value() ? (*found)->state : "none";
  };
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    PrepareOrder(*ledger, "ord_1", "hld_1");
    PrepareOrder(*ledger, "ord_2", "hld_2");
    ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"})).ok());
    ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_2", "hld_2", {"101-A-2"})).ok());
    ASSERT_TRUE(begin(*ledger, "ord_1", "r1").ok());
    EXPECT_EQ(state_of(*ledger, "r1"), "in_flight");
    Status again = begin(*ledger, "ord_1", "r2");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, "refund_in_flight");
    EXPECT_EQ(state_of(*ledger, "r2"), "none") << "a refused attempt writes nothing";
    Status reused = begin(*ledger, "ord_2", "r1");
    ASSERT_FALSE(reused.ok());
    EXPECT_EQ(reused.error().code, "idempotency_key_used");

    ASSERT_TRUE(abandon(*ledger, "ord_1").ok());
    EXPECT_EQ(state_of(*ledger, "r1"), "none") << "an abandoned refund frees its key";
    auto pending = ledger->LoadPendingRefunds();
    ASSERT_TRUE(pending.ok());
    EXPECT_TRUE(pending->empty());
    ASSERT_TRUE(begin(*ledger, "ord_1", "r1").ok()) << "a failed attempt is replaced";
    ASSERT_TRUE(begin(*ledger, "ord_2", "").ok()) << "a refund without a key";
    EXPECT_TRUE(abandon(*ledger, "ord_nope").ok()) << "nothing pending: nothing to end";
  }
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto pending = ledger->LoadPendingRefunds();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].order_id, "ord_1");
  EXPECT_EQ((*pending)[0].state, "pending");
  EXPECT_EQ((*pending)[0].request_scope, "operator");
  EXPECT_EQ((*pending)[0].request_key, "r1");
  EXPECT_EQ((*pending)[1].order_id, "ord_2");
  EXPECT_EQ((*pending)[1].request_key, "");

  IdempotencyRecord answered = MakeKey("operator", "r1", "done");
  answered.response_status = 200;
  answered.response_body = R"({"status":"refunded"})";
  ASSERT_TRUE(
      WaitForDurable([&](Ledger::Done done) {
        ledger->RefundOrder(RefundOrderRecord{"ord_1", "voided", 30, answered}, std::move(done));
      }).ok());
  EXPECT_EQ(state_of(*ledger, "r1"), "done");
  pending = ledger->LoadPendingRefunds();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].order_id, "ord_2");
  Status refunded = begin(*ledger, "ord_1", "r3");
  ASSERT_FALSE(refunded.ok());
  EXPECT_EQ(refunded.error().code, "order_refunded");
}

// A ticket is found by its id with every field, its code once completed, its revocation after a
// refund.
TEST_P(CheckoutLedgerConformance, TicketIsFoundById) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"})).ok());
  auto found = ledger->FindTicket("tkt_ord_1_0");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->order_id, "ord_1");
  EXPECT_EQ((*found)->event_id, "evt_shop");
  EXPECT_EQ((*found)->seat_id, "101-A-1");
  EXPECT_EQ((*found)->price_cents, 2'500);
  EXPECT_EQ((*found)->code, "");
  EXPECT_EQ((*found)->revoked_at_ms, 0);
  ASSERT_TRUE(Refund(*ledger, "ord_1", "voided").ok());
  found = ledger->FindTicket("tkt_ord_1_0");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->revoked_at_ms, 77);
  auto missing = ledger->FindTicket("tkt_nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
