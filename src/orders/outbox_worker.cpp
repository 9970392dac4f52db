#include "orders/outbox_worker.hpp"

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include <utility>
#include <vector>
#include "common/thread_priority.hpp"

#include "common/crypto.hpp"
#include "common/failpoint.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "tickets/qr_svg.hpp"

namespace boxoffice {
namespace {

std::string CaptureKey(const std::string& order_id) { return order_id + ":capture"; }

MailMessage ConfirmationMail(const OrderRecord& order,
                             const std::vector<std::pair<std::string, std::string>>& codes) {
  MailMessage mail;
  mail.message_id = "<" + order.id + ".confirmation@boxoffice.invalid>";
  mail.to = order.email;
  mail.subject = "Your tickets, order " + order.id;
  mail.text = "Thank you for your order " + order.id + ".\n\n";
  for (std::size_t i = 0; i < order.tickets.size() && i < codes.size(); ++i) {
    mail.text += "Seat " + order.tickets[i].seat_id + ", ticket " + order.tickets[i].id +
                 "\nCode: " + codes[i].second + "\n\n";
    // A ticket code always fits a QR code; should drawing fail, the printed code still admits.
    if (Result<std::string> qr = RenderQrSvg(codes[i].second); qr) {
      mail.attachments.push_back(MailAttachment{"ticket-" + order.tickets[i].id + ".svg",
                                                "image/svg+xml", std::move(qr).value()});
    } else {
      LogWarn("ticket_qr_failed",
              {{"ticket_id", order.tickets[i].id}, {"error", qr.error().message}});
    }
  }
  mail.text += "Show the code, or the attached QR code, at the entrance.\n";
  return mail;
}

}  // namespace

OutboxWorker::OutboxWorker(CheckoutLedger& ledger, PaymentGateway* payments, Mailer* mailer,
                           const TicketSigner& signer, const Clock& clock, MetricsRegistry& metrics,
                           OutboxOptions options)
    : ledger_(ledger),
      payments_(payments),
      mailer_(mailer),
      signer_(signer),
      clock_(clock),
      options_(options),
      completed_metric_(metrics.GetCounter("boxoffice_outbox_total",
                                           "Outbox rows handled, by outcome.",
                                           {{"outcome", "completed"}})),
      retried_metric_(metrics.GetCounter(
          "boxoffice_outbox_total", "Outbox rows handled, by outcome.", {{"outcome", "retried"}})),
      dead_metric_(metrics.GetCounter("boxoffice_outbox_total", "Outbox rows handled, by outcome.",
                                      {{"outcome", "dead"}})),
      random_(options.seed != 0 ? options.seed : RandomUint64()) {}

OutboxWorker::~OutboxWorker() { Stop(); }

void OutboxWorker::Start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    // The threads of each pass are made by this one and start at its nice value.
    if (options_.nice != 0) LowerThisThreadsPriority(options_.nice);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      RunDue();
      lock.lock();
      wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_ || wake_requested_; });
      wake_requested_ = false;
    }
  });
}

void OutboxWorker::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxWorker::Wake() {
  {
    std::lock_guard lock(mutex_);
    wake_requested_ = true;
  }
  wake_.notify_all();
}

OutboxCounters OutboxWorker::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

std::size_t OutboxWorker::RunDue() {
  Result<std::vector<OutboxRecord>> due =
      ledger_.LoadDueOutbox(ToUnixMillis(clock_.Now()), options_.batch_max);
  if (!due) {
    LogError("loading the outbox failed", {{"error", due.error().message}});
    return 0;
  }
  const std::size_t workers = std::min(options_.concurrency, due->size());
  if (workers <= 1) {
    for (const OutboxRecord& row : *due) Handle(row);
    return due->size();
  }
  // Rows are independent (one order each, idempotent steps), so a pass hands them to a few
  // threads and ends when all are handled; the next pass never overlaps this one.
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) {
    threads.emplace_back([&] {
      for (std::size_t k = next++; k < due->size(); k = next++) Handle((*due)[k]);
    });
  }
  for (std::thread& thread : threads) thread.join();
  return due->size();
}

std::chrono::milliseconds OutboxWorker::Backoff(int attempts) {
  // base * 2^attempts, capped, without overflowing for large attempt counts.
  std::int64_t ceiling = options_.backoff_base.count();
  for (int i = 0; i < attempts && ceiling < options_.backoff_max.count(); ++i) ceiling *= 2;
  ceiling = std::min<std::int64_t>(ceiling, options_.backoff_max.count());
  std::uniform_int_distribution<std::int64_t> jitter(0, std::max<std::int64_t>(ceiling, 0));
  std::lock_guard lock(mutex_);
  return std::chrono::milliseconds(jitter(random_));
}

void OutboxWorker::Retry(const OutboxRecord& row, const std::string& error) {
  OutboxRetryRecord retry;
  retry.outbox_id = row.id;
  retry.attempts = row.attempts + 1;
  retry.dead = retry.attempts >= options_.attempts_max;
  retry.next_attempt_at_ms = ToUnixMillis(clock_.Now() + Backoff(retry.attempts));
  retry.last_error = error;
  Status written =
      WaitForDurable([&](DurableDone done) { ledger_.RetryOutbox(retry, std::move(done)); });
  if (!written) {
    LogError("recording an outbox retry failed",
             {{"order_id", row.order_id}, {"error", written.error().message}});
    return;
  }
  std::lock_guard lock(mutex_);
  if (retry.dead) {
    ++counters_.dead;
    dead_metric_.Inc();
    LogError("outbox row is dead after its last attempt; an operator must look",
             {{"order_id", row.order_id}, {"attempts", retry.attempts}, {"error", error}});
  } else {
    ++counters_.retried;
    retried_metric_.Inc();
    LogWarn("outbox attempt failed; retrying later",
            {{"order_id", row.order_id}, {"attempts", retry.attempts}, {"error", error}});
  }
}

void OutboxWorker::Complete(const OutboxRecord& row, const OrderRecord& order,
                            std::vector<std::pair<std::string, std::string>> codes) {
  Status written = WaitForDurable([&](DurableDone done) {
    ledger_.CompleteOrder(
        CompleteOrderRecord{order.id, row.id, std::move(codes), ToUnixMillis(clock_.Now())},
        std::move(done));
  });
  if (!written) return Retry(row, "completing the order: " + written.error().message);
  std::lock_guard lock(mutex_);
  ++counters_.completed;
  completed_metric_.Inc();
}

void OutboxWorker::Handle(const OutboxRecord& row) {
  Result<std::optional<OrderRecord>> found = ledger_.FindOrder(row.order_id);
  if (!found) return Retry(row, "reading the order: " + found.error().message);
  if (!found->has_value()) {
    OutboxRecord last = row;
    last.attempts = options_.attempts_max;  // nothing to retry: the next failure is final
    return Retry(last, "the order does not exist");
  }
  const OrderRecord& order = **found;
  // Refunded before it was fulfilled, or completed by an earlier pass: only the row is left.
  if (order.status != "confirmed") return Complete(row, order, {});
  if (payments_ == nullptr) return Retry(row, "no payment gateway is configured");

  const PaymentResult captured = payments_->Capture(PaymentRef{order.gateway, order.payment_id},
                                                    order.total_cents, CaptureKey(order.id));
  if (captured.outcome == PaymentOutcome::kDeclined) {
    // A refund that voided the authorization while this pass ran is not a failure.
    Result<std::optional<OrderRecord>> now = ledger_.FindOrder(row.order_id);
    if (now && now->has_value() && (*now)->status == "refunded") return Complete(row, **now, {});
    OutboxRecord last = row;
    last.attempts = options_.attempts_max;  // a refused capture does not get better by waiting
    return Retry(last, "the gateway refused the capture: " + captured.message);
  }
  if (captured.outcome != PaymentOutcome::kSucceeded) {
    return Retry(row, std::string("capture ") + std::string(PaymentOutcomeName(captured.outcome)) +
                          ": " + captured.message);
  }

  BOXOFFICE_FAILPOINT("outbox.captured");
  std::vector<std::pair<std::string, std::string>> codes;
  for (const TicketRecord& ticket : order.tickets) {
    Result<std::string> code =
        signer_.Sign(TicketClaims{ticket.event_id, ticket.id, ticket.seat_id, order.id});
    if (!code) return Retry(row, "signing a ticket: " + code.error().message);
    codes.emplace_back(ticket.id, std::move(code).value());
  }
  if (mailer_ != nullptr) {
    Status sent = mailer_->Send(ConfirmationMail(order, codes));
    if (!sent) {
      if (sent.error().kind != ErrorKind::kUnprocessable) {
        return Retry(row, "sending the mail: " + sent.error().message);
      }
      // An address no mail can reach: the tickets stay valid and visible in GET /v1/orders/{id}.
      LogWarn("the order's confirmation mail cannot be delivered",
              {{"order_id", order.id}, {"error", sent.error().message}});
    }
  }
  Complete(row, order, std::move(codes));
}

}  // namespace boxoffice
