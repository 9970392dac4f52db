// `AuditLog`: the append-only record of the operator's controls (operators/audit_trail.hpp):
// who changed what, when, and where the route knew them, the state before and after. Entries are
// never changed or removed. Follows ports/durable.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ports/durable.hpp"

namespace boxoffice {

struct AuditRecord {
  // Assigned by the store when it appends: 1 for the first entry, then one more than the newest,
  // so ids follow the order the entries were written in. Ignored by AppendAudit.
  std::int64_t id = 0;
  std::int64_t at_ms = 0;
  std::string actor_key_id;  // "admin" (the operator key) or a minted key's "opk_..."
  std::string actor_scope;   // "operator" or "viewer"
  std::string action;        // "queue.update", "event.create", ...
  std::string target;        // what was acted on: an event id, order id, range or key id
  std::string before_json;   // a JSON object, or "" when the entry has no state before
  std::string after_json;    // a JSON object, or "" when the entry has no state after
};

struct AuditPage {
  std::vector<AuditRecord> entries;  // oldest first
  std::int64_t latest_id = 0;        // the newest entry's id when read; 0 for an empty log
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;

  // Appends `record` under the next id.
  virtual void AppendAudit(AuditRecord record, DurableDone done) = 0;
  // Up to `limit` entries with an id above `after_id`, oldest first, and the newest id.
  virtual Result<AuditPage> LoadAudit(std::int64_t after_id, std::size_t limit) = 0;
};

}  // namespace boxoffice
