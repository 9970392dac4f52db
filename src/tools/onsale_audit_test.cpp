#include "tools/onsale_audit.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "common/crypto.hpp"
#include "waitingroom/shuffle.hpp"

namespace boxoffice::tools::onsale {
namespace {

namespace json = boost::json;

std::vector<ConfirmedOrder> TwoOrders() {
  return {ConfirmedOrder{"ord_a", 1, {"S1-R1-1", "S1-R1-2"}},
          ConfirmedOrder{"ord_b", 2, {"S1-R1-3"}}};
}

LedgerOrder Completed(std::vector<std::string> seats) {
  LedgerOrder read;
  read.found = true;
  read.status = "completed";
  read.codes = seats.size();
  read.seats = std::move(seats);
  return read;
}

PaymentIntent Intent(std::string id, std::string status, std::string order, std::string key) {
  return PaymentIntent{std::move(id), std::move(status), std::move(order), std::move(key), 0};
}

// Sold seats that match the tickets, once each and within capacity, pass.
TEST(OnsaleAudit, SeatsSoldMatchingTheTicketsPass) {
  const Check check = AuditSeatsSold(
      TwoOrders(), SoldSeats{0, 3, 10, std::vector<std::string>{"S1-R1-1", "S1-R1-2", "S1-R1-3"}});
  EXPECT_TRUE(check.passed) << check.detail;
  EXPECT_EQ(check.name, "seats sold == distinct tickets <= capacity");
}

// A seat in two orders, a count the server disagrees with, a sold list missing a ticketed seat,
// or more sold than the event holds: each fails.
TEST(OnsaleAudit, SeatsSoldFailuresAreCaught) {
  std::vector<ConfirmedOrder> doubled = TwoOrders();
  doubled[1].seats = {"S1-R1-2"};
  EXPECT_FALSE(AuditSeatsSold(doubled, SoldSeats{0, 2, 10, std::nullopt}).passed);
  EXPECT_FALSE(AuditSeatsSold(TwoOrders(), SoldSeats{0, 4, 10, std::nullopt}).passed);
  EXPECT_FALSE(AuditSeatsSold(TwoOrders(),
                              SoldSeats{0, 3, 10, std::vector<std::string>{"S1-R1-1", "S1-R1-2"}})
                   .passed);
  EXPECT_FALSE(AuditSeatsSold(TwoOrders(), SoldSeats{0, 3, 2, std::nullopt}).passed);
  EXPECT_FALSE(AuditSeatsSold(TwoOrders(), SoldSeats{0, std::nullopt, 10, std::nullopt}).passed);
  // Seats sold before the run count against the capacity, not against the run's tickets.
  EXPECT_TRUE(AuditSeatsSold(TwoOrders(), SoldSeats{5, 8, 10, std::nullopt}).passed);
}

// Every confirmed order found with its seats passes; one missing or with other seats fails.
TEST(OnsaleAudit, LedgerMustHoldEveryConfirmedOrder) {
  const std::vector<ConfirmedOrder> orders = TwoOrders();
  std::vector<LedgerOrder> ledger = {Completed({"S1-R1-2", "S1-R1-1"}), Completed({"S1-R1-3"})};
  EXPECT_TRUE(AuditLedger(orders, ledger).passed);
  ledger[1].found = false;
  ledger[1].error = "404 order_not_found";
  Check missing = AuditLedger(orders, ledger);
  EXPECT_FALSE(missing.passed);
  EXPECT_NE(missing.detail.find("ord_b"), std::string::npos) << missing.detail;
  ledger[1] = Completed({"S1-R1-4"});
  EXPECT_FALSE(AuditLedger(orders, ledger).passed);
  ledger[1] = Completed({"S1-R1-3"});
  ledger[1].by_operator = false;
  const Check mixed = AuditLedger(orders, ledger);
  EXPECT_TRUE(mixed.passed);
  EXPECT_NE(mixed.detail.find("buyer's session"), std::string::npos) << mixed.detail;
}

// Completed with a coded ticket per seat passes; still confirmed, or a ticket without a code,
// fails.
TEST(OnsaleAudit, EveryOrderNeedsItsTickets) {
  const std::vector<ConfirmedOrder> orders = TwoOrders();
  std::vector<LedgerOrder> ledger = {Completed({"S1-R1-1", "S1-R1-2"}), Completed({"S1-R1-3"})};
  EXPECT_TRUE(AuditTickets(orders, ledger, 1.5).passed);
  ledger[0].status = "confirmed";
  EXPECT_FALSE(AuditTickets(orders, ledger, 60).passed);
  ledger[0] = Completed({"S1-R1-1", "S1-R1-2"});
  ledger[0].codes = 1;
  EXPECT_FALSE(AuditTickets(orders, ledger, 60).passed);
}

// An order body from the API reads into its seats and codes.
TEST(OnsaleAudit, LedgerOrderParsesTheApiShape) {
  const json::value order = json::parse(R"({"order_id": "ord_a", "status": "completed",
      "tickets": [{"id": "t1", "seat_id": "S1-R1-1", "code": "abc"},
                  {"id": "t2", "seat_id": "S1-R1-2"}]})");
  const LedgerOrder read = ParseLedgerOrder(order.as_object());
  EXPECT_TRUE(read.found);
  EXPECT_EQ(read.status, "completed");
  EXPECT_EQ(read.seats, (std::vector<std::string>{"S1-R1-1", "S1-R1-2"}));
  EXPECT_EQ(read.codes, 1u);
}

// One captured intent per completed order passes; an order authorized twice, a key that made
// two intents, an authorization standing for no order, or captures that do not add up fail;
// intents from before the run are ignored.
TEST(OnsaleAudit, PaymentsAreNeverTakenTwice) {
  const std::vector<ConfirmedOrder> orders = TwoOrders();
  std::vector<PaymentIntent> intents = {
      Intent("pi_1", "succeeded", "ord_a", "ord_a"), Intent("pi_2", "succeeded", "ord_b", "ord_b"),
      Intent("pi_3", "requires_payment_method", "ord_x", "ord_x"),  // a declined first try
      Intent("pi_4", "canceled", "ord_y", "ord_y")};                // voided after a crash
  EXPECT_TRUE(AuditPayments(intents, {}, orders, 2).passed);
  EXPECT_FALSE(AuditPayments(intents, {}, orders, 1).passed);

  std::vector<PaymentIntent> twice = intents;
  twice.push_back(Intent("pi_5", "requires_capture", "ord_a", "ord_a2"));
  EXPECT_FALSE(AuditPayments(twice, {}, orders, 2).passed);
  const std::vector<std::string> before = {"pi_5"};
  EXPECT_TRUE(AuditPayments(twice, before, orders, 2).passed);

  std::vector<PaymentIntent> same_key = intents;
  same_key.push_back(Intent("pi_6", "requires_payment_method", "ord_z", "ord_b"));
  EXPECT_FALSE(AuditPayments(same_key, {}, orders, 2).passed);

  // An authorization for an order no fan was told of, left standing (not voided), holds a
  // fan's money for nothing: recovery after a crash must have voided it.
  std::vector<PaymentIntent> orphan = intents;
  orphan.push_back(Intent("pi_7", "requires_capture", "ord_lost", "ord_lost"));
  const Check orphaned = AuditPayments(orphan, {}, orders, 2);
  EXPECT_FALSE(orphaned.passed);
  EXPECT_NE(orphaned.detail.find("for no order confirmed to a fan"), std::string::npos)
      << orphaned.detail;

  const json::value records = json::parse(R"({"payment_intents": [{"id": "pi_1",
      "status": "succeeded", "idempotency_key": "k", "amount_received": 500,
      "metadata": {"reference": "ord_a", "idempotency_key": "k"}}], "create_attempts": {"k": 1}})");
  const std::vector<PaymentIntent> parsed = ParsePaymentIntents(records.as_object());
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].reference, "ord_a");
  EXPECT_EQ(parsed[0].amount_received, 500);
}

// FIFO: admissions in join order give tau 1 and pass; the reverse fails; no fields is not
// measurable, which passes (skipped) unless a shuffle's commitment is broken.
TEST(OnsaleAudit, QueueOrderByKendallTau) {
  QueueOrder fifo;
  for (std::uint64_t i = 1; i <= 100; ++i) fifo.places.emplace_back(i, i);
  fifo.admitted_fans = 100;
  QueueOrderVerdict verdict = AuditQueueOrder(fifo);
  EXPECT_TRUE(verdict.check.passed) << verdict.check.detail;
  EXPECT_DOUBLE_EQ(*verdict.tau, 1.0);

  QueueOrder reversed = fifo;
  for (auto& [sequence, admitted] : reversed.places) admitted = 101 - sequence;
  EXPECT_FALSE(AuditQueueOrder(reversed).check.passed);

  // After a restart the ordinals start again; compared within each life, the order holds.
  QueueOrder restarted = fifo;
  restarted.lives.assign(100, 0);
  for (std::uint64_t i = 101; i <= 200; ++i) {
    restarted.places.emplace_back(i, i - 100);
    restarted.lives.push_back(1);
  }
  verdict = AuditQueueOrder(restarted);
  EXPECT_TRUE(verdict.check.passed) << verdict.check.detail;
  EXPECT_DOUBLE_EQ(*verdict.tau, 1.0);
  restarted.lives.clear();  // taken as one life, the restart looks like disorder
  EXPECT_FALSE(AuditQueueOrder(restarted).check.passed);
  // Disorder after a restart is shown, not judged; before it, it fails the check.
  QueueOrder shaken = fifo;
  shaken.lives.assign(100, 0);
  for (std::uint64_t i = 101; i <= 200; ++i) {
    shaken.places.emplace_back(i, 201 - i);
    shaken.lives.push_back(1);
  }
  verdict = AuditQueueOrder(shaken);
  EXPECT_TRUE(verdict.check.passed) << verdict.check.detail;
  EXPECT_NE(verdict.check.detail.find("-1.0000 over 100 fans"), std::string::npos)
      << verdict.check.detail;
  for (auto& life : shaken.lives) life = 1 - life;  // the disorder in the first life
  EXPECT_FALSE(AuditQueueOrder(shaken).check.passed);

  QueueOrder blind;
  blind.admitted_fans = 50;
  verdict = AuditQueueOrder(blind);
  EXPECT_TRUE(verdict.check.passed);
  EXPECT_TRUE(verdict.check.skipped);
  EXPECT_FALSE(verdict.tau);
  EXPECT_NE(verdict.check.detail.find("not measurable"), std::string::npos);
}

// Shuffled: admissions in the order of the published draw pass, and only when the seed matches
// the commitment seen before the opening; join order itself would not.
TEST(OnsaleAudit, ShuffledQueueFollowsThePublishedDraw) {
  InitCrypto();
  const std::string seed = "seed-of-the-draw";
  constexpr std::uint64_t kPrequeue = 500;
  const Shuffle shuffle(seed, kPrequeue);
  QueueOrder shuffled;
  shuffled.policy = "shuffle_prequeue";
  shuffled.seed = seed;
  shuffled.seed_sha256 = Sha256Hex(seed);
  shuffled.prequeue_size = kPrequeue;
  for (std::uint64_t sequence = 1; sequence <= 800; ++sequence) {
    // Pre-queue fans are admitted in the order of their drawn places, later ones after them.
    const std::uint64_t admitted =
        sequence <= kPrequeue ? shuffle.Permute(sequence - 1) + 1 : sequence;
    shuffled.places.emplace_back(sequence, admitted);
  }
  shuffled.admitted_fans = 800;
  QueueOrderVerdict verdict = AuditQueueOrder(shuffled);
  EXPECT_TRUE(verdict.check.passed) << verdict.check.detail;
  EXPECT_DOUBLE_EQ(*verdict.tau, 1.0);
  EXPECT_EQ(ServedPlace(3, seed, kPrequeue), shuffle.Permute(2) + 1);
  EXPECT_EQ(ServedPlace(700, seed, kPrequeue), 700u);

  QueueOrder forged = shuffled;
  forged.seed_sha256 = Sha256Hex("another seed");
  EXPECT_FALSE(AuditQueueOrder(forged).check.passed);

  QueueOrder as_fifo = shuffled;
  as_fifo.policy = "fifo";
  EXPECT_FALSE(AuditQueueOrder(as_fifo).check.passed);
}

// Fans waiting at the sell-out must all be told; the delay is to the last one told. Those
// shopping then, gone before, or who left on their own are not owed the news.
TEST(OnsaleAudit, EveryWaitingFanIsToldOfTheSellOut) {
  EXPECT_TRUE(AuditEveryoneTold(std::nullopt, {}).check.skipped);
  std::vector<QueuedFan> fans = {
      QueuedFan{1, -1, -1, 12, false},    // waiting, told 2 s after
      QueuedFan{2, -1, -1, 10.5, false},  // waiting, told at once
      QueuedFan{3, 5, 20, -1, false},     // admitted before the sell-out: shopping
      QueuedFan{4, -1, 6, -1, true},      // left before it
      QueuedFan{5, -1, 11, -1, true},     // left after it, on its own
      QueuedFan{15, -1, -1, 15, false},   // joined after it, told at its join
      QueuedFan{7, 10.3, 12, -1, false},  // admitted as it sold out: learns it from its hold
  };
  ToldVerdict verdict = AuditEveryoneTold(10, fans);
  EXPECT_TRUE(verdict.check.passed) << verdict.check.detail;
  ASSERT_TRUE(verdict.all_knew_after_s);
  EXPECT_DOUBLE_EQ(*verdict.all_knew_after_s, 5);
  fans.push_back(QueuedFan{6, -1, -1, -1, false});  // waiting, never told
  verdict = AuditEveryoneTold(10, fans);
  EXPECT_FALSE(verdict.check.passed);
  EXPECT_NE(verdict.check.detail.find("1 never were"), std::string::npos) << verdict.check.detail;
}

}  // namespace
}  // namespace boxoffice::tools::onsale
