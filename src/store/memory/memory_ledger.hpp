// Every ledger port (ports/ledger.hpp) in memory: what the domain's unit tests run on, so that
// only the adapters' own tests touch SQLite, and a second reading of what the ports promise (it
// passes the same conformance suites as the SQLite ledger, src/store/*_conformance_test.cpp).
//
// Writes keep the durable-write contract (ports/durable.hpp): a call queues the write and
// returns; one writer thread applies the writes in submission order, each all or nothing, and
// runs its `done` once it is applied (there is nothing to fsync), never on the caller's stack.
// Reads take the data's lock and see every write whose `done` has run.
//
// The data lives in a MemoryLedgerData that may outlive the ledger: opening a new MemoryLedger on
// the same data is a restart (what a test of recovery needs), and destroying the ledger
// completes every write queued so far first, as a clean stop does.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "ports/ledger.hpp"

namespace boxoffice {

struct MemoryLedgerData;

class MemoryLedger final : public Ledger {
 public:
  // A ledger on fresh, empty data.
  MemoryLedger();
  // Asked on the writer thread before each write is applied, with the name of the port's call
  // ("ConfirmOrder"): an error refuses the write, which then changes nothing and hands the error
  // to its `done`. The deterministic simulation (tools/sim_*) crashes the ledger with it.
  using WriteGate = std::function<Status(std::string_view write)>;

  // A ledger on `data`, which earlier ledgers may have written; one ledger at a time.
  explicit MemoryLedger(std::shared_ptr<MemoryLedgerData> data, WriteGate gate = nullptr);
  ~MemoryLedger() override;
  MemoryLedger(const MemoryLedger&) = delete;
  MemoryLedger& operator=(const MemoryLedger&) = delete;

  static std::shared_ptr<MemoryLedgerData> NewData();
  const std::shared_ptr<MemoryLedgerData>& data() const { return data_; }

  void InsertEvent(EventRecord event, Done done) override;
  Result<std::vector<EventRecord>> LoadEvents() override;

  void InsertCustomer(CustomerRecord customer, Done done) override;
  Result<std::optional<CustomerRecord>> FindCustomerByEmail(const std::string& email) override;

  void PutSetting(std::string key, std::string value, Done done) override;
  Result<std::optional<std::string>> GetSetting(const std::string& key) override;

  void SaveCidrList(std::string list, std::vector<CidrListRecord> entries, Done done) override;
  Result<std::vector<CidrListRecord>> LoadCidrList(const std::string& list) override;

  void InsertHold(HoldRecord hold, Done done) override;
  void EndHold(std::string hold_id, std::string reason, std::int64_t ended_at_ms,
               Done done) override;
  Result<std::vector<HoldRecord>> LoadLiveHolds() override;

  void BeginPayment(PaymentAttemptRecord attempt, IdempotencyRecord in_flight, Done done) override;
  void SettlePayment(PaymentSettlement settlement, Done done) override;
  void ConfirmOrder(ConfirmOrderRecord record, Done done) override;
  void CompleteOrder(CompleteOrderRecord record, Done done) override;
  void RetryOutbox(OutboxRetryRecord record, Done done) override;
  void RefundOrder(RefundOrderRecord record, Done done) override;
  void BeginRefund(RefundAttemptRecord attempt, IdempotencyRecord in_flight, Done done) override;
  void AbandonRefund(RefundAbandonRecord record, Done done) override;
  Result<std::optional<IdempotencyRecord>> FindIdempotency(const std::string& scope,
                                                           const std::string& key) override;
  Result<std::optional<OrderRecord>> FindOrder(const std::string& order_id) override;
  Result<std::vector<OrderRecord>> FindOrdersByEmail(const std::string& email,
                                                     std::size_t limit) override;
  Result<std::optional<TicketRecord>> FindTicket(const std::string& ticket_id) override;
  Result<std::vector<SoldSeatRecord>> LoadSoldSeats() override;
  Result<std::vector<PaymentAttemptRecord>> LoadPendingPayments() override;
  Result<std::vector<RefundAttemptRecord>> LoadPendingRefunds() override;
  Result<std::vector<OutboxRecord>> LoadDueOutbox(std::int64_t now_ms, std::size_t limit) override;
  Result<OrderCounts> CountOrders(const std::string& event_id) override;

  void CheckIn(CheckInRecord record, Done done) override;
  void InsertScannerKey(ScannerKeyRecord key, Done done) override;
  Result<std::optional<ScannerKeyRecord>> FindScannerKey(const std::string& key_hash) override;

  void InsertOperatorKey(OperatorKeyRecord key, Done done) override;
  void RevokeOperatorKey(std::string id, std::int64_t revoked_at_ms, Done done) override;
  Result<std::vector<OperatorKeyRecord>> LoadLiveOperatorKeys() override;
  void AppendAudit(AuditRecord record, Done done) override;
  Result<AuditPage> LoadAudit(std::int64_t after_id, std::size_t limit) override;

  // Must not be called inside a `done`: the writer would wait for itself.
  void Flush() override;

 private:
  using Write = std::function<Status(MemoryLedgerData&)>;
  struct Queued {
    std::string_view name;  // the port's call, for the gate
    Write write;
    Done done;
  };
  void Submit(std::string_view name, Write write, Done done);
  void WriterLoop();

  std::shared_ptr<MemoryLedgerData> data_;
  const WriteGate gate_;
  std::mutex queue_mutex_;
  std::condition_variable work_ready_;
  std::condition_variable completed_;
  std::deque<Queued> queue_;
  std::uint64_t submitted_ = 0;
  std::uint64_t completed_count_ = 0;
  bool closing_ = false;
  std::thread writer_;  // last: starts after the members it uses
};

}  // namespace boxoffice
