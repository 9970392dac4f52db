#include "store/sqlite/migrations.hpp"

#include <set>
#include <string>
#include <utility>

#include "store/sqlite/sqlite_handle.hpp"

namespace boxoffice::sqlite {
namespace {

// `seq` gives events a total order that does not depend on clocks: LoadEvents returns the oldest
// first, and two events created in the same millisecond still come back in the order written.
constexpr Migration kLedgerMigrations[] = {
    {1, "events, customers, settings",
     R"sql(
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  definition_json TEXT NOT NULL
);
CREATE TABLE customers (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql"},
    // The hold journal. `seq` orders holds as they were journaled (restore resolves a seat claimed
    // twice in favour of the later hold); the partial index keeps loading live holds cheap however
    // many ended ones pile up. Plain types and a partial index, as PostgreSQL takes them too.
    {2, "hold journal",
     R"sql(
CREATE TABLE holds (
  id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  seats_json TEXT NOT NULL,
  total_cents BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  ended_at_ms BIGINT,
  end_reason TEXT
);
CREATE INDEX holds_live ON holds (seq) WHERE ended_at_ms IS NULL;
)sql"},
    // The checkout. `sold_seats` is the portable form of UNIQUE (event_id, seat_id) among live
    // tickets: a sale inserts the row, a refund deletes it, so a seat can be sold again after a
    // refund but never twice at once. Partial indexes keep the recovery and worker scans cheap.
    {3, "orders, tickets, payments, idempotency, outbox, check-ins, scanner keys",
     R"sql(
CREATE TABLE orders (
  id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  hold_id TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  email TEXT NOT NULL,
  total_cents BIGINT NOT NULL,
  currency TEXT NOT NULL,
  status TEXT NOT NULL,
  gateway TEXT NOT NULL,
  payment_id TEXT NOT NULL,
  payment_status TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX orders_event ON orders (event_id, status);
CREATE TABLE tickets (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  seat_id TEXT NOT NULL,
  price_cents BIGINT NOT NULL,
  code TEXT NOT NULL,
  revoked_at_ms BIGINT NOT NULL
);
CREATE INDEX tickets_order ON tickets (order_id);
CREATE TABLE sold_seats (
  event_id TEXT NOT NULL,
  seat_id TEXT NOT NULL,
  ticket_id TEXT NOT NULL,
  order_id TEXT NOT NULL,
  PRIMARY KEY (event_id, seat_id)
);
CREATE TABLE payment_attempts (
  idempotency_key TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  amount_cents BIGINT NOT NULL,
  currency TEXT NOT NULL,
  state TEXT NOT NULL,
  gateway TEXT NOT NULL,
  payment_id TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  request_scope TEXT NOT NULL,
  request_key TEXT NOT NULL
);
CREATE INDEX payment_attempts_pending ON payment_attempts (created_at_ms) WHERE state = 'pending';
CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  response_status INTEGER NOT NULL,
  response_body TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE TABLE outbox (
  id BIGINT PRIMARY KEY,
  kind TEXT NOT NULL,
  order_id TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at_ms BIGINT NOT NULL,
  dead INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  done_at_ms BIGINT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at_ms) WHERE done_at_ms IS NULL AND dead = 0;
CREATE INDEX outbox_order ON outbox (order_id);
CREATE TABLE checkins (
  ticket_id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  checked_in_at_ms BIGINT NOT NULL,
  scanner_key_id TEXT NOT NULL
);
CREATE TABLE scanner_keys (
  id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  created_at_ms BIGINT NOT NULL
);
)sql"},
    // The operator's minted keys (never the key: it is a MAC the server recomputes) and the audit
    // log of operator controls. A revoked key keeps its row, so its id is never handed out again
    // and the audit's entries about it still name a key the ledger knows. The audit's id is its
    // order of writing (MAX(id) + 1 by the one writer), which is also the order pages follow.
    {4, "operator keys, audit log",
     R"sql(
CREATE TABLE operator_keys (
  id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  revoked_at_ms BIGINT
);
CREATE TABLE audit_log (
  id BIGINT PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  actor_key_id TEXT NOT NULL,
  actor_scope TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json TEXT NOT NULL
);
)sql"},
    // The operator finds a fan's orders by the address they gave (GET /v1/orders?email=),
    // newest first, without reading every order.
    {5, "orders by email",
     R"sql(
CREATE INDEX orders_email ON orders (email COLLATE NOCASE, seq);
)sql"},
    // A refund is written before the gateway gives the money back, so a crash between the two
    // is finished at the next start (ports/checkout_ledger.hpp, RefundAttemptRecord); one row
    // per order, replaced when an attempt failed.
    {6, "refund attempts",
     R"sql(
CREATE TABLE refund_attempts (
  order_id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  request_scope TEXT NOT NULL,
  request_key TEXT NOT NULL
);
CREATE INDEX refund_attempts_pending ON refund_attempts (created_at_ms) WHERE state = 'pending';
)sql"},
};

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)";
constexpr std::string_view kSelectVersions = "SELECT version FROM schema_migrations";
constexpr std::string_view kInsertVersion =
    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)";

Status CheckOrder(std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Error::Internal(
          "ledger migrations must be numbered 1, 2, 3, ... without gaps; "
          "found version " +
          std::to_string(migrations[i].version) + " at position " + std::to_string(i + 1));
    }
  }
  return {};
}

Result<std::set<int>> AppliedVersions(Connection& connection) {
  auto statement = connection.Prepare(kSelectVersions);
  if (!statement.ok()) return std::move(statement).error();
  ResetOnExit reset(**statement);
  std::set<int> versions;
  for (;;) {
    const int result_code = (*statement)->Step();
    if (result_code == SQLITE_DONE) return versions;
    if (result_code != SQLITE_ROW) {
      return MakeError(connection.Handle(), result_code, "reading schema_migrations");
    }
    versions.insert(static_cast<int>((*statement)->ColumnInt64(0)));
  }
}

Status ApplyMissing(Connection& connection, std::span<const Migration> migrations,
                    std::string_view applied_at) {
  if (auto created = connection.Exec(std::string(kCreateMigrationsTable).c_str()); !created) {
    return created;
  }
  auto applied = AppliedVersions(connection);
  if (!applied.ok()) return std::move(applied).error();
  for (const int version : *applied) {
    if (version < 1 || version > static_cast<int>(migrations.size())) {
      return Error::Make(ErrorKind::kInternal, "ledger_schema_too_new",
                         "The ledger database has schema version " + std::to_string(version) +
                             ", which this build does not know (it knows 1 to " +
                             std::to_string(migrations.size()) + "); upgrade boxoffice.");
    }
  }
  for (const Migration& migration : migrations) {
    if (applied->contains(migration.version)) continue;
    if (auto ran = connection.Exec(std::string(migration.sql).c_str()); !ran) {
      return Error::Internal("applying ledger migration " + std::to_string(migration.version) +
                             " (" + std::string(migration.name) + "): " + ran.error().message);
    }
    auto insert = connection.Prepare(kInsertVersion);
    if (!insert.ok()) return std::move(insert).error();
    ResetOnExit reset(**insert);
    if (auto bound = (*insert)->Bind(std::int64_t{migration.version}, applied_at); !bound) {
      return bound;
    }
    if (auto recorded = (*insert)->Run(); !recorded) return recorded;
  }
  return {};
}

}  // namespace

std::span<const Migration> LedgerMigrations() { return kLedgerMigrations; }

Status ApplyMigrations(Connection& connection, std::span<const Migration> migrations,
                       std::string_view applied_at) {
  if (auto ordered = CheckOrder(migrations); !ordered) return ordered;
  // IMMEDIATE takes the write lock up front: two processes opening the same fresh file cannot
  // both decide a migration is missing and both apply it.
  if (auto begun = connection.Exec("BEGIN IMMEDIATE"); !begun) return begun;
  Status status = ApplyMissing(connection, migrations, applied_at);
  if (status.ok()) status = connection.Exec("COMMIT");
  if (!status.ok() && sqlite3_get_autocommit(connection.Handle()) == 0) {
    // The original failure is what the caller needs to see; a failing ROLLBACK adds nothing.
    static_cast<void>(connection.Exec("ROLLBACK"));
  }
  return status;
}

}  // namespace boxoffice::sqlite
