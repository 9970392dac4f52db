// `CheckoutLedger`: the sale's durable truth (orders/order_service.hpp, orders/outbox_worker.hpp):
// payment attempts, orders and their tickets, sold seats, idempotency keys, the outbox and
// refunds. Follows ports/durable.hpp.
//
// An order's confirmation ends its hold in the same transaction, so an adapter of this port also
// keeps the HoldJournal (the two are one store, as the ledger is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "ports/durable.hpp"

namespace boxoffice {

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

// A refund is written before the gateway is asked to give the money back, so that a crash between
// the gateway's refund and RefundOrder is finished at the next start (the order is not left sold
// with its money returned), and so that a second refund of the order cannot overtake the first.
struct RefundAttemptRecord {
  std::string order_id;  // one attempt per order at a time
  std::string state;     // "pending", then "done" (by RefundOrder) or "failed" (AbandonRefund)
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  // The operator's Idempotency-Key the refund runs under (both empty when none): recovery stores
  // its answer there, so the operator's retry replays it.
  std::string request_scope;
  std::string request_key;
};

// The end of a refund attempt that refunded nothing: the gateway could not give the money back.
struct RefundAbandonRecord {
  std::string order_id;
  std::int64_t at_ms = 0;
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

class CheckoutLedger {
 public:
  virtual ~CheckoutLedger() = default;

  // Writes a payment attempt ("pending") before the gateway is asked, together with the
  // idempotency record in flight when `in_flight.key` is not empty. Fails with kConflict
  // "idempotency_key_used" when that key (in its scope) has a record already, "payment_exists"
  // when the attempt's key is taken.
  virtual void BeginPayment(PaymentAttemptRecord attempt, IdempotencyRecord in_flight,
                            DurableDone done) = 0;
  // Ends an attempt that did not become an order (and settles its idempotency record).
  virtual void SettlePayment(PaymentSettlement settlement, DurableDone done) = 0;
  // In one transaction: inserts the order and its tickets, marks each seat sold (kConflict
  // "seat_sold" when a live ticket has it), ends the hold with reason "ordered" (kConflict
  // "hold_consumed" when it has ended or is unknown), marks the payment attempt confirmed,
  // stores the idempotency response and adds a "fulfil_order" outbox row. Nothing on failure.
  virtual void ConfirmOrder(ConfirmOrderRecord record, DurableDone done) = 0;
  // Captured and ticketed: the order becomes "completed" and its outbox row done.
  virtual void CompleteOrder(CompleteOrderRecord record, DurableDone done) = 0;
  // Records a failed attempt of an outbox row (and whether it is now dead).
  virtual void RetryOutbox(OutboxRetryRecord record, DurableDone done) = 0;
  // In one transaction: the order "refunded" with its payment status, every ticket revoked, its
  // seats deleted from the sold seats, its outbox rows done, the idempotency response stored.
  // Fails with kNotFound "order_not_found", kConflict "order_refunded" when refunded already.
  // The order's pending refund attempt, if any, becomes "done" in the same transaction.
  virtual void RefundOrder(RefundOrderRecord record, DurableDone done) = 0;
  // Writes a refund attempt ("pending") before the gateway is asked, with the idempotency record
  // in flight when `in_flight.key` is not empty. Fails with kConflict "idempotency_key_used" when
  // that key has a record, "refund_in_flight" when the order has a pending attempt,
  // "order_refunded" when its attempt is done. A failed attempt is replaced.
  virtual void BeginRefund(RefundAttemptRecord attempt, IdempotencyRecord in_flight,
                           DurableDone done) = 0;
  // A pending refund attempt becomes "failed" and its in-flight idempotency record is forgotten,
  // so the operator may ask again with the same key. Nothing when the order has no pending one.
  virtual void AbandonRefund(RefundAbandonRecord record, DurableDone done) = 0;

  virtual Result<std::optional<IdempotencyRecord>> FindIdempotency(const std::string& scope,
                                                                   const std::string& key) = 0;
  // The order with its tickets.
  virtual Result<std::optional<OrderRecord>> FindOrder(const std::string& order_id) = 0;
  virtual Result<std::optional<TicketRecord>> FindTicket(const std::string& ticket_id) = 0;
  // The orders placed with `email` (ASCII letters compared without case), newest first, at most
  // `limit`, each with its tickets: the operator's "find the fan's order".
  virtual Result<std::vector<OrderRecord>> FindOrdersByEmail(const std::string& email,
                                                             std::size_t limit) = 0;
  // Every seat sold by a live ticket.
  virtual Result<std::vector<SoldSeatRecord>> LoadSoldSeats() = 0;
  // Attempts still "pending": the process stopped between writing one and settling it.
  virtual Result<std::vector<PaymentAttemptRecord>> LoadPendingPayments() = 0;
  // Refund attempts still "pending": the process stopped between writing one and its end.
  virtual Result<std::vector<RefundAttemptRecord>> LoadPendingRefunds() = 0;
  // Outbox rows neither done nor dead whose next attempt is due at `now_ms`, oldest first.
  virtual Result<std::vector<OutboxRecord>> LoadDueOutbox(std::int64_t now_ms,
                                                          std::size_t limit) = 0;
  virtual Result<OrderCounts> CountOrders(const std::string& event_id) = 0;
  // Blocks until every write queued before the call is durable and its `done` has run.
  virtual void Flush() = 0;
};

}  // namespace boxoffice
