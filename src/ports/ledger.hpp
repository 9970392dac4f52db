// The `Ledger`: the durable truth of the embedded deployment, every ledger port in one store
// (DESIGN.md, "State and where it lives"): events, customers, settings, the defence lists, the
// hold journal, the checkout, the door, and the operator's minted keys and audit log. The SQLite
// adapter (store/sqlite/) and the in-memory adapter of the tests (store/memory/) implement all of
// it; the domain only ever sees the one port it owns, so another adapter (PostgreSQL) can
// implement the ports one by one.
#pragma once

#include "common/error.hpp"
#include "ports/audit_log.hpp"
#include "ports/check_in_ledger.hpp"
#include "ports/checkout_ledger.hpp"
#include "ports/customer_store.hpp"
#include "ports/defense_list_store.hpp"
#include "ports/durable.hpp"
#include "ports/event_store.hpp"
#include "ports/hold_journal.hpp"
#include "ports/operator_key_store.hpp"
#include "ports/settings_store.hpp"

namespace boxoffice {

class Ledger : public EventStore,
               public CustomerStore,
               public SettingsStore,
               public DefenseListStore,
               public HoldJournal,
               public CheckoutLedger,
               public CheckInLedger,
               public OperatorKeyStore,
               public AuditLog {
 public:
  using Done = DurableDone;

  ~Ledger() override = default;

  // Blocks until every write queued before the call is durable and its `done` has run (one
  // flush for every part).
  void Flush() override = 0;
};

// What every adapter answers a write handed to it after Close() began: 503 ledger_closed, retry
// in a second (another node, or this one restarted, will take it).
inline Error LedgerClosedError() {
  Error error =
      Error::Make(ErrorKind::kUnavailable, "ledger_closed", "The ledger is shutting down.");
  error.retry_after_s = 1;
  return error;
}

}  // namespace boxoffice
