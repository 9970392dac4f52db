#include "store/sqlite/sqlite_handle.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <string>
#include <utility>

namespace boxoffice::sqlite {

Error MakeError(sqlite3* db, int result_code, std::string_view what) {
  // sqlite3_errmsg describes the connection's most recent failure, which is this one as long as
  // the caller asks right away on the thread that owns the connection.
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(result_code);
  return Error::Internal(std::string(what) + ": " + message + " (sqlite code " +
                         std::to_string(result_code) + ")");
}

Status Statement::Run() {
  const int result_code = Step();
  if (result_code == SQLITE_DONE) return {};
  if (result_code == SQLITE_ROW) {
    return Error::Internal(std::string("statement returned rows where none were expected: ") +
                           sqlite3_sql(statement_.get()));
  }
  return MakeError(Database(), result_code, sqlite3_sql(statement_.get()));
}

std::string Statement::ColumnText(int column) const {
  // Ask for the text before its length: sqlite3_column_bytes then measures the UTF-8 form.
  const auto* text = sqlite3_column_text(statement_.get(), column);
  const int size = sqlite3_column_bytes(statement_.get(), column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::int64_t Statement::ColumnInt64(int column) const {
  return sqlite3_column_int64(statement_.get(), column);
}

void Statement::Reset() {
  sqlite3_reset(statement_.get());
  sqlite3_clear_bindings(statement_.get());
}

Status Statement::BindOne(int index, std::string_view text) {
  // A default-constructed string_view has a null data pointer, which SQLite would bind as NULL;
  // an empty value must stay an empty string.
  const char* data = text.data() != nullptr ? text.data() : "";
  const int result_code =
      sqlite3_bind_text64(statement_.get(), index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (result_code != SQLITE_OK) {
    return MakeError(Database(), result_code, "binding parameter " + std::to_string(index));
  }
  return {};
}

Status Statement::BindOne(int index, std::int64_t value) {
  const int result_code = sqlite3_bind_int64(statement_.get(), index, value);
  if (result_code != SQLITE_OK) {
    return MakeError(Database(), result_code, "binding parameter " + std::to_string(index));
  }
  return {};
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, int flags,
                                                     int busy_timeout_ms) {
  sqlite3* db = nullptr;
  const int opened = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  // sqlite3_open_v2 hands back a handle even on failure (to read the message from); the
  // Connection owns it from here on, so every path below closes it.
  std::unique_ptr<Connection> connection(new Connection(db));
  if (db == nullptr) return Error::Internal("opening " + path + ": out of memory");
  if (opened != SQLITE_OK) return MakeError(db, opened, "opening " + path);
  if (const int rc = sqlite3_extended_result_codes(db, 1); rc != SQLITE_OK) {
    return MakeError(db, rc, "enabling extended result codes");
  }
  if (const int rc = sqlite3_busy_timeout(db, busy_timeout_ms); rc != SQLITE_OK) {
    return MakeError(db, rc, "setting the busy timeout");
  }
  return connection;
}

Connection::~Connection() {
  statements_.clear();
  if (db_ == nullptr) return;
  const int result_code = sqlite3_close(db_);
  if (result_code != SQLITE_OK) {
    // Only an unfinalized statement makes sqlite3_close refuse, which would be a bug here. Log
    // it and let SQLite close the connection once that statement goes, rather than leak it.
    spdlog::error("sqlite: closing a connection failed: {} (code {})", sqlite3_errmsg(db_),
                  result_code);
    sqlite3_close_v2(db_);
  }
}

Status Connection::Exec(const char* sql) {
  char* message = nullptr;
  const int result_code = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (result_code == SQLITE_OK) return {};
  std::string text = message != nullptr ? message : sqlite3_errstr(result_code);
  sqlite3_free(message);
  return Error::Internal(std::string("running `") + sql + "`: " + text + " (sqlite code " +
                         std::to_string(result_code) + ")");
}

Result<std::string> Connection::QueryText(std::string_view sql) {
  // A one-off statement: not worth a place in the cache.
  auto prepared = PrepareRaw(sql, 0);
  if (!prepared.ok()) return std::move(prepared).error();
  Statement statement(prepared.value());
  const int result_code = statement.Step();
  if (result_code == SQLITE_DONE) return std::string();
  if (result_code != SQLITE_ROW) return MakeError(db_, result_code, sql);
  return statement.ColumnText(0);
}

Result<Statement*> Connection::Prepare(std::string_view sql) {
  if (auto found = statements_.find(sql); found != statements_.end()) return &found->second;
  auto prepared = PrepareRaw(sql, SQLITE_PREPARE_PERSISTENT);
  if (!prepared.ok()) return std::move(prepared).error();
  auto inserted = statements_.emplace(std::string(sql), Statement(prepared.value())).first;
  return &inserted->second;
}

Result<sqlite3_stmt*> Connection::PrepareRaw(std::string_view sql, unsigned int flags) {
  sqlite3_stmt* statement = nullptr;
  const char* tail = nullptr;
  const int result_code =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &statement, &tail);
  if (result_code != SQLITE_OK) {
    sqlite3_finalize(statement);
    return MakeError(db_, result_code, "preparing `" + std::string(sql) + "`");
  }
  if (statement == nullptr) return Error::Internal("preparing an empty statement");
  // Only the first statement of the text would ever run; refuse the rest instead of dropping it.
  for (const char* rest = tail; rest != nullptr && rest < sql.data() + sql.size(); ++rest) {
    if (std::isspace(static_cast<unsigned char>(*rest)) == 0 && *rest != ';') {
      sqlite3_finalize(statement);
      return Error::Internal("preparing `" + std::string(sql) + "`: more than one statement");
    }
  }
  return statement;
}

}  // namespace boxoffice::sqlite
