// The operators' part of the SQLite ledger: the minted operator keys (OperatorKeyStore) and the
// audit log (AuditLog), tables of migration 4. Writes run on the writer thread inside their
// request's savepoint, as every other write; reads on the read connections.
#include <string_view>
#include <utility>

#include "store/sqlite/sqlite_handle.hpp"
#include "store/sqlite/sqlite_ledger.hpp"

namespace boxoffice {
namespace {

// The single writer makes MAX(...) + 1 race-free, as for events; `seq` keeps keys in the order
// they were minted whatever their clock said, and the audit's id is its order of writing.
constexpr std::string_view kInsertOperatorKey =
    "INSERT INTO operator_keys (id, seq, scope, label, created_at_ms) "
    "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ? FROM operator_keys";
constexpr std::string_view kRevokeOperatorKey =
    "UPDATE operator_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL";
constexpr std::string_view kLoadLiveOperatorKeys =
    "SELECT id, scope, label, created_at_ms FROM operator_keys WHERE revoked_at_ms IS NULL "
    "ORDER BY seq";
constexpr std::string_view kAppendAudit =
    "INSERT INTO audit_log (id, at_ms, actor_key_id, actor_scope, action, target, before_json, "
    "after_json) SELECT COALESCE(MAX(id), 0) + 1, ?, ?, ?, ?, ?, ?, ? FROM audit_log";
constexpr std::string_view kLoadAudit =
    "SELECT id, at_ms, actor_key_id, actor_scope, action, target, before_json, after_json "
    "FROM audit_log WHERE id > ? ORDER BY id LIMIT ?";
constexpr std::string_view kLatestAudit = "SELECT COALESCE(MAX(id), 0) FROM audit_log";

}  // namespace

std::optional<Status> SqliteLedger::ApplyOperators(const WriteRequest& request) {
  sqlite::Connection& connection = *write_connection_;
  int result_code = SQLITE_OK;
  if (const auto* key = std::get_if<OperatorKeyRecord>(&request.payload)) {
    Status inserted = sqlite::RunWrite(connection, kInsertOperatorKey, result_code, key->id,
                                       key->scope, key->label, key->created_at_ms);
    if (result_code == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Error::Make(ErrorKind::kConflict, "operator_key_exists",
                         "An operator key with id " + key->id + " exists.");
    }
    return inserted;
  }
  if (const auto* revocation = std::get_if<OperatorKeyRevocation>(&request.payload)) {
    Status revoked = sqlite::RunWrite(connection, kRevokeOperatorKey, result_code,
                                      revocation->revoked_at_ms, revocation->id);
    if (!revoked) return revoked;
    if (sqlite3_changes(connection.Handle()) == 0) {
      return Error::Make(ErrorKind::kNotFound, "operator_key_not_found",
                         "No live operator key has this id.", {{"id", revocation->id}});
    }
    return Status();
  }
  if (const auto* entry = std::get_if<AuditRecord>(&request.payload)) {
    return sqlite::RunWrite(connection, kAppendAudit, result_code, entry->at_ms,
                            entry->actor_key_id, entry->actor_scope, entry->action, entry->target,
                            entry->before_json, entry->after_json);
  }
  return std::nullopt;
}

void SqliteLedger::InsertOperatorKey(OperatorKeyRecord key, Done done) {
  Submit(WriteRequest{std::move(key), std::move(done), std::nullopt});
}

void SqliteLedger::RevokeOperatorKey(std::string id, std::int64_t revoked_at_ms, Done done) {
  Submit(WriteRequest{OperatorKeyRevocation{std::move(id), revoked_at_ms}, std::move(done),
                      std::nullopt});
}

Result<std::vector<OperatorKeyRecord>> SqliteLedger::LoadLiveOperatorKeys() {
  return WithReader([](sqlite::Connection& connection) -> Result<std::vector<OperatorKeyRecord>> {
    std::vector<OperatorKeyRecord> keys;
    Status read =
        sqlite::Select(connection, kLoadLiveOperatorKeys, [&keys](const sqlite::Statement& row) {
          keys.push_back(OperatorKeyRecord{row.ColumnText(0), row.ColumnText(1), row.ColumnText(2),
                                           row.ColumnInt64(3)});
        });
    if (!read) return std::move(read).error();
    return keys;
  });
}

void SqliteLedger::AppendAudit(AuditRecord record, Done done) {
  Submit(WriteRequest{std::move(record), std::move(done), std::nullopt});
}

Result<AuditPage> SqliteLedger::LoadAudit(std::int64_t after_id, std::size_t limit) {
  return WithReader([after_id, limit](sqlite::Connection& connection) -> Result<AuditPage> {
    AuditPage page;
    Status read = sqlite::Select(
        connection, kLoadAudit,
        [&page](const sqlite::Statement& row) {
          page.entries.push_back(AuditRecord{
              row.ColumnInt64(0), row.ColumnInt64(1), row.ColumnText(2), row.ColumnText(3),
              row.ColumnText(4), row.ColumnText(5), row.ColumnText(6), row.ColumnText(7)});
        },
        after_id, static_cast<std::int64_t>(limit));
    if (!read) return std::move(read).error();
    // Read after the entries, so that it is never below the newest of them.
    read = sqlite::Select(connection, kLatestAudit, [&page](const sqlite::Statement& row) {
      page.latest_id = row.ColumnInt64(0);
    });
    if (!read) return std::move(read).error();
    return page;
  });
}

}  // namespace boxoffice
