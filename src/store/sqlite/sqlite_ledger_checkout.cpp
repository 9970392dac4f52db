// The checkout half of the SQLite ledger: orders, tickets, sold seats, payment attempts,
// idempotency records and the outbox (see ports/ledger.hpp for what each call promises). The
// writes run on the writer thread inside the request's savepoint, so a write that fails part way
// (a seat already sold) is undone alone and leaves nothing behind.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "store/sqlite/sqlite_handle.hpp"
#include "store/sqlite/sqlite_ledger.hpp"

namespace boxoffice {
namespace {

constexpr std::string_view kInsertIdempotency =
    "INSERT INTO idempotency_keys (scope, key, request_hash, state, response_status, "
    "response_body, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)";
// An upsert rather than an update: a record is stored "done" whether or not an in-flight one was
// written first (ON CONFLICT ... DO UPDATE is PostgreSQL's syntax too).
constexpr std::string_view kStoreIdempotencyResponse =
    "INSERT INTO idempotency_keys (scope, key, request_hash, state, response_status, "
    "response_body, created_at_ms) VALUES (?, ?, ?, 'done', ?, ?, ?) "
    "ON CONFLICT (scope, key) DO UPDATE SET state = 'done', "
    "response_status = excluded.response_status, response_body = excluded.response_body";
constexpr std::string_view kForgetIdempotency =
    "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND state = 'in_flight'";
constexpr std::string_view kFindIdempotency =
    "SELECT scope, key, request_hash, state, response_status, response_body, created_at_ms "
    "FROM idempotency_keys WHERE scope = ? AND key = ?";

constexpr std::string_view kInsertAttempt =
    "INSERT INTO payment_attempts (idempotency_key, order_id, event_id, amount_cents, currency, "
    "state, gateway, payment_id, created_at_ms, updated_at_ms, request_scope, request_key) "
    "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)";
// Only a pending attempt moves: a settlement repeated after a restart changes nothing.
constexpr std::string_view kSettleAttempt =
    "UPDATE payment_attempts SET state = ?, gateway = ?, payment_id = ?, updated_at_ms = ? "
    "WHERE idempotency_key = ? AND state = 'pending'";
constexpr std::string_view kAttemptState =
    "SELECT state FROM payment_attempts WHERE idempotency_key = ?";
constexpr std::string_view kLoadPendingAttempts =
    "SELECT idempotency_key, order_id, event_id, amount_cents, currency, state, gateway, "
    "payment_id, created_at_ms, updated_at_ms, request_scope, request_key "
    "FROM payment_attempts WHERE state = 'pending' "
    "ORDER BY created_at_ms, idempotency_key";

constexpr std::string_view kEndHoldOrdered =
    "UPDATE holds SET ended_at_ms = ?, end_reason = 'ordered' "
    "WHERE id = ? AND ended_at_ms IS NULL";
constexpr std::string_view kInsertOrder =
    "INSERT INTO orders (id, seq, event_id, hold_id, session_id, customer_id, email, "
    "total_cents, currency, status, gateway, payment_id, payment_status, created_at_ms, "
    "updated_at_ms) "
    "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM orders";
constexpr std::string_view kInsertSoldSeat =
    "INSERT INTO sold_seats (event_id, seat_id, ticket_id, order_id) VALUES (?, ?, ?, ?)";
constexpr std::string_view kInsertTicket =
    "INSERT INTO tickets (id, order_id, event_id, seat_id, price_cents, code, revoked_at_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, 0)";
constexpr std::string_view kInsertOutbox =
    "INSERT INTO outbox (id, kind, order_id, attempts, next_attempt_at_ms, dead, last_error, "
    "done_at_ms) SELECT COALESCE(MAX(id), 0) + 1, 'fulfil_order', ?, 0, ?, 0, '', NULL "
    "FROM outbox";

constexpr std::string_view kSetTicketCode =
    "UPDATE tickets SET code = ? WHERE id = ? AND order_id = ?";
constexpr std::string_view kCompleteOrder =
    "UPDATE orders SET status = 'completed', payment_status = 'captured', updated_at_ms = ? "
    "WHERE id = ? AND status = 'confirmed'";
constexpr std::string_view kOutboxDone =
    "UPDATE outbox SET done_at_ms = ? WHERE id = ? AND done_at_ms IS NULL";
constexpr std::string_view kRetryOutbox =
    "UPDATE outbox SET attempts = ?, next_attempt_at_ms = ?, dead = ?, last_error = ? "
    "WHERE id = ? AND done_at_ms IS NULL";
constexpr std::string_view kLoadDueOutbox =
    "SELECT id, kind, order_id, attempts, next_attempt_at_ms, dead, last_error FROM outbox "
    "WHERE done_at_ms IS NULL AND dead = 0 AND next_attempt_at_ms <= ? "
    "ORDER BY next_attempt_at_ms, id LIMIT ?";

constexpr std::string_view kFindOrder =
    "SELECT id, event_id, hold_id, session_id, customer_id, email, total_cents, currency, "
    "status, gateway, payment_id, payment_status, created_at_ms, updated_at_ms "
    "FROM orders WHERE id = ?";
constexpr std::string_view kFindOrdersByEmail =
    "SELECT id, event_id, hold_id, session_id, customer_id, email, total_cents, currency, "
    "status, gateway, payment_id, payment_status, created_at_ms, updated_at_ms "
    "FROM orders WHERE email = ? COLLATE NOCASE ORDER BY seq DESC LIMIT ?";
constexpr std::string_view kOrderTickets =
    "SELECT id, order_id, event_id, seat_id, price_cents, code, revoked_at_ms FROM tickets "
    "WHERE order_id = ? ORDER BY id";
constexpr std::string_view kFindTicket =
    "SELECT id, order_id, event_id, seat_id, price_cents, code, revoked_at_ms FROM tickets "
    "WHERE id = ?";
constexpr std::string_view kLoadSoldSeats =
    "SELECT s.event_id, s.seat_id, s.order_id, "
    "CASE WHEN o.customer_id = '' THEN o.session_id ELSE o.customer_id END "
    "FROM sold_seats s JOIN orders o ON o.id = s.order_id ORDER BY o.seq";
constexpr std::string_view kCountOrders =
    "SELECT status, COUNT(*), COALESCE(SUM(total_cents), 0) FROM orders WHERE event_id = ? "
    "GROUP BY status";
constexpr std::string_view kCountSoldSeats = "SELECT COUNT(*) FROM sold_seats WHERE event_id = ?";
constexpr std::string_view kCountOutbox =
    "SELECT COALESCE(SUM(CASE WHEN x.dead = 0 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN x.dead = 1 THEN 1 ELSE 0 END), 0) "
    "FROM outbox x JOIN orders o ON o.id = x.order_id "
    "WHERE o.event_id = ? AND x.done_at_ms IS NULL";

constexpr std::string_view kOrderStatus = "SELECT status FROM orders WHERE id = ?";
constexpr std::string_view kRefundOrder =
    "UPDATE orders SET status = 'refunded', payment_status = ?, updated_at_ms = ? "
    "WHERE id = ? AND status <> 'refunded'";
constexpr std::string_view kRevokeTickets =
    "UPDATE tickets SET revoked_at_ms = ? WHERE order_id = ? AND revoked_at_ms = 0";
constexpr std::string_view kUnsellSeats = "DELETE FROM sold_seats WHERE order_id = ?";
constexpr std::string_view kOrderOutboxDone =
    "UPDATE outbox SET done_at_ms = ? WHERE order_id = ? AND done_at_ms IS NULL";
constexpr std::string_view kRefundAttemptState =
    "SELECT state FROM refund_attempts WHERE order_id = ?";
// A failed attempt is replaced by the next one; a pending or done one is refused before this.
constexpr std::string_view kUpsertRefundAttempt =
    "INSERT INTO refund_attempts (order_id, state, created_at_ms, updated_at_ms, request_scope, "
    "request_key) VALUES (?, 'pending', ?, ?, ?, ?) "
    "ON CONFLICT (order_id) DO UPDATE SET state = 'pending', "
    "created_at_ms = excluded.created_at_ms, updated_at_ms = excluded.updated_at_ms, "
    "request_scope = excluded.request_scope, request_key = excluded.request_key";
constexpr std::string_view kPendingRefundKey =
    "SELECT request_scope, request_key FROM refund_attempts "
    "WHERE order_id = ? AND state = 'pending'";
constexpr std::string_view kEndRefundAttempt =
    "UPDATE refund_attempts SET state = ?, updated_at_ms = ? "
    "WHERE order_id = ? AND state = 'pending'";
constexpr std::string_view kLoadPendingRefunds =
    "SELECT order_id, state, created_at_ms, updated_at_ms, request_scope, request_key "
    "FROM refund_attempts WHERE state = 'pending' ORDER BY created_at_ms, order_id";
constexpr std::string_view kTicketLive =
    "SELECT revoked_at_ms FROM tickets WHERE id = ? AND event_id = ?";
constexpr std::string_view kInsertCheckIn =
    "INSERT INTO checkins (ticket_id, event_id, checked_in_at_ms, scanner_key_id) "
    "VALUES (?, ?, ?, ?)";
constexpr std::string_view kFirstCheckIn =
    "SELECT checked_in_at_ms FROM checkins WHERE ticket_id = ?";
constexpr std::string_view kInsertScannerKey =
    "INSERT INTO scanner_keys (id, event_id, key_hash, created_at_ms) VALUES (?, ?, ?, ?)";
constexpr std::string_view kFindScannerKey =
    "SELECT id, event_id, key_hash, created_at_ms FROM scanner_keys WHERE key_hash = ?";

bool IsUniqueViolation(int result_code) {
  return result_code == SQLITE_CONSTRAINT_PRIMARYKEY || result_code == SQLITE_CONSTRAINT_UNIQUE;
}

Status StoreResponse(sqlite::Connection& connection, const IdempotencyRecord& record) {
  int code = SQLITE_OK;
  return sqlite::RunWrite(connection, kStoreIdempotencyResponse, code, record.scope, record.key,
                          record.request_hash, std::int64_t{record.response_status},
                          record.response_body, record.created_at_ms);
}

PaymentAttemptRecord AttemptFromRow(const sqlite::Statement& row) {
  return PaymentAttemptRecord{row.ColumnText(0),  row.ColumnText(1),  row.ColumnText(2),
                              row.ColumnInt64(3), row.ColumnText(4),  row.ColumnText(5),
                              row.ColumnText(6),  row.ColumnText(7),  row.ColumnInt64(8),
                              row.ColumnInt64(9), row.ColumnText(10), row.ColumnText(11)};
}

// The idempotency record of a request in flight; nothing when its key is empty. kConflict
// idempotency_key_used when the key (in its scope) has a record already.
Status InsertInFlight(sqlite::Connection& connection, const IdempotencyRecord& key) {
  if (key.key.empty()) return {};
  int code = SQLITE_OK;
  Status stored = sqlite::RunWrite(connection, kInsertIdempotency, code, key.scope, key.key,
                                   key.request_hash, std::string_view("in_flight"), std::int64_t{0},
                                   std::string_view(""), key.created_at_ms);
  if (IsUniqueViolation(code)) {
    return Error::Make(ErrorKind::kConflict, "idempotency_key_used",
                       "This Idempotency-Key has been used before.", {{"key", key.key}});
  }
  return stored;
}

// The attempt, and its idempotency key in flight: written before the gateway hears of it.
Status Write(sqlite::Connection& connection, const PaymentAttemptRecord& attempt,
             const IdempotencyRecord& key) {
  if (Status stored = InsertInFlight(connection, key); !stored) return stored;
  int code = SQLITE_OK;
  Status inserted = sqlite::RunWrite(
      connection, kInsertAttempt, code, attempt.idempotency_key, attempt.order_id, attempt.event_id,
      attempt.amount_cents, attempt.currency, attempt.gateway, attempt.payment_id,
      attempt.created_at_ms, attempt.created_at_ms, attempt.request_scope, attempt.request_key);
  if (IsUniqueViolation(code)) {
    return Error::Make(ErrorKind::kConflict, "payment_exists",
                       "A payment attempt with this key exists.",
                       {{"payment_key", attempt.idempotency_key}});
  }
  return inserted;
}

// An attempt settled (declined, failed, voided), and its idempotency key answered or freed.
Status Write(sqlite::Connection& connection, const PaymentSettlement& settlement) {
  int code = SQLITE_OK;
  if (Status settled =
          sqlite::RunWrite(connection, kSettleAttempt, code, settlement.state, settlement.gateway,
                           settlement.payment_id, settlement.at_ms, settlement.payment_key);
      !settled) {
    return settled;
  }
  if (sqlite3_changes(connection.Handle()) == 0) {
    bool exists = false;
    if (Status read = sqlite::Select(
            connection, kAttemptState, [&exists](const sqlite::Statement&) { exists = true; },
            settlement.payment_key);
        !read) {
      return read;
    }
    if (!exists) {
      return Error::Make(ErrorKind::kNotFound, "payment_not_found",
                         "No payment attempt has this key.",
                         {{"payment_key", settlement.payment_key}});
    }
  }
  const IdempotencyRecord& key = settlement.idempotency;
  if (key.key.empty()) return {};
  if (key.state == "done") return StoreResponse(connection, key);
  return sqlite::RunWrite(connection, kForgetIdempotency, code, key.scope, key.key);
}

// The sale: the hold ends as ordered, the order, one sold seat and ticket per seat, the attempt
// confirmed, the answer stored, and the outbox entry that issues the tickets. A seat sold already
// refuses all of it.
Status Write(sqlite::Connection& connection, const ConfirmOrderRecord& confirm) {
  int code = SQLITE_OK;
  const OrderRecord& order = confirm.order;
  if (Status ended =
          sqlite::RunWrite(connection, kEndHoldOrdered, code, order.created_at_ms, order.hold_id);
      !ended) {
    return ended;
  }
  auto hold_consumed = [&order] {
    return Error::Make(ErrorKind::kConflict, "hold_consumed",
                       "The hold has ended or was ordered already.", {{"hold_id", order.hold_id}});
  };
  if (sqlite3_changes(connection.Handle()) == 0) return hold_consumed();
  Status inserted =
      sqlite::RunWrite(connection, kInsertOrder, code, order.id, order.event_id, order.hold_id,
                       order.session_id, order.customer_id, order.email, order.total_cents,
                       order.currency, order.status, order.gateway, order.payment_id,
                       order.payment_status, order.created_at_ms, order.updated_at_ms);
  if (IsUniqueViolation(code)) return hold_consumed();  // ids are random; the hold is UNIQUE
  if (!inserted) return inserted;
  for (const TicketRecord& ticket : order.tickets) {
    Status sold = sqlite::RunWrite(connection, kInsertSoldSeat, code, ticket.event_id,
                                   ticket.seat_id, ticket.id, order.id);
    if (IsUniqueViolation(code)) {
      return Error::Make(ErrorKind::kConflict, "seat_sold", "A seat of the order is sold.",
                         {{"seat_id", ticket.seat_id}});
    }
    if (!sold) return sold;
    if (Status written =
            sqlite::RunWrite(connection, kInsertTicket, code, ticket.id, order.id, ticket.event_id,
                             ticket.seat_id, ticket.price_cents, ticket.code);
        !written) {
      return written;
    }
  }
  if (Status settled = sqlite::RunWrite(connection, kSettleAttempt, code,
                                        std::string_view("confirmed"), order.gateway,
                                        order.payment_id, order.created_at_ms, confirm.payment_key);
      !settled) {
    return settled;
  }
  if (sqlite3_changes(connection.Handle()) == 0) {
    // Recovery settles pending attempts only before serving, so this is a caller's bug.
    return Error::Make(ErrorKind::kConflict, "payment_not_pending",
                       "The payment attempt is not pending.",
                       {{"payment_key", confirm.payment_key}});
  }
  if (!confirm.idempotency.key.empty()) {
    if (Status stored = StoreResponse(connection, confirm.idempotency); !stored) return stored;
  }
  return sqlite::RunWrite(connection, kInsertOutbox, code, order.id,
                          confirm.first_outbox_attempt_at_ms);
}

// The tickets' codes, the order completed, its outbox entry done.
Status Write(sqlite::Connection& connection, const CompleteOrderRecord& complete) {
  int code = SQLITE_OK;
  for (const auto& [ticket_id, ticket_code] : complete.ticket_codes) {
    if (Status set = sqlite::RunWrite(connection, kSetTicketCode, code, ticket_code, ticket_id,
                                      complete.order_id);
        !set) {
      return set;
    }
  }
  if (Status completed =
          sqlite::RunWrite(connection, kCompleteOrder, code, complete.at_ms, complete.order_id);
      !completed) {
    return completed;
  }
  return sqlite::RunWrite(connection, kOutboxDone, code, complete.at_ms, complete.outbox_id);
}

// An outbox entry tried again later, or given up.
Status Write(sqlite::Connection& connection, const OutboxRetryRecord& retry) {
  int code = SQLITE_OK;
  return sqlite::RunWrite(connection, kRetryOutbox, code, std::int64_t{retry.attempts},
                          retry.next_attempt_at_ms, std::int64_t{retry.dead ? 1 : 0},
                          retry.last_error, retry.outbox_id);
}

// A refund: the order refunded, its tickets revoked, its seats for sale again.
Status Write(sqlite::Connection& connection, const RefundOrderRecord& refund) {
  int code = SQLITE_OK;
  if (Status updated = sqlite::RunWrite(connection, kRefundOrder, code, refund.payment_status,
                                        refund.at_ms, refund.order_id);
      !updated) {
    return updated;
  }
  if (sqlite3_changes(connection.Handle()) == 0) {
    bool exists = false;
    if (Status read = sqlite::Select(
            connection, kOrderStatus, [&exists](const sqlite::Statement&) { exists = true; },
            refund.order_id);
        !read) {
      return read;
    }
    if (!exists) {
      return Error::Make(ErrorKind::kNotFound, "order_not_found", "No order has this id.",
                         {{"order_id", refund.order_id}});
    }
    return Error::Make(ErrorKind::kConflict, "order_refunded",
                       "The order has been refunded already.", {{"order_id", refund.order_id}});
  }
  for (const std::string_view sql : {kRevokeTickets, kOrderOutboxDone}) {
    if (Status done = sqlite::RunWrite(connection, sql, code, refund.at_ms, refund.order_id);
        !done) {
      return done;
    }
  }
  if (Status unsold = sqlite::RunWrite(connection, kUnsellSeats, code, refund.order_id); !unsold) {
    return unsold;
  }
  if (Status ended = sqlite::RunWrite(connection, kEndRefundAttempt, code, std::string_view("done"),
                                      refund.at_ms, refund.order_id);
      !ended) {
    return ended;
  }
  if (!refund.idempotency.key.empty()) return StoreResponse(connection, refund.idempotency);
  return {};
}

// A refund about to ask the gateway: its attempt pending, the operator's key in flight. The key
// is checked first, as the in-memory ledger does (a refused write is rolled back whole).
Status Write(sqlite::Connection& connection, const RefundAttemptRecord& attempt,
             const IdempotencyRecord& key) {
  if (Status stored = InsertInFlight(connection, key); !stored) return stored;
  std::optional<std::string> state;
  if (Status read = sqlite::Select(
          connection, kRefundAttemptState,
          [&state](const sqlite::Statement& row) { state = row.ColumnText(0); }, attempt.order_id);
      !read) {
    return read;
  }
  if (state == "pending") {
    return Error::Make(ErrorKind::kConflict, "refund_in_flight",
                       "A refund of this order is in progress.", {{"order_id", attempt.order_id}});
  }
  if (state == "done") {
    return Error::Make(ErrorKind::kConflict, "order_refunded",
                       "The order has been refunded already.", {{"order_id", attempt.order_id}});
  }
  int code = SQLITE_OK;
  return sqlite::RunWrite(connection, kUpsertRefundAttempt, code, attempt.order_id,
                          attempt.created_at_ms, attempt.created_at_ms, attempt.request_scope,
                          attempt.request_key);
}

// A refund the gateway could not make: its attempt failed, the operator's key free again.
Status Write(sqlite::Connection& connection, const RefundAbandonRecord& abandon) {
  std::optional<std::pair<std::string, std::string>> key;  // (scope, key) of a pending attempt
  if (Status read = sqlite::Select(
          connection, kPendingRefundKey,
          [&key](const sqlite::Statement& row) {
            key.emplace(row.ColumnText(0), row.ColumnText(1));
          },
          abandon.order_id);
      !read) {
    return read;
  }
  if (!key) return {};
  int code = SQLITE_OK;
  if (Status ended = sqlite::RunWrite(connection, kEndRefundAttempt, code,
                                      std::string_view("failed"), abandon.at_ms, abandon.order_id);
      !ended) {
    return ended;
  }
  if (key->second.empty()) return {};
  return sqlite::RunWrite(connection, kForgetIdempotency, code, key->first, key->second);
}

// A live ticket scanned at the gate, once.
Status Write(sqlite::Connection& connection, const CheckInRecord& check_in) {
  int code = SQLITE_OK;
  std::optional<std::int64_t> revoked_at_ms;
  if (Status read = sqlite::Select(
          connection, kTicketLive,
          [&revoked_at_ms](const sqlite::Statement& row) { revoked_at_ms = row.ColumnInt64(0); },
          check_in.ticket_id, check_in.event_id);
      !read) {
    return read;
  }
  if (!revoked_at_ms || *revoked_at_ms != 0) {
    return Error::Make(ErrorKind::kUnprocessable, "invalid_ticket",
                       revoked_at_ms ? "The ticket has been revoked (its order was refunded)."
                                     : "No ticket of this event has this id.",
                       {{"ticket_id", check_in.ticket_id}});
  }
  Status inserted = sqlite::RunWrite(connection, kInsertCheckIn, code, check_in.ticket_id,
                                     check_in.event_id, check_in.at_ms, check_in.scanner_key_id);
  if (IsUniqueViolation(code)) {
    std::int64_t first_ms = 0;
    if (Status read = sqlite::Select(
            connection, kFirstCheckIn,
            [&first_ms](const sqlite::Statement& row) { first_ms = row.ColumnInt64(0); },
            check_in.ticket_id);
        !read) {
      return read;
    }
    return Error::Make(ErrorKind::kConflict, "already_checked_in",
                       "This ticket has been checked in already.",
                       {{"ticket_id", check_in.ticket_id}, {"first_checked_in_at_ms", first_ms}});
  }
  return inserted;
}

// A gate scanner's key.
Status Write(sqlite::Connection& connection, const ScannerKeyRecord& key) {
  int code = SQLITE_OK;
  Status inserted = sqlite::RunWrite(connection, kInsertScannerKey, code, key.id, key.event_id,
                                     key.key_hash, key.created_at_ms);
  if (IsUniqueViolation(code)) {
    return Error::Make(ErrorKind::kConflict, "scanner_key_exists",
                       "A scanner key with this id or key exists.");
  }
  return inserted;
}

}  // namespace

void SqliteLedger::BeginPayment(PaymentAttemptRecord attempt, IdempotencyRecord in_flight,
                                Done done) {
  Submit(WriteRequest{PaymentBegin{std::move(attempt), std::move(in_flight)}, std::move(done),
                      std::nullopt});
}

void SqliteLedger::SettlePayment(PaymentSettlement settlement, Done done) {
  Submit(WriteRequest{std::move(settlement), std::move(done), std::nullopt});
}

void SqliteLedger::ConfirmOrder(ConfirmOrderRecord record, Done done) {
  Submit(WriteRequest{std::move(record), std::move(done), std::nullopt});
}

void SqliteLedger::CompleteOrder(CompleteOrderRecord record, Done done) {
  Submit(WriteRequest{std::move(record), std::move(done), std::nullopt});
}

void SqliteLedger::RetryOutbox(OutboxRetryRecord record, Done done) {
  Submit(WriteRequest{std::move(record), std::move(done), std::nullopt});
}

void SqliteLedger::RefundOrder(RefundOrderRecord record, Done done) {
  Submit(WriteRequest{std::move(record), std::move(done), std::nullopt});
}

void SqliteLedger::BeginRefund(RefundAttemptRecord attempt, IdempotencyRecord in_flight,
                               Done done) {
  Submit(WriteRequest{RefundBegin{std::move(attempt), std::move(in_flight)}, std::move(done),
                      std::nullopt});
}

void SqliteLedger::AbandonRefund(RefundAbandonRecord record, Done done) {
  Submit(WriteRequest{std::move(record), std::move(done), std::nullopt});
}

void SqliteLedger::CheckIn(CheckInRecord record, Done done) {
  Submit(WriteRequest{std::move(record), std::move(done), std::nullopt});
}

void SqliteLedger::InsertScannerKey(ScannerKeyRecord key, Done done) {
  Submit(WriteRequest{std::move(key), std::move(done), std::nullopt});
}

// Each kind of checkout write is its own transaction body (Write above); the writer thread calls
// this inside the transaction it commits.
Status SqliteLedger::ApplyCheckout(const WriteRequest& request) {
  sqlite::Connection& connection = *write_connection_;
  if (const auto* begin = std::get_if<PaymentBegin>(&request.payload)) {
    return Write(connection, begin->attempt, begin->in_flight);
  }
  if (const auto* settlement = std::get_if<PaymentSettlement>(&request.payload)) {
    return Write(connection, *settlement);
  }
  if (const auto* confirm = std::get_if<ConfirmOrderRecord>(&request.payload)) {
    return Write(connection, *confirm);
  }
  if (const auto* complete = std::get_if<CompleteOrderRecord>(&request.payload)) {
    return Write(connection, *complete);
  }
  if (const auto* retry = std::get_if<OutboxRetryRecord>(&request.payload)) {
    return Write(connection, *retry);
  }
  if (const auto* refund = std::get_if<RefundOrderRecord>(&request.payload)) {
    return Write(connection, *refund);
  }
  if (const auto* begin = std::get_if<RefundBegin>(&request.payload)) {
    return Write(connection, begin->attempt, begin->in_flight);
  }
  if (const auto* abandon = std::get_if<RefundAbandonRecord>(&request.payload)) {
    return Write(connection, *abandon);
  }
  if (const auto* check_in = std::get_if<CheckInRecord>(&request.payload)) {
    return Write(connection, *check_in);
  }
  if (const auto* key = std::get_if<ScannerKeyRecord>(&request.payload)) {
    return Write(connection, *key);
  }
  return Error::Internal("ledger: a write request without a payload reached the writer");
}

Result<std::optional<IdempotencyRecord>> SqliteLedger::FindIdempotency(const std::string& scope,
                                                                       const std::string& key) {
  return WithReader(
      [&](sqlite::Connection& connection) -> Result<std::optional<IdempotencyRecord>> {
        std::optional<IdempotencyRecord> found;
        Status read = sqlite::Select(
            connection, kFindIdempotency,
            [&found](const sqlite::Statement& row) {
              found = IdempotencyRecord{row.ColumnText(0),
                                        row.ColumnText(1),
                                        row.ColumnText(2),
                                        row.ColumnText(3),
                                        static_cast<int>(row.ColumnInt64(4)),
                                        row.ColumnText(5),
                                        row.ColumnInt64(6)};
            },
            scope, key);
        if (!read) return std::move(read).error();
        return found;
      });
}

namespace {

// An order row of kFindOrder or kFindOrdersByEmail (their columns are the same).
OrderRecord OrderOfRow(const sqlite::Statement& row) {
  OrderRecord order;
  order.id = row.ColumnText(0);
  order.event_id = row.ColumnText(1);
  order.hold_id = row.ColumnText(2);
  order.session_id = row.ColumnText(3);
  order.customer_id = row.ColumnText(4);
  order.email = row.ColumnText(5);
  order.total_cents = row.ColumnInt64(6);
  order.currency = row.ColumnText(7);
  order.status = row.ColumnText(8);
  order.gateway = row.ColumnText(9);
  order.payment_id = row.ColumnText(10);
  order.payment_status = row.ColumnText(11);
  order.created_at_ms = row.ColumnInt64(12);
  order.updated_at_ms = row.ColumnInt64(13);
  return order;
}

// Reads the order's tickets in the same connection. An order's tickets are written in the
// order's own transaction, so they are all there once the order is.
Status ReadTickets(sqlite::Connection& connection, OrderRecord& order) {
  return sqlite::Select(
      connection, kOrderTickets,
      [&order](const sqlite::Statement& row) {
        order.tickets.push_back(
            TicketRecord{row.ColumnText(0), row.ColumnText(1), row.ColumnText(2), row.ColumnText(3),
                         row.ColumnInt64(4), row.ColumnText(5), row.ColumnInt64(6)});
      },
      order.id);
}

}  // namespace

Result<std::optional<OrderRecord>> SqliteLedger::FindOrder(const std::string& order_id) {
  return WithReader([&](sqlite::Connection& connection) -> Result<std::optional<OrderRecord>> {
    std::optional<OrderRecord> found;
    Status read = sqlite::Select(
        connection, kFindOrder, [&found](const sqlite::Statement& row) { found = OrderOfRow(row); },
        order_id);
    if (!read) return std::move(read).error();
    if (!found) return found;
    if (read = ReadTickets(connection, *found); !read) return std::move(read).error();
    return found;
  });
}

Result<std::vector<OrderRecord>> SqliteLedger::FindOrdersByEmail(const std::string& email,
                                                                 std::size_t limit) {
  return WithReader([&](sqlite::Connection& connection) -> Result<std::vector<OrderRecord>> {
    std::vector<OrderRecord> orders;
    Status read = sqlite::Select(
        connection, kFindOrdersByEmail,
        [&orders](const sqlite::Statement& row) { orders.push_back(OrderOfRow(row)); }, email,
        static_cast<std::int64_t>(limit));
    if (!read) return std::move(read).error();
    for (OrderRecord& order : orders) {
      if (read = ReadTickets(connection, order); !read) return std::move(read).error();
    }
    return orders;
  });
}

Result<std::vector<SoldSeatRecord>> SqliteLedger::LoadSoldSeats() {
  return WithReader([](sqlite::Connection& connection) -> Result<std::vector<SoldSeatRecord>> {
    std::vector<SoldSeatRecord> seats;
    Status read =
        sqlite::Select(connection, kLoadSoldSeats, [&seats](const sqlite::Statement& row) {
          seats.push_back(SoldSeatRecord{row.ColumnText(0), row.ColumnText(1), row.ColumnText(2),
                                         row.ColumnText(3)});
        });
    if (!read) return std::move(read).error();
    return seats;
  });
}

Result<std::vector<PaymentAttemptRecord>> SqliteLedger::LoadPendingPayments() {
  return WithReader(
      [](sqlite::Connection& connection) -> Result<std::vector<PaymentAttemptRecord>> {
        std::vector<PaymentAttemptRecord> attempts;
        Status read = sqlite::Select(
            connection, kLoadPendingAttempts,
            [&attempts](const sqlite::Statement& row) { attempts.push_back(AttemptFromRow(row)); });
        if (!read) return std::move(read).error();
        return attempts;
      });
}

Result<std::vector<RefundAttemptRecord>> SqliteLedger::LoadPendingRefunds() {
  return WithReader([](sqlite::Connection& connection) -> Result<std::vector<RefundAttemptRecord>> {
    std::vector<RefundAttemptRecord> attempts;
    Status read =
        sqlite::Select(connection, kLoadPendingRefunds, [&attempts](const sqlite::Statement& row) {
          attempts.push_back(RefundAttemptRecord{row.ColumnText(0), row.ColumnText(1),
                                                 row.ColumnInt64(2), row.ColumnInt64(3),
                                                 row.ColumnText(4), row.ColumnText(5)});
        });
    if (!read) return std::move(read).error();
    return attempts;
  });
}

Result<std::vector<OutboxRecord>> SqliteLedger::LoadDueOutbox(std::int64_t now_ms,
                                                              std::size_t limit) {
  return WithReader([&](sqlite::Connection& connection) -> Result<std::vector<OutboxRecord>> {
    std::vector<OutboxRecord> rows;
    Status read = sqlite::Select(
        connection, kLoadDueOutbox,
        [&rows](const sqlite::Statement& row) {
          rows.push_back(OutboxRecord{row.ColumnInt64(0), row.ColumnText(1), row.ColumnText(2),
                                      static_cast<int>(row.ColumnInt64(3)), row.ColumnInt64(4),
                                      row.ColumnInt64(5) != 0, row.ColumnText(6)});
        },
        now_ms, static_cast<std::int64_t>(limit));
    if (!read) return std::move(read).error();
    return rows;
  });
}

Result<OrderCounts> SqliteLedger::CountOrders(const std::string& event_id) {
  return WithReader([&](sqlite::Connection& connection) -> Result<OrderCounts> {
    OrderCounts counts;
    Status read = sqlite::Select(
        connection, kCountOrders,
        [&counts](const sqlite::Statement& row) {
          const std::string status = row.ColumnText(0);
          const std::int64_t count = row.ColumnInt64(1);
          if (status == "confirmed") counts.confirmed = count;
          if (status == "completed") counts.completed = count;
          if (status == "refunded") counts.refunded = count;
          if (status != "refunded") counts.revenue_cents += row.ColumnInt64(2);
        },
        event_id);
    if (!read) return std::move(read).error();
    read = sqlite::Select(
        connection, kCountSoldSeats,
        [&counts](const sqlite::Statement& row) { counts.tickets_sold = row.ColumnInt64(0); },
        event_id);
    if (!read) return std::move(read).error();
    read = sqlite::Select(
        connection, kCountOutbox,
        [&counts](const sqlite::Statement& row) {
          counts.outbox_pending = row.ColumnInt64(0);
          counts.outbox_dead = row.ColumnInt64(1);
        },
        event_id);
    if (!read) return std::move(read).error();
    return counts;
  });
}

Result<std::optional<ScannerKeyRecord>> SqliteLedger::FindScannerKey(const std::string& key_hash) {
  return WithReader([&](sqlite::Connection& connection) -> Result<std::optional<ScannerKeyRecord>> {
    std::optional<ScannerKeyRecord> found;
    Status read = sqlite::Select(
        connection, kFindScannerKey,
        [&found](const sqlite::Statement& row) {
          found = ScannerKeyRecord{row.ColumnText(0), row.ColumnText(1), row.ColumnText(2),
                                   row.ColumnInt64(3)};
        },
        key_hash);
    if (!read) return std::move(read).error();
    return found;
  });
}

Result<std::optional<TicketRecord>> SqliteLedger::FindTicket(const std::string& ticket_id) {
  return WithReader([&](sqlite::Connection& connection) -> Result<std::optional<TicketRecord>> {
    std::optional<TicketRecord> found;
    Status read = sqlite::Select(
        connection, kFindTicket,
        [&found](const sqlite::Statement& row) {
          found = TicketRecord{row.ColumnText(0), row.ColumnText(1),  row.ColumnText(2),
                               row.ColumnText(3), row.ColumnInt64(4), row.ColumnText(5),
                               row.ColumnInt64(6)};
        },
        ticket_id);
    if (!read) return std::move(read).error();
    return found;
  });
}

}  // namespace boxoffice
