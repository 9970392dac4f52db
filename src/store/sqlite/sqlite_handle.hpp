// Small RAII owners of SQLite's raw handles, so the adapters built on them cannot leak a
// connection or a statement and check every return code in one place.
//
// `Connection` owns one `sqlite3*` and caches its prepared statements (prepared once with
// SQLITE_PREPARE_PERSISTENT, reused for the connection's life). `Statement` owns one
// `sqlite3_stmt*` and binds parameters only; no value is ever spliced into SQL text. A connection
// is used by one thread at a time (it is opened with SQLITE_OPEN_NOMUTEX); the owner serialises.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.hpp"
#include "common/string_map.hpp"

namespace boxoffice::sqlite {

// An `Error` of kind kInternal describing a failed SQLite call: what was attempted, SQLite's
// message and its (extended) result code.
Error MakeError(sqlite3* db, int result_code, std::string_view what);

class Statement {
 public:
  explicit Statement(sqlite3_stmt* statement) : statement_(statement) {}

  // Binds `values` to parameters 1..N in order. Text is bound without a copy: the caller keeps it
  // alive until the statement is reset (see `ResetOnExit`), which also forgets the bindings.
  template <typename... Values>
  Status Bind(const Values&... values) {
    int index = 0;
    Status status;
    static_cast<void>(((status = BindOne(++index, values)).ok() && ...));
    return status;
  }

  // One step: SQLITE_ROW, SQLITE_DONE or an extended error code. Callers that need to tell one
  // constraint from another (the ledger's conflict codes) read the code from here.
  int Step() { return sqlite3_step(statement_.get()); }
  // Steps a statement that returns no rows; anything but SQLITE_DONE is an error.
  Status Run();

  std::string ColumnText(int column) const;
  std::int64_t ColumnInt64(int column) const;

  // Makes the statement reusable and drops the bound values. The return code repeats the last
  // step's error, which the caller has already seen, so it is deliberately not reported twice.
  void Reset();

  sqlite3* Database() const { return sqlite3_db_handle(statement_.get()); }

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
  };

  Status BindOne(int index, std::string_view text);
  Status BindOne(int index, std::int64_t value);

  std::unique_ptr<sqlite3_stmt, Finalizer> statement_;
};

// Resets a cached statement when the scope ends, on every path. An unreset SELECT would keep a
// read transaction open (pinning the WAL against checkpoints), and text bound without a copy
// must not outlive the scope that owns it.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) : statement_(statement) {}
  ~ResetOnExit() { statement_.Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& statement_;
};

class Connection {
 public:
  // `flags` are sqlite3_open_v2's (SQLITE_OPEN_READWRITE, SQLITE_OPEN_CREATE, ...);
  // SQLITE_OPEN_NOMUTEX is always added. Extended result codes are switched on.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, int flags,
                                                  int busy_timeout_ms);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements that take no parameters (pragmas, DDL); rows are discarded.
  Status Exec(const char* sql);
  // Runs one statement that takes no parameters and returns the first column of its first row
  // (e.g. `PRAGMA journal_mode`); an empty string when there is no row.
  Result<std::string> QueryText(std::string_view sql);
  // The cached statement for `sql`, prepared on first use. The pointer stays valid for the
  // connection's life; reset it after use (`ResetOnExit`).
  Result<Statement*> Prepare(std::string_view sql);

  sqlite3* Handle() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  Result<sqlite3_stmt*> PrepareRaw(std::string_view sql, unsigned int flags);

  sqlite3* db_;
  // Destroyed (finalized) in the destructor before `db_` is closed: SQLite refuses to close a
  // connection that still has statements.
  StringMap<Statement> statements_;
};

// Runs one cached write statement with `values` bound. `result_code` receives SQLite's extended
// code so the caller can tell which constraint failed (e.g. SQLITE_CONSTRAINT_PRIMARYKEY).
template <typename... Values>
Status RunWrite(Connection& connection, std::string_view sql, int& result_code,
                const Values&... values) {
  result_code = SQLITE_OK;
  auto statement = connection.Prepare(sql);
  if (!statement.ok()) return std::move(statement).error();
  ResetOnExit reset(**statement);
  if (auto bound = (*statement)->Bind(values...); !bound.ok()) return bound;
  result_code = (*statement)->Step();
  if (result_code == SQLITE_DONE) return {};
  return MakeError(connection.Handle(), result_code, sql);
}

// Runs one cached query with `values` bound and calls `row(statement)` for every row.
template <typename Row, typename... Values>
Status Select(Connection& connection, std::string_view sql, Row&& row, const Values&... values) {
  auto statement = connection.Prepare(sql);
  if (!statement.ok()) return std::move(statement).error();
  ResetOnExit reset(**statement);
  if (auto bound = (*statement)->Bind(values...); !bound.ok()) return bound;
  for (;;) {
    const int result_code = (*statement)->Step();
    if (result_code == SQLITE_DONE) return {};
    if (result_code != SQLITE_ROW) return MakeError(connection.Handle(), result_code, sql);
    row(static_cast<const Statement&>(**statement));
  }
}

}  // namespace boxoffice::sqlite
