// `HoldJournal`: every seat hold is written here before it is acknowledged and ended here when it
// ends, so that after a crash the live holds are restored (inventory/hold_service.hpp). Follows
// ports/durable.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ports/durable.hpp"

namespace boxoffice {

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

class HoldJournal {
 public:
  virtual ~HoldJournal() = default;

  // Journals a new hold. Fails with kConflict "hold_exists" when the id is taken.
  virtual void InsertHold(HoldRecord hold, DurableDone done) = 0;
  // Marks a hold ended with `reason` ("released", "expired", ...) at `ended_at_ms`. Ending a hold
  // twice keeps the first end and succeeds; an unknown id fails with kNotFound "hold_not_found".
  virtual void EndHold(std::string hold_id, std::string reason, std::int64_t ended_at_ms,
                       DurableDone done) = 0;
  // Every hold not yet ended (expired or not: the caller decides), in the order they were
  // journaled.
  virtual Result<std::vector<HoldRecord>> LoadLiveHolds() = 0;
  // Blocks until every write queued before the call is durable and its `done` has run.
  virtual void Flush() = 0;
};

}  // namespace boxoffice
