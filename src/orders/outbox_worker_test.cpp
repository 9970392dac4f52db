#include "orders/outbox_worker.hpp"

#include <gtest/gtest.h>

#include "common/time.hpp"
#include "orders/order_test_support.hpp"

namespace boxoffice {
namespace {

using order_testing::FakeMailer;
using order_testing::OrderFixture;

class OutboxWorkerTest : public OrderFixture {
 protected:
  OutboxWorkerTest() : signer_("test secret") {}

  std::unique_ptr<OutboxWorker> MakeWorker(int attempts_max = 5) {
    OutboxOptions options;
    options.attempts_max = attempts_max;
    options.backoff_base = std::chrono::milliseconds(1'000);
    options.backoff_max = std::chrono::milliseconds(8'000);
    options.seed = 42;
    return std::make_unique<OutboxWorker>(*ledger_, &gateway_, &mailer_, signer_, clock_, metrics_,
                                          options);
  }

  std::string PlaceOne(const std::shared_ptr<Event>& event) {
    const RenderedAnswer placed = Place(Request(HoldSeats(event, "ses_1", 2)));
    EXPECT_EQ(placed.status, 201) << placed.body;
    return OrderIdOf(placed);
  }

  OrderRecord Order(const std::string& id) {
    Result<OrderRecord> order = orders_->Get(id, "", "", true);
    EXPECT_TRUE(order.ok());
    return *order;
  }

  TicketSigner signer_;
  FakeMailer mailer_;
};

// One pass captures, signs every ticket with the event's key, mails the codes and completes the
// order; a second pass finds nothing due.
TEST_F(OutboxWorkerTest, CapturesIssuesMailsAndCompletes) {
  auto event = CreateEvent();
  const std::string id = PlaceOne(event);
  auto worker = MakeWorker();
  EXPECT_EQ(worker->RunDue(), 1u);
  EXPECT_EQ(gateway_.Count("captured"), 1);
  const OrderRecord order = Order(id);
  EXPECT_EQ(order.status, "completed");
  EXPECT_EQ(order.payment_status, "captured");
  ASSERT_EQ(order.tickets.size(), 2u);
  const std::string public_key = signer_.PublicKey(event->definition().id);
  for (const TicketRecord& ticket : order.tickets) {
    Result<TicketClaims> claims = VerifyTicketCode(ticket.code, public_key);
    ASSERT_TRUE(claims.ok()) << ticket.id;
    EXPECT_EQ(claims->ticket_id, ticket.id);
    EXPECT_EQ(claims->seat_id, ticket.seat_id);
    EXPECT_EQ(claims->order_id, id);
    EXPECT_EQ(claims->event_id, event->definition().id);
  }
  const std::vector<MailMessage> sent = mailer_.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, "fan@example.com");
  EXPECT_NE(sent[0].text.find(order.tickets[0].code), std::string::npos);
  EXPECT_EQ(worker->RunDue(), 0u);
  EXPECT_EQ(worker->counters().completed, 1u);
}

// A pass hands its rows to several threads: every order is captured, mailed and completed
// exactly once (also run under ThreadSanitizer).
TEST_F(OutboxWorkerTest, ConcurrentPassHandlesEveryRowOnce) {
  auto event = CreateEvent(/*seats=*/20);
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    const RenderedAnswer placed = Place(Request(HoldSeats(event, "ses_" + std::to_string(i), 1)));
    ASSERT_EQ(placed.status, 201) << placed.body;
    ids.push_back(OrderIdOf(placed));
  }
  OutboxOptions options;
  options.concurrency = 4;
  OutboxWorker worker(*ledger_, &gateway_, &mailer_, signer_, clock_, metrics_, options);
  EXPECT_EQ(worker.RunDue(), ids.size());
  for (const std::string& id : ids) EXPECT_EQ(Order(id).status, "completed") << id;
  EXPECT_EQ(gateway_.capture_calls(), static_cast<int>(ids.size()));
  EXPECT_EQ(mailer_.sent().size(), ids.size());
  EXPECT_EQ(worker.counters().completed, ids.size());
  EXPECT_EQ(worker.RunDue(), 0u);
}

// Failed captures are retried after a backoff (not before), and the retry completes the order.
TEST_F(OutboxWorkerTest, FailedCaptureIsRetriedAfterBackoff) {
  auto event = CreateEvent();
  const std::string id = PlaceOne(event);
  gateway_.FailCaptures(2);
  auto worker = MakeWorker();
  EXPECT_EQ(worker->RunDue(), 1u);
  EXPECT_EQ(worker->counters().retried, 1u);
  EXPECT_EQ(Order(id).status, "confirmed");
  // Full jitter: attempt n waits a random time up to base * 2^n (2 s, then 4 s), so the row is
  // due again once the ceiling has passed, whatever the draw.
  clock_.Advance(std::chrono::milliseconds(2'001));
  EXPECT_EQ(worker->RunDue(), 1u);
  EXPECT_EQ(worker->counters().retried, 2u);
  Result<std::vector<OutboxRecord>> waiting =
      ledger_->LoadDueOutbox(ToUnixMillis(clock_.Now()) + 4'000, 10);
  ASSERT_TRUE(waiting.ok());
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_EQ((*waiting)[0].attempts, 2);
  EXPECT_EQ((*waiting)[0].last_error, "capture failed: capture failed");
  clock_.Advance(std::chrono::milliseconds(4'001));
  EXPECT_EQ(worker->RunDue(), 1u);
  EXPECT_EQ(Order(id).status, "completed");
  EXPECT_EQ(gateway_.capture_calls(), 3);
}

// A mail server that is down retries the row; the capture repeats with the same key, so the fan
// is charged once.
TEST_F(OutboxWorkerTest, MailFailureRetriesWithoutChargingTwice) {
  auto event = CreateEvent();
  const std::string id = PlaceOne(event);
  mailer_.Fail(1);
  auto worker = MakeWorker();
  worker->RunDue();
  EXPECT_EQ(Order(id).status, "confirmed");
  clock_.Advance(std::chrono::seconds(10));
  worker->RunDue();
  EXPECT_EQ(Order(id).status, "completed");
  EXPECT_EQ(gateway_.Count("captured"), 1);
  EXPECT_EQ(mailer_.sent().size(), 1u);
}

// After the last attempt the row is dead: counted, no longer due, visible in the ledger's counts.
TEST_F(OutboxWorkerTest, RowDiesAfterBoundedAttempts) {
  auto event = CreateEvent();
  const std::string id = PlaceOne(event);
  gateway_.FailCaptures(1'000);
  auto worker = MakeWorker(3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(worker->RunDue(), 1u) << "attempt " << i;
    clock_.Advance(std::chrono::seconds(60));
  }
  EXPECT_EQ(worker->RunDue(), 0u);
  EXPECT_EQ(worker->counters().dead, 1u);
  EXPECT_EQ(worker->counters().retried, 2u);
  Result<OrderCounts> counts = ledger_->CountOrders(event->definition().id);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->outbox_dead, 1);
  EXPECT_EQ(Order(id).status, "confirmed");
}

// A restart between capture and completion resumes the row: the capture repeats harmlessly and
// the order completes.
TEST_F(OutboxWorkerTest, UnfinishedRowResumesAfterARestart) {
  auto event = CreateEvent();
  const std::string id = PlaceOne(event);
  // The first worker captured, then "died" before completing (its mail failed).
  mailer_.Fail(1);
  MakeWorker()->RunDue();
  EXPECT_EQ(gateway_.Count("captured"), 1);
  Reopen();
  clock_.Advance(std::chrono::seconds(10));
  auto worker = MakeWorker();
  EXPECT_EQ(worker->RunDue(), 1u);
  EXPECT_EQ(Order(id).status, "completed");
  EXPECT_EQ(gateway_.Count("captured"), 1);
}

// The worker's own thread completes orders without being asked.
TEST_F(OutboxWorkerTest, ThreadCompletesOrdersInTheBackground) {
  auto event = CreateEvent();
  const std::string id = PlaceOne(event);
  auto worker = MakeWorker();
  worker->Start();
  worker->Wake();
  for (int i = 0; i < 500 && Order(id).status != "completed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  worker->Stop();
  EXPECT_EQ(Order(id).status, "completed");
}

}  // namespace
}  // namespace boxoffice
