// The audit trail: every operator control that changed something (a queue's settings, a new
// event, a refund, the block and allow lists, scanner and operator keys), with the key that did
// it, the time, what it acted on and, where the route knows them cheaply, the state before and
// after. It answers "who paused the queue at 10:02, and what was the rate before?".
//
// A route records the entry after its action succeeded and answers once the entry is durable,
// so a control the operator saw succeed is in the log (a crash between the action's commit and
// the entry's loses the entry; nothing else does). Entries go through the ledger's writer like
// every other durable write (AuditLog, ports/audit_log.hpp), so recording blocks no thread.
// Secrets never go in: an entry names a minted key by its id, never the key.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/metrics.hpp"
#include "common/result.hpp"
#include "operators/operator_keys.hpp"
#include "ports/audit_log.hpp"
#include "ports/clock.hpp"

namespace boxoffice {

// The actions an entry may name, one per kind of control.
namespace audit_action {
inline constexpr std::string_view kQueueUpdate = "queue.update";
inline constexpr std::string_view kEventCreate = "event.create";
inline constexpr std::string_view kOrderRefund = "order.refund";
inline constexpr std::string_view kDefenseBlock = "defense.block";
inline constexpr std::string_view kDefenseUnblock = "defense.unblock";
inline constexpr std::string_view kDefenseAllow = "defense.allow";
inline constexpr std::string_view kDefenseDisallow = "defense.disallow";
inline constexpr std::string_view kScannerKeyCreate = "scanner_key.create";
inline constexpr std::string_view kOperatorKeyCreate = "operator_key.create";
inline constexpr std::string_view kOperatorKeyRevoke = "operator_key.revoke";
}  // namespace audit_action

// A state before or after above this is left out of its entry (and the omission logged): the
// states routes record are a few hundred bytes, so only a bug reaches it, and the log should not
// grow by a megabyte because of one.
inline constexpr std::size_t kAuditStateBytesMax = 16 * 1024;

struct AuditEntry {
  std::string_view action;  // one of audit_action
  std::string target;       // an event id, order id, range or key id
  std::optional<boost::json::object> before;
  std::optional<boost::json::object> after;
};

class AuditTrail {
 public:
  // `log`, `clock` and `metrics` must outlive the trail.
  AuditTrail(AuditLog& log, const Clock& clock, MetricsRegistry& metrics);

  // Appends `entry` as done by `actor`, stamped now; `then` runs once the entry is durable or the
  // write failed (on the ledger's thread). A failure is logged and counted rather than handed
  // on: the control it records has happened, and its caller must hear so.
  void Record(const OperatorIdentity& actor, AuditEntry entry, std::function<void()> then);

  // Up to `limit` entries with an id above `after_id`, oldest first. A synchronous ledger read:
  // call it on a worker, never on an I/O thread.
  Result<AuditPage> Read(std::int64_t after_id, std::size_t limit);

 private:
  AuditLog& log_;
  const Clock& clock_;
  Counter& written_;
  Counter& failed_;
};

}  // namespace boxoffice
