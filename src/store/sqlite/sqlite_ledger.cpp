#include "store/sqlite/sqlite_ledger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <string_view>
#include <utility>

#include "common/check.hpp"
#include "common/failpoint.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_handle.hpp"

namespace boxoffice {
namespace {

// A group is one transaction held open while its requests run; beyond this the latency of the
// first request in the group grows with no gain in fsyncs saved.
constexpr std::size_t kMaxBatchLimit = 65'536;

// Every savepoint has the same name: requests run one after another, never nested.
constexpr std::string_view kBegin = "BEGIN IMMEDIATE";
constexpr std::string_view kCommit = "COMMIT";
constexpr std::string_view kRollback = "ROLLBACK";
constexpr std::string_view kSavepoint = "SAVEPOINT request";
constexpr std::string_view kRelease = "RELEASE request";
constexpr std::string_view kRollbackTo = "ROLLBACK TO request";

// The single writer makes MAX(seq) + 1 race-free; the UNIQUE index on seq keeps it cheap.
constexpr std::string_view kInsertEvent =
    "INSERT INTO events (id, seq, name, created_at_ms, definition_json) "
    "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ? FROM events";
constexpr std::string_view kInsertCustomer =
    "INSERT INTO customers (id, email, password_hash, created_at_ms) VALUES (?, ?, ?, ?)";
constexpr std::string_view kPutSetting =
    "INSERT INTO settings (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
constexpr std::string_view kLoadEvents =
    "SELECT id, name, created_at_ms, definition_json FROM events ORDER BY seq";
constexpr std::string_view kFindCustomerByEmail =
    "SELECT id, email, password_hash, created_at_ms FROM customers WHERE email = ?";
constexpr std::string_view kGetSetting = "SELECT value FROM settings WHERE key = ?";
constexpr std::string_view kInsertHold =
    "INSERT INTO holds (id, seq, event_id, session_id, customer_id, seats_json, total_cents, "
    "created_at_ms, expires_at_ms) "
    "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ? FROM holds";
// Only the first end counts: a later one (an expiry racing a release) changes nothing.
constexpr std::string_view kEndHold =
    "UPDATE holds SET ended_at_ms = ?, end_reason = ? WHERE id = ? AND ended_at_ms IS NULL";
constexpr std::string_view kHoldExists = "SELECT COUNT(*) FROM holds WHERE id = ?";
constexpr std::string_view kLoadLiveHolds =
    "SELECT id, event_id, session_id, customer_id, seats_json, total_cents, created_at_ms, "
    "expires_at_ms FROM holds WHERE ended_at_ms IS NULL ORDER BY seq";

Error OverloadedError() {
  Error error = Error::Make(ErrorKind::kUnavailable, "ledger_overloaded",
                            "Too many writes are waiting for the ledger.");
  error.retry_after_s = 1;
  return error;
}

std::string UtcNowIso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  const std::size_t size = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return std::string(text, size);
}

Status RunCached(sqlite::Connection& connection, std::string_view sql) {
  auto statement = connection.Prepare(sql);
  if (!statement.ok()) return std::move(statement).error();
  sqlite::ResetOnExit reset(**statement);
  return (*statement)->Run();
}

Result<std::unique_ptr<sqlite::Connection>> OpenReader(const SqliteLedgerOptions& options) {
  auto reader =
      sqlite::Connection::Open(options.path, SQLITE_OPEN_READWRITE, options.busy_timeout_ms);
  if (!reader.ok()) return reader;
  if (auto query_only = (*reader)->Exec("PRAGMA query_only=ON"); !query_only.ok()) {
    return std::move(query_only).error();
  }
  return reader;
}

}  // namespace

Result<std::unique_ptr<SqliteLedger>> SqliteLedger::Open(SqliteLedgerOptions options) {
  if (options.path.empty() || options.max_batch == 0 || options.max_batch > kMaxBatchLimit ||
      options.queue_max == 0 || options.readers_max == 0 || options.busy_timeout_ms < 0) {
    return Error::Make(ErrorKind::kInternal, "ledger_bad_options",
                       "The ledger needs a path, 1 to " + std::to_string(kMaxBatchLimit) +
                           " writes per batch, a positive queue and reader limit and a "
                           "non-negative busy timeout.");
  }
  auto writer = sqlite::Connection::Open(options.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                         options.busy_timeout_ms);
  if (!writer.ok()) return std::move(writer).error();
  sqlite::Connection& write_connection = **writer;

  // WAL lets readers run beside the writer and turns each commit into one append and one fsync.
  auto journal_mode = write_connection.QueryText("PRAGMA journal_mode=WAL");
  if (!journal_mode.ok()) return std::move(journal_mode).error();
  if (*journal_mode != "wal") {
    return Error::Internal("the ledger at " + options.path + " cannot use WAL (journal_mode is " +
                           *journal_mode + ")");
  }
  // FULL fsyncs the WAL at every commit: a `done` then means the write survives a power cut, not
  // only a crash of the process.
  for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto set = write_connection.Exec(pragma); !set.ok()) return std::move(set).error();
  }
  if (auto migrated =
          sqlite::ApplyMigrations(write_connection, sqlite::LedgerMigrations(), UtcNowIso8601());
      !migrated.ok()) {
    return std::move(migrated).error();
  }
  // One reader up front, so a file that cannot be read fails here rather than on the first read.
  auto reader = OpenReader(options);
  if (!reader.ok()) return std::move(reader).error();

  return std::unique_ptr<SqliteLedger>(
      new SqliteLedger(std::move(options), std::move(writer).value(), std::move(reader).value()));
}

SqliteLedger::SqliteLedger(SqliteLedgerOptions options, std::unique_ptr<sqlite::Connection> writer,
                           std::unique_ptr<sqlite::Connection> first_reader)
    : options_(std::move(options)), write_connection_(std::move(writer)) {
  idle_readers_.push_back(std::move(first_reader));
  readers_open_ = 1;
  writer_ = std::thread([this] { WriterLoop(); });
}

SqliteLedger::~SqliteLedger() {
  {
    std::lock_guard lock(queue_mutex_);
    closing_.store(true, std::memory_order_release);
  }
  work_ready_.notify_one();
  BOXOFFICE_CHECK(std::this_thread::get_id() != writer_.get_id(),
                  "the ledger is not destroyed inside one of its own dones");
  writer_.join();
}

void SqliteLedger::InsertEvent(EventRecord event, Done done) {
  Submit(WriteRequest{std::move(event), std::move(done), std::nullopt});
}

void SqliteLedger::InsertCustomer(CustomerRecord customer, Done done) {
  Submit(WriteRequest{std::move(customer), std::move(done), std::nullopt});
}

void SqliteLedger::PutSetting(std::string key, std::string value, Done done) {
  Submit(
      WriteRequest{SettingWrite{std::move(key), std::move(value)}, std::move(done), std::nullopt});
}

void SqliteLedger::InsertHold(HoldRecord hold, Done done) {
  Submit(WriteRequest{std::move(hold), std::move(done), std::nullopt});
}

void SqliteLedger::EndHold(std::string hold_id, std::string reason, std::int64_t ended_at_ms,
                           Done done) {
  Submit(WriteRequest{HoldEnd{std::move(hold_id), std::move(reason), ended_at_ms}, std::move(done),
                      std::nullopt});
}

void SqliteLedger::Submit(WriteRequest request) {
  std::unique_lock lock(queue_mutex_);
  if (writer_exited_) {
    // Only a caller racing the destructor from another thread gets here; no thread is left to
    // complete the write on, so it completes on the caller's stack as the lesser evil.
    lock.unlock();
    if (request.done) request.done(LedgerClosedError());
    return;
  }
  // A refused write still travels through the queue, so its `done` runs on the writer thread
  // (never on the caller's stack, as the port promises) and in order for Flush.
  if (closing_.load(std::memory_order_relaxed)) {
    request.refusal = LedgerClosedError();
  } else if (queued_writes_ >= options_.queue_max) {
    request.refusal = OverloadedError();
  }
  if (request.refusal) {
    request.payload = std::monostate{};
  } else {
    ++queued_writes_;
  }
  queue_.push_back(std::move(request));
  ++submitted_count_;
  lock.unlock();
  work_ready_.notify_one();
}

void SqliteLedger::WriterLoop() {
  std::vector<WriteRequest> group;
  group.reserve(options_.max_batch);
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      work_ready_.wait(
          lock, [this] { return !queue_.empty() || closing_.load(std::memory_order_relaxed); });
      // Closing and nothing left: every write queued before the shutdown has completed.
      if (queue_.empty()) {
        writer_exited_ = true;
        return;
      }
      const std::size_t take = std::min(queue_.size(), options_.max_batch);
      for (std::size_t i = 0; i < take; ++i) {
        if (!queue_.front().refusal) --queued_writes_;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<Status> statuses = CommitGroup(group);
    BOXOFFICE_CHECK(statuses.size() == group.size(), "a group commit has a status per write");
    BOXOFFICE_FAILPOINT("ledger.commit.after");
    // Only now, after COMMIT returned, may anyone learn that a write happened.
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (group[i].done) group[i].done(std::move(statuses[i]));
    }
    {
      std::lock_guard lock(queue_mutex_);
      completed_count_ += group.size();
    }
    completed_.notify_all();
    group.clear();
  }
}

std::vector<Status> SqliteLedger::CommitGroup(const std::vector<WriteRequest>& group) {
  std::vector<Status> statuses(group.size());
  bool any_write = false;
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (group[i].refusal) {
      statuses[i] = *group[i].refusal;
    } else {
      any_write = true;
    }
  }
  if (!any_write) return statuses;

  sqlite::Connection& connection = *write_connection_;
  // Fails every write of the group (nothing of it is committed) and hands the statuses back.
  auto fail_group = [&](const Error& cause) -> std::vector<Status> {
    spdlog::error("ledger: a group of {} writes failed: {}", group.size(), cause.message);
    if (sqlite3_get_autocommit(connection.Handle()) == 0) {
      if (auto rolled_back = RunCached(connection, kRollback); !rolled_back.ok()) {
        spdlog::error("ledger: rolling back the failed group: {}", rolled_back.error().message);
      }
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (!group[i].refusal) statuses[i] = Error::Internal("ledger write failed: " + cause.message);
    }
    return std::move(statuses);
  };

  if (auto begun = RunCached(connection, kBegin); !begun.ok()) return fail_group(begun.error());
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (group[i].refusal) continue;
    if (auto marked = RunCached(connection, kSavepoint); !marked.ok()) {
      return fail_group(marked.error());
    }
    Status applied = Apply(group[i]);
    if (applied.ok()) {
      if (auto released = RunCached(connection, kRelease); !released.ok()) {
        return fail_group(released.error());
      }
      continue;
    }
    // Some errors (disk full, I/O) make SQLite roll back the whole transaction by itself; then
    // the requests before this one are lost too and must not be reported as written.
    if (sqlite3_get_autocommit(connection.Handle()) != 0) return fail_group(applied.error());
    statuses[i] = std::move(applied);
    if (auto undone = RunCached(connection, kRollbackTo); !undone.ok()) {
      return fail_group(undone.error());
    }
    if (auto released = RunCached(connection, kRelease); !released.ok()) {
      return fail_group(released.error());
    }
  }
  BOXOFFICE_FAILPOINT("ledger.commit.before");
#ifdef BOXOFFICE_FAILPOINTS
  // The same moment, counted only for groups that confirm an order: the write a fan is most
  // surely told about, so a crash test can aim at it.
  if (std::any_of(group.begin(), group.end(), [](const WriteRequest& request) {
        return std::holds_alternative<ConfirmOrderRecord>(request.payload);
      })) {
    BOXOFFICE_FAILPOINT("ledger.commit.before_order");
  }
#endif
  if (auto committed = RunCached(connection, kCommit); !committed.ok()) {
    return fail_group(committed.error());
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
  return statuses;
}

Status SqliteLedger::Apply(const WriteRequest& request) {
  sqlite::Connection& connection = *write_connection_;
  int result_code = SQLITE_OK;
  if (const auto* event = std::get_if<EventRecord>(&request.payload)) {
    Status status = sqlite::RunWrite(connection, kInsertEvent, result_code, event->id, event->name,
                                     event->created_at_ms, event->definition_json);
    if (result_code == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Error::Make(ErrorKind::kConflict, "event_exists",
                         "An event with id " + event->id + " already exists.");
    }
    return status;
  }
  if (const auto* customer = std::get_if<CustomerRecord>(&request.payload)) {
    Status status =
        sqlite::RunWrite(connection, kInsertCustomer, result_code, customer->id, customer->email,
                         customer->password_hash, customer->created_at_ms);
    // The primary key is the id; the only other unique constraint on customers is the email.
    if (result_code == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Error::Make(ErrorKind::kConflict, "customer_exists",
                         "A customer with id " + customer->id + " already exists.");
    }
    if (result_code == SQLITE_CONSTRAINT_UNIQUE) {
      return Error::Make(ErrorKind::kConflict, "email_taken",
                         "An account with this email already exists.");
    }
    return status;
  }
  if (const auto* setting = std::get_if<SettingWrite>(&request.payload)) {
    return sqlite::RunWrite(connection, kPutSetting, result_code, setting->key, setting->value);
  }
  if (const auto* hold = std::get_if<HoldRecord>(&request.payload)) {
    Status status = sqlite::RunWrite(connection, kInsertHold, result_code, hold->id, hold->event_id,
                                     hold->session_id, hold->customer_id, hold->seats_json,
                                     hold->total_cents, hold->created_at_ms, hold->expires_at_ms);
    if (result_code == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Error::Make(ErrorKind::kConflict, "hold_exists",
                         "A hold with id " + hold->id + " already exists.");
    }
    return status;
  }
  if (const auto* end = std::get_if<HoldEnd>(&request.payload)) {
    Status status = sqlite::RunWrite(connection, kEndHold, result_code, end->ended_at_ms,
                                     end->reason, end->hold_id);
    if (!status.ok()) return status;
    if (sqlite3_changes(connection.Handle()) > 0) return {};
    // Nothing changed: either the hold ended before (fine) or it never existed.
    auto statement = connection.Prepare(kHoldExists);
    if (!statement.ok()) return std::move(statement).error();
    sqlite::ResetOnExit reset(**statement);
    if (auto bound = (*statement)->Bind(end->hold_id); !bound.ok()) return bound;
    const int step = (*statement)->Step();
    if (step != SQLITE_ROW) return sqlite::MakeError(connection.Handle(), step, kHoldExists);
    if ((*statement)->ColumnInt64(0) > 0) return {};
    return Error::Make(ErrorKind::kNotFound, "hold_not_found", "No hold has this id.",
                       {{"hold_id", end->hold_id}});
  }
  if (std::optional<Status> applied = ApplyOperators(request)) return std::move(*applied);
  return ApplyCheckout(request);
}

void SqliteLedger::Flush() {
  BOXOFFICE_CHECK(std::this_thread::get_id() != writer_.get_id(),
                  "Flush is not called inside one of the ledger's own dones");
  std::unique_lock lock(queue_mutex_);
  const std::uint64_t target = submitted_count_;
  completed_.wait(lock, [&] { return completed_count_ >= target; });
}

Result<std::unique_ptr<sqlite::Connection>> SqliteLedger::AcquireReader() {
  std::unique_lock lock(readers_mutex_);
  reader_returned_.wait(
      lock, [this] { return !idle_readers_.empty() || readers_open_ < options_.readers_max; });
  if (!idle_readers_.empty()) {
    std::unique_ptr<sqlite::Connection> reader = std::move(idle_readers_.back());
    idle_readers_.pop_back();
    return reader;
  }
  ++readers_open_;
  lock.unlock();
  auto opened = OpenReader(options_);
  if (!opened.ok()) {
    lock.lock();
    --readers_open_;
    lock.unlock();
    reader_returned_.notify_one();
  }
  return opened;
}

void SqliteLedger::ReleaseReader(std::unique_ptr<sqlite::Connection> reader) {
  {
    std::lock_guard lock(readers_mutex_);
    idle_readers_.push_back(std::move(reader));
  }
  reader_returned_.notify_one();
}

Result<std::vector<EventRecord>> SqliteLedger::LoadEvents() {
  return WithReader([](sqlite::Connection& connection) -> Result<std::vector<EventRecord>> {
    auto statement = connection.Prepare(kLoadEvents);
    if (!statement.ok()) return std::move(statement).error();
    sqlite::ResetOnExit reset(**statement);
    std::vector<EventRecord> events;
    for (;;) {
      const int result_code = (*statement)->Step();
      if (result_code == SQLITE_DONE) return events;
      if (result_code != SQLITE_ROW) {
        return sqlite::MakeError(connection.Handle(), result_code, "loading events");
      }
      const sqlite::Statement& row = **statement;
      events.push_back(
          EventRecord{row.ColumnText(0), row.ColumnText(1), row.ColumnInt64(2), row.ColumnText(3)});
    }
  });
}

Result<std::optional<CustomerRecord>> SqliteLedger::FindCustomerByEmail(const std::string& email) {
  return WithReader(
      [&email](sqlite::Connection& connection) -> Result<std::optional<CustomerRecord>> {
        auto statement = connection.Prepare(kFindCustomerByEmail);
        if (!statement.ok()) return std::move(statement).error();
        sqlite::ResetOnExit reset(**statement);
        if (auto bound = (*statement)->Bind(email); !bound.ok()) return std::move(bound).error();
        const int result_code = (*statement)->Step();
        if (result_code == SQLITE_DONE) return std::optional<CustomerRecord>();
        if (result_code != SQLITE_ROW) {
          return sqlite::MakeError(connection.Handle(), result_code, "finding a customer");
        }
        const sqlite::Statement& row = **statement;
        return std::optional<CustomerRecord>(CustomerRecord{row.ColumnText(0), row.ColumnText(1),
                                                            row.ColumnText(2), row.ColumnInt64(3)});
      });
}

Result<std::optional<std::string>> SqliteLedger::GetSetting(const std::string& key) {
  return WithReader([&key](sqlite::Connection& connection) -> Result<std::optional<std::string>> {
    auto statement = connection.Prepare(kGetSetting);
    if (!statement.ok()) return std::move(statement).error();
    sqlite::ResetOnExit reset(**statement);
    if (auto bound = (*statement)->Bind(key); !bound.ok()) return std::move(bound).error();
    const int result_code = (*statement)->Step();
    if (result_code == SQLITE_DONE) return std::optional<std::string>();
    if (result_code != SQLITE_ROW) {
      return sqlite::MakeError(connection.Handle(), result_code, "reading a setting");
    }
    return std::optional<std::string>((*statement)->ColumnText(0));
  });
}

}  // namespace boxoffice

namespace boxoffice {

Result<std::vector<HoldRecord>> SqliteLedger::LoadLiveHolds() {
  return WithReader([](sqlite::Connection& connection) -> Result<std::vector<HoldRecord>> {
    auto statement = connection.Prepare(kLoadLiveHolds);
    if (!statement.ok()) return std::move(statement).error();
    sqlite::ResetOnExit reset(**statement);
    std::vector<HoldRecord> holds;
    for (;;) {
      const int result_code = (*statement)->Step();
      if (result_code == SQLITE_DONE) return holds;
      if (result_code != SQLITE_ROW) {
        return sqlite::MakeError(connection.Handle(), result_code, "loading live holds");
      }
      const sqlite::Statement& row = **statement;
      holds.push_back(HoldRecord{row.ColumnText(0), row.ColumnText(1), row.ColumnText(2),
                                 row.ColumnText(3), row.ColumnText(4), row.ColumnInt64(5),
                                 row.ColumnInt64(6), row.ColumnInt64(7)});
    }
  });
}

}  // namespace boxoffice
