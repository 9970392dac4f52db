// Check-in at the door: a scanned code is verified with the event's public key (a bad
// signature, another event's ticket or a malformed code is 422 invalid_ticket), then recorded
// once in the ledger: the first scan succeeds, every later one is 409 already_checked_in with the
// time of the first, and a revoked (refunded) ticket is 422 invalid_ticket.
//
// Scanner keys let door staff check in without the operator key: one per event, created by the
// operator, shown once, stored as a SHA-256 hash; a scanner key may only check in, and only for
// its event.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "ports/check_in_ledger.hpp"
#include "ports/clock.hpp"
#include "tickets/ticket_code.hpp"

namespace boxoffice {

inline constexpr std::string_view kOperatorScannerId = "operator";

struct IssuedScannerKey {
  std::string id;   // "scn_..."
  std::string key;  // "sk_...", shown once
  std::string event_id;
};

struct CheckedIn {
  TicketClaims ticket;
  TimePoint checked_in_at;
};

class CheckInService {
 public:
  CheckInService(CheckInLedger& ledger, const TicketSigner& signer, const Clock& clock)
      : ledger_(ledger), signer_(signer), clock_(clock) {}

  // Creates a key for `event_id`; `done` runs once it is durable (on the ledger's thread).
  void CreateScannerKey(const std::string& event_id,
                        std::function<void(Result<IssuedScannerKey>)> done);
  // The scanner key's id when `key` is a scanner key of `event_id`: 401 invalid_scanner_key for
  // an unknown key, 403 forbidden for another event's. A synchronous ledger read.
  Result<std::string> AuthenticateScanner(std::string_view key, const std::string& event_id);
  // Verifies `code` for `event_id` and records the check-in; `done` runs once (on the ledger's
  // thread, or at once for a code that does not verify).
  void CheckIn(const std::string& event_id, std::string_view code, std::string scanner_key_id,
               std::function<void(Result<CheckedIn>)> done);

 private:
  CheckInLedger& ledger_;
  const TicketSigner& signer_;
  const Clock& clock_;
};

}  // namespace boxoffice
