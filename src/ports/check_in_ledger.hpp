// `CheckInLedger`: the door (tickets/check_in.hpp): a ticket checks in exactly once, and the
// per-event scanner keys that may check tickets in. Tickets themselves are the checkout's
// (ports/checkout_ledger.hpp); an adapter of this port keeps both. Follows ports/durable.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "ports/durable.hpp"

namespace boxoffice {

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

class CheckInLedger {
 public:
  virtual ~CheckInLedger() = default;

  // Fails with kUnprocessable "invalid_ticket" when the ticket is unknown, of another event or
  // revoked, and kConflict "already_checked_in" (details.first_checked_in_at_ms) after the first.
  virtual void CheckIn(CheckInRecord record, DurableDone done) = 0;
  // Fails with kConflict "scanner_key_exists" when the id or the hash is taken.
  virtual void InsertScannerKey(ScannerKeyRecord key, DurableDone done) = 0;
  virtual Result<std::optional<ScannerKeyRecord>> FindScannerKey(const std::string& key_hash) = 0;
};

}  // namespace boxoffice
