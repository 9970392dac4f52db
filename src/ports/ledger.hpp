// The `Ledger` port: the durable truth of boxoffice (events, customers, and in later issues
// orders, tickets, idempotency keys, the outbox and the hold journal).
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

  // Blocks until every write queued before the call is durable and its `done` has run.
  virtual void Flush() = 0;
};

}  // namespace boxoffice
