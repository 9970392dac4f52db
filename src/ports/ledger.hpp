// The `Ledger` port: the durable truth of boxoffice: events, customers, the hold journal, and
// the checkout (orders, tickets, sold seats, payment attempts, idempotency keys, the outbox,
// check-ins and scanner keys).
//
// Writes are asynchronous: a call queues the write and returns at once; `done` runs after the
// write is durable (committed and fsynced, possibly in a group with others) or has failed, on a
// thread of the adapter's choosing, never on the caller's stack. An I/O thread therefore never
// waits on disk. Reads are synchronous and meant for start-up and for rare paths (login).
//
// The port is narrow on purpose: one method per domain operation, no SQL. Each adapter (SQLite
// now, PostgreSQL later) must pass the shared conformance suite in store/ledger_conformance.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace boxoffice {

struct EventRecord {
  std::string id;  // "evt_..."
  std::string name;
  std::int64_t created_at_ms = 0;
  std::string definition_json;  // the validated event as the API returns it
};

struct CustomerRecord {
  std::string id;             // "cus_..."
  std::string email;          // normalized: trimmed, lower case
  std::string password_hash;  // libsodium crypto_pwhash_str (Argon2id)
  std::int64_t created_at_ms = 0;
};

// One seat hold as the hold journal keeps it. A hold is written before it is acknowledged and
// ended (released, expired, superseded) by EndHold; at start the holds not yet ended are restored.
struct HoldRecord {
  std::string id;  // "hld_..."
  std::string event_id;
  std::string session_id;
  std::string customer_id;  // empty for a guest
  std::string seats_json;   // [{"id": "101-A-7", "version": 1}, ...] as the API shows them
  std::int64_t total_cents = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t expires_at_ms = 0;
};

// ---- Checkout (orders, payments, tickets) ----

// One ticket of an order: one seat. A refund revokes it (revoked_at_ms > 0) and frees the seat.
struct TicketRecord {
  std::string id;  // "tkt_..."
  std::string order_id;
  std::string event_id;
  std::string seat_id;  // "101-A-7"
  std::int64_t price_cents = 0;
  std::string code;                // the signed ticket code; empty until the order is completed
  std::int64_t revoked_at_ms = 0;  // 0 while the ticket is live
};

struct OrderRecord {
  std::string id;  // "ord_..."
  std::string event_id;
  std::string hold_id;
  std::string session_id;
  std::string customer_id;  // empty for a guest
  std::string email;
  std::int64_t total_cents = 0;
  std::string currency;
  std::string status;  // "confirmed", "completed", "refunded"
  std::string gateway;
  std::string payment_id;      // the gateway's id of the authorization
  std::string payment_status;  // "authorized", "captured", "voided", "refunded"
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::vector<TicketRecord> tickets;  // in seat order
};

// A payment attempt is written before the gateway is asked to authorize, so that after a crash
// an authorization whose order was never confirmed can be found (by its key) and voided.
struct PaymentAttemptRecord {
  std::string idempotency_key;  // the key the gateway sees; one authorization per key
  std::string order_id;
  std::string event_id;
  std::int64_t amount_cents = 0;
  std::string currency;
  std::string state;  // "pending", "declined", "failed", "voided", "confirmed"
  std::string gateway;
  std::string payment_id;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  // The client's Idempotency-Key this attempt runs under (both empty when none), so recovery
  // can forget it when it voids the attempt.
  std::string request_scope;
  std::string request_key;
};

// An Idempotency-Key as API.md defines it, scoped to whoever sent it (a session, a customer or
// the operator): "in_flight" while the first request runs, then "done" with its response.
struct IdempotencyRecord {
  std::string scope;
  std::string key;
  std::string request_hash;  // of the method, path and body
  std::string state;         // "in_flight" or "done"
  int response_status = 0;
  std::string response_body;
  std::int64_t created_at_ms = 0;
};

// Work that must happen after a sale is confirmed (capture, issue tickets, mail), done by the
// outbox worker with retries.
struct OutboxRecord {
  std::int64_t id = 0;  // assigned by the ledger
  std::string kind;     // "fulfil_order"
  std::string order_id;
  int attempts = 0;
  std::int64_t next_attempt_at_ms = 0;
  bool dead = false;  // gave up after the last attempt; an operator has to look
  std::string last_error;
};

// Everything "one ledger transaction" of POST /v1/orders writes, all or nothing.
struct ConfirmOrderRecord {
  OrderRecord order;              // status "confirmed", with its tickets
  std::string payment_key;        // the attempt that authorized it; becomes "confirmed"
  IdempotencyRecord idempotency;  // key empty: none; else written "done" with the response
  std::int64_t first_outbox_attempt_at_ms = 0;
};

// The end of a payment attempt that did not become an order.
struct PaymentSettlement {
  std::string payment_key;
  std::string state;  // "declined", "failed", "voided"
  std::string gateway;
  std::string payment_id;
  std::int64_t at_ms = 0;
  // Key empty: no idempotency record. Else: state "done" stores the response; anything else
  // forgets the in-flight record so the client may try again with the same key.
  IdempotencyRecord idempotency;
};

// A completed order: captured, its tickets carry their codes.
struct CompleteOrderRecord {
  std::string order_id;
  std::int64_t outbox_id = 0;
  std::vector<std::pair<std::string, std::string>> ticket_codes;  // (ticket id, code)
  std::int64_t at_ms = 0;
};

// The outcome of a failed outbox attempt: try again at `next_attempt_at_ms`, or dead.
struct OutboxRetryRecord {
  std::int64_t outbox_id = 0;
  int attempts = 0;
  std::int64_t next_attempt_at_ms = 0;
  bool dead = false;
  std::string last_error;
};

// A seat sold and not refunded, with whoever bought it (for per_customer limits at start).
struct SoldSeatRecord {
  std::string event_id;
  std::string seat_id;
  std::string order_id;
  std::string owner_key;  // the customer id, or the session id of a guest
};

// A refund: the order becomes "refunded", its tickets are revoked and its seats unsold.
struct RefundOrderRecord {
  std::string order_id;
  std::string payment_status;  // "voided" (never captured) or "refunded"
  std::int64_t at_ms = 0;
  IdempotencyRecord idempotency;  // key empty: none; else stored "done" with the response
};

// The first scan of a ticket at the door.
struct CheckInRecord {
  std::string ticket_id;
  std::string event_id;
  std::int64_t at_ms = 0;
  std::string scanner_key_id;  // "operator" when the operator key scanned it
};

// A key that may only check tickets in, for one event. Only its hash is stored.
struct ScannerKeyRecord {
  std::string id;  // "scn_..."
  std::string event_id;
  std::string key_hash;  // SHA-256 hex of the key
  std::int64_t created_at_ms = 0;
};

struct OrderCounts {
  std::int64_t confirmed = 0;
  std::int64_t completed = 0;
  std::int64_t refunded = 0;
  std::int64_t tickets_sold = 0;   // live tickets
  std::int64_t revenue_cents = 0;  // of orders not refunded
  std::int64_t outbox_pending = 0;
  std::int64_t outbox_dead = 0;
};

class Ledger {
 public:
  using Done = std::function<void(Status)>;

  virtual ~Ledger() = default;

  // Fails with kConflict "event_exists" when the id is taken.
  virtual void InsertEvent(EventRecord event, Done done) = 0;
  // Fails with kConflict "email_taken" when a customer has this email, "customer_exists" when the
  // id is taken.
  virtual void InsertCustomer(CustomerRecord customer, Done done) = 0;
  // Small named values (operator settings, counters): insert or replace.
  virtual void PutSetting(std::string key, std::string value, Done done) = 0;

  // Journals a new hold. Fails with kConflict "hold_exists" when the id is taken.
  virtual void InsertHold(HoldRecord hold, Done done) = 0;
  // Marks a hold ended with `reason` ("released", "expired", ...) at `ended_at_ms`. Ending a hold
  // twice keeps the first end and succeeds; an unknown id fails with kNotFound "hold_not_found".
  virtual void EndHold(std::string hold_id, std::string reason, std::int64_t ended_at_ms,
                       Done done) = 0;

  // Every event, oldest first.
  virtual Result<std::vector<EventRecord>> LoadEvents() = 0;
  virtual Result<std::optional<CustomerRecord>> FindCustomerByEmail(const std::string& email) = 0;
  virtual Result<std::optional<std::string>> GetSetting(const std::string& key) = 0;
  // Every hold not yet ended (expired or not: the caller decides), in the order they were
  // journaled.
  virtual Result<std::vector<HoldRecord>> LoadLiveHolds() = 0;

  // ---- Checkout ----

  // Writes a payment attempt ("pending") before the gateway is asked, together with the
  // idempotency record in flight when `in_flight.key` is not empty. Fails with kConflict
  // "idempotency_key_used" when that key (in its scope) has a record already, "payment_exists"
  // when the attempt's key is taken.
  virtual void BeginPayment(PaymentAttemptRecord attempt, IdempotencyRecord in_flight,
                            Done done) = 0;
  // Ends an attempt that did not become an order (and settles its idempotency record).
  virtual void SettlePayment(PaymentSettlement settlement, Done done) = 0;
  // In one transaction: inserts the order and its tickets, marks each seat sold (kConflict
  // "seat_sold" when a live ticket has it), ends the hold with reason "ordered" (kConflict
  // "hold_consumed" when it has ended or is unknown), marks the payment attempt confirmed,
  // stores the idempotency response and adds a "fulfil_order" outbox row. Nothing on failure.
  virtual void ConfirmOrder(ConfirmOrderRecord record, Done done) = 0;
  // Captured and ticketed: the order becomes "completed" and its outbox row done.
  virtual void CompleteOrder(CompleteOrderRecord record, Done done) = 0;
  // Records a failed attempt of an outbox row (and whether it is now dead).
  virtual void RetryOutbox(OutboxRetryRecord record, Done done) = 0;
  // In one transaction: the order "refunded" with its payment status, every ticket revoked, its
  // seats deleted from the sold seats, its outbox rows done, the idempotency response stored.
  // Fails with kNotFound "order_not_found", kConflict "order_refunded" when refunded already.
  virtual void RefundOrder(RefundOrderRecord record, Done done) = 0;
  // Fails with kUnprocessable "invalid_ticket" when the ticket is unknown, of another event or
  // revoked, and kConflict "already_checked_in" (details.first_checked_in_at_ms) after the first.
  virtual void CheckIn(CheckInRecord record, Done done) = 0;
  // Fails with kConflict "scanner_key_exists" when the id or the hash is taken.
  virtual void InsertScannerKey(ScannerKeyRecord key, Done done) = 0;

  virtual Result<std::optional<IdempotencyRecord>> FindIdempotency(const std::string& scope,
                                                                   const std::string& key) = 0;
  // The order with its tickets.
  virtual Result<std::optional<OrderRecord>> FindOrder(const std::string& order_id) = 0;
  // Every seat sold by a live ticket.
  virtual Result<std::vector<SoldSeatRecord>> LoadSoldSeats() = 0;
  // Attempts still "pending": the process stopped between writing one and settling it.
  virtual Result<std::vector<PaymentAttemptRecord>> LoadPendingPayments() = 0;
  // Outbox rows neither done nor dead whose next attempt is due at `now_ms`, oldest first.
  virtual Result<std::vector<OutboxRecord>> LoadDueOutbox(std::int64_t now_ms,
                                                          std::size_t limit) = 0;
  virtual Result<OrderCounts> CountOrders(const std::string& event_id) = 0;
  virtual Result<std::optional<ScannerKeyRecord>> FindScannerKey(const std::string& key_hash) = 0;
  virtual Result<std::optional<TicketRecord>> FindTicket(const std::string& ticket_id) = 0;

  // Blocks until every write queued before the call is durable and its `done` has run.
  virtual void Flush() = 0;
};

}  // namespace boxoffice
