// The embedded ledger: every ledger port (ports/ledger.hpp) on one SQLite file in WAL mode, with
// group commit.
//
// One writer thread owns the only write connection. Write calls queue a request and return; the
// writer takes everything queued (up to `max_batch`), runs it as one IMMEDIATE transaction with a
// SAVEPOINT per request (so a request that breaks a constraint is undone alone while the others
// commit), commits once (one fsync for the whole group, `synchronous=FULL`) and only then runs
// each request's `done`, in submission order, on the writer thread. Reads are synchronous and run
// on a small pool of read-only connections, never on the writer's, so they neither wait for nor
// delay a group commit (WAL lets readers and the writer proceed at once).
//
// Opening applies the schema migrations (store/sqlite/migrations.hpp). Destroying the ledger
// completes every write queued so far, then stops the writer; writes submitted once the shutdown
// has begun complete with kUnavailable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "ports/ledger.hpp"

namespace boxoffice {

namespace sqlite {
class Connection;
}  // namespace sqlite

struct SqliteLedgerOptions {
  std::string path;                // the database file; created when missing
  std::size_t max_batch = 512;     // writes per group: one transaction, one fsync
  std::size_t queue_max = 65'536;  // writes waiting beyond this are refused with kUnavailable
  std::size_t readers_max = 4;     // read connections, opened on demand; more readers wait
  int busy_timeout_ms = 5'000;     // how long to wait for a lock held by another process
};

class SqliteLedger final : public Ledger {
 public:
  // Opens (or creates) the database, applies missing migrations and starts the writer. Fails
  // with kInternal: "ledger_schema_too_new" when the file was written by a newer boxoffice,
  // "ledger_bad_options" for unusable options, "internal" for any SQLite failure.
  static Result<std::unique_ptr<SqliteLedger>> Open(SqliteLedgerOptions options);

  // Completes every queued write, then joins the writer. Must not run inside a `done`.
  ~SqliteLedger() override;
  SqliteLedger(const SqliteLedger&) = delete;
  SqliteLedger& operator=(const SqliteLedger&) = delete;

  void InsertEvent(EventRecord event, Done done) override;
  void InsertCustomer(CustomerRecord customer, Done done) override;
  void PutSetting(std::string key, std::string value, Done done) override;
  void InsertHold(HoldRecord hold, Done done) override;
  void EndHold(std::string hold_id, std::string reason, std::int64_t ended_at_ms,
               Done done) override;

  Result<std::vector<EventRecord>> LoadEvents() override;
  Result<std::optional<CustomerRecord>> FindCustomerByEmail(const std::string& email) override;
  Result<std::optional<std::string>> GetSetting(const std::string& key) override;
  void SaveCidrList(std::string list, std::vector<CidrListRecord> entries, Done done) override;
  Result<std::vector<CidrListRecord>> LoadCidrList(const std::string& list) override;
  Result<std::vector<HoldRecord>> LoadLiveHolds() override;

  void BeginPayment(PaymentAttemptRecord attempt, IdempotencyRecord in_flight, Done done) override;
  void SettlePayment(PaymentSettlement settlement, Done done) override;
  void ConfirmOrder(ConfirmOrderRecord record, Done done) override;
  void CompleteOrder(CompleteOrderRecord record, Done done) override;
  void RetryOutbox(OutboxRetryRecord record, Done done) override;
  void RefundOrder(RefundOrderRecord record, Done done) override;
  void BeginRefund(RefundAttemptRecord attempt, IdempotencyRecord in_flight, Done done) override;
  void AbandonRefund(RefundAbandonRecord record, Done done) override;
  void CheckIn(CheckInRecord record, Done done) override;
  void InsertScannerKey(ScannerKeyRecord key, Done done) override;
  Result<std::optional<ScannerKeyRecord>> FindScannerKey(const std::string& key_hash) override;
  Result<std::optional<TicketRecord>> FindTicket(const std::string& ticket_id) override;
  Result<std::optional<IdempotencyRecord>> FindIdempotency(const std::string& scope,
                                                           const std::string& key) override;
  Result<std::optional<OrderRecord>> FindOrder(const std::string& order_id) override;
  Result<std::vector<OrderRecord>> FindOrdersByEmail(const std::string& email,
                                                     std::size_t limit) override;
  Result<std::vector<SoldSeatRecord>> LoadSoldSeats() override;
  Result<std::vector<PaymentAttemptRecord>> LoadPendingPayments() override;
  Result<std::vector<RefundAttemptRecord>> LoadPendingRefunds() override;
  Result<std::vector<OutboxRecord>> LoadDueOutbox(std::int64_t now_ms, std::size_t limit) override;
  Result<OrderCounts> CountOrders(const std::string& event_id) override;
  void InsertOperatorKey(OperatorKeyRecord key, Done done) override;
  void RevokeOperatorKey(std::string id, std::int64_t revoked_at_ms, Done done) override;
  Result<std::vector<OperatorKeyRecord>> LoadLiveOperatorKeys() override;
  void AppendAudit(AuditRecord record, Done done) override;
  Result<AuditPage> LoadAudit(std::int64_t after_id, std::size_t limit) override;

  // Must not be called inside a `done`: the writer would wait for itself.
  void Flush() override;

  // Group commits that succeeded so far; cheap, for tests and metrics.
  std::uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  // True once the destructor has begun: new writes are refused from then on.
  bool IsClosing() const { return closing_.load(std::memory_order_acquire); }

 private:
  struct SettingWrite {
    std::string key;
    std::string value;
  };
  struct HoldEnd {
    std::string hold_id;
    std::string reason;
    std::int64_t ended_at_ms = 0;
  };
  struct PaymentBegin {
    PaymentAttemptRecord attempt;
    IdempotencyRecord in_flight;
  };
  struct RefundBegin {
    RefundAttemptRecord attempt;
    IdempotencyRecord in_flight;
  };
  struct OperatorKeyRevocation {
    std::string id;
    std::int64_t revoked_at_ms = 0;
  };
  struct WriteRequest {
    // monostate: refused at submission, only `done` is kept.
    std::variant<std::monostate, EventRecord, CustomerRecord, SettingWrite, HoldRecord, HoldEnd,
                 PaymentBegin, PaymentSettlement, ConfirmOrderRecord, CompleteOrderRecord,
                 OutboxRetryRecord, RefundOrderRecord, RefundBegin, RefundAbandonRecord,
                 CheckInRecord, ScannerKeyRecord, OperatorKeyRecord, OperatorKeyRevocation,
                 AuditRecord>
        payload;
    Done done;
    std::optional<Error> refusal;
  };

  SqliteLedger(SqliteLedgerOptions options, std::unique_ptr<sqlite::Connection> writer,
               std::unique_ptr<sqlite::Connection> first_reader);

  void Submit(WriteRequest request);
  void WriterLoop();
  // Runs one group as a transaction; returns one status per request, in order.
  std::vector<Status> CommitGroup(const std::vector<WriteRequest>& group);
  Status Apply(const WriteRequest& request);
  // The checkout's writes (sqlite_ledger_checkout.cpp), on the writer thread.
  Status ApplyCheckout(const WriteRequest& request);
  // The operator keys' and the audit log's writes (sqlite_ledger_operators.cpp); nullopt when
  // `request` is not one of them.
  std::optional<Status> ApplyOperators(const WriteRequest& request);

  Result<std::unique_ptr<sqlite::Connection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<sqlite::Connection> reader);
  // Runs `read` on an idle read connection (defined here so both source files can use it).
  template <typename Read>
  auto WithReader(Read&& read) -> decltype(read(std::declval<sqlite::Connection&>())) {
    auto reader = AcquireReader();
    if (!reader.ok()) return std::move(reader).error();
    auto result = read(**reader);
    ReleaseReader(std::move(reader).value());
    return result;
  }

  const SqliteLedgerOptions options_;
  // Used by the writer thread only.
  std::unique_ptr<sqlite::Connection> write_connection_;

  std::mutex queue_mutex_;
  std::condition_variable work_ready_;  // the writer waits for requests or shutdown
  std::condition_variable completed_;   // Flush waits for `completed_count_`
  std::deque<WriteRequest> queue_;      // guarded by queue_mutex_
  std::size_t queued_writes_ = 0;       // requests in `queue_` that carry a write (not refusals)
  std::uint64_t submitted_count_ = 0;   // every request ever queued
  std::uint64_t completed_count_ = 0;   // every request whose done has run; FIFO, so a prefix
  bool writer_exited_ = false;
  std::atomic<bool> closing_{false};

  std::mutex readers_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<sqlite::Connection>> idle_readers_;  // guarded by readers_mutex_
  std::size_t readers_open_ = 0;                                   // guarded by readers_mutex_

  std::atomic<std::uint64_t> commits_{0};
  std::thread writer_;  // last: starts after every member above exists
};

}  // namespace boxoffice
