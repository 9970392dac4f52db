// The outbox worker: finishes what a confirmed order leaves to do, in the background and at
// least once: capture the payment, sign the tickets, mail them, mark the order completed.
//
// Each due outbox row is handled by one pass; every step is idempotent (capture by a key derived
// from the order, codes are deterministic signatures, a repeated mail is a duplicate, never a
// loss), so a row resumed after a crash or a failed attempt simply runs again. A failed attempt
// is retried with exponential backoff and full jitter (a random delay in [0, min(cap, base *
// 2^attempts)]), at most `attempts_max` times; then the row is dead: counted in stats and
// metrics, logged at error, left for an operator.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "common/metrics.hpp"
#include "ports/checkout_ledger.hpp"
#include "ports/clock.hpp"
#include "ports/mailer.hpp"
#include "ports/payment_gateway.hpp"
#include "tickets/ticket_code.hpp"

namespace boxoffice {

struct OutboxOptions {
  int attempts_max = 10;
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{5 * 60 * 1'000};
  std::size_t batch_max = 256;  // rows per pass
  // Rows of a pass handled at once. Each waits on the gateway (tens of milliseconds) and the
  // ledger, so one at a time would capture ~50 orders a second while an on-sale confirms 1,000.
  std::size_t concurrency = 16;
  std::chrono::milliseconds poll_interval{100};
  // The nice value of the outbox's threads (Linux: per thread; 0 leaves them as they are).
  // Captures, ticket codes and mails can wait a few seconds; fans in an on-sale's spike cannot,
  // so the outbox yields the CPU to them and catches up when the spike passes.
  int nice = 10;
  std::uint64_t seed = 0;  // of the jitter; 0 picks a random one
};

struct OutboxCounters {
  std::uint64_t completed = 0;
  std::uint64_t retried = 0;
  std::uint64_t dead = 0;
};

class OutboxWorker {
 public:
  // `payments` and `mailer` may be null: rows then wait (no gateway) or complete without a mail
  // (no mailer). Every reference must outlive the worker.
  OutboxWorker(CheckoutLedger& ledger, PaymentGateway* payments, Mailer* mailer,
               const TicketSigner& signer, const Clock& clock, MetricsRegistry& metrics,
               OutboxOptions options = {});
  ~OutboxWorker();  // stops the thread if it runs
  OutboxWorker(const OutboxWorker&) = delete;
  OutboxWorker& operator=(const OutboxWorker&) = delete;

  // Handles every row due now, once each; returns how many it handled. Tests call it directly
  // with a fake clock; Start() calls it in a loop. Must not run on two threads at once.
  std::size_t RunDue();

  // Runs RunDue every poll interval on a thread of its own, until Stop or destruction.
  void Start();
  void Stop();
  // Asks the thread for a pass now (an order was just confirmed).
  void Wake();

  OutboxCounters counters() const;

 private:
  // Handles one row; true when it completed.
  void Handle(const OutboxRecord& row);
  void Retry(const OutboxRecord& row, const std::string& error);
  void Complete(const OutboxRecord& row, const OrderRecord& order,
                std::vector<std::pair<std::string, std::string>> codes);
  std::chrono::milliseconds Backoff(int attempts);

  CheckoutLedger& ledger_;
  PaymentGateway* payments_;
  Mailer* mailer_;
  const TicketSigner& signer_;
  const Clock& clock_;
  const OutboxOptions options_;
  Counter& completed_metric_;
  Counter& retried_metric_;
  Counter& dead_metric_;
  std::mt19937_64 random_;  // guarded by mutex_: the rows of a pass run on several threads

  mutable std::mutex mutex_;
  OutboxCounters counters_;
  std::condition_variable wake_;
  bool wake_requested_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace boxoffice
