#include "operators/audit_trail.hpp"

#include <utility>

#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/time.hpp"

namespace boxoffice {
namespace {

constexpr std::string_view kEntriesMetric = "boxoffice_audit_entries_total";
constexpr std::string_view kEntriesHelp =
    "Audit log entries of operator controls, by outcome (failed: the control happened, its entry "
    "was lost).";

// The state as stored: its JSON, or "" when there is none or it is too large to keep.
std::string StateJson(const std::optional<boost::json::object>& state, std::string_view action,
                      std::string_view which) {
  if (!state) return {};
  std::string text = SerializeJson(*state);
  if (text.size() > kAuditStateBytesMax) {
    LogWarn("audit state left out: too large",
            {{"action", action}, {"state", which}, {"bytes", text.size()}});
    return {};
  }
  return text;
}

}  // namespace

AuditTrail::AuditTrail(AuditLog& log, const Clock& clock, MetricsRegistry& metrics)
    : log_(log),
      clock_(clock),
      written_(metrics.GetCounter(kEntriesMetric, kEntriesHelp, {{"outcome", "written"}})),
      failed_(metrics.GetCounter(kEntriesMetric, kEntriesHelp, {{"outcome", "failed"}})) {}

void AuditTrail::Record(const OperatorIdentity& actor, AuditEntry entry,
                        std::function<void()> then) {
  AuditRecord record;
  record.at_ms = ToUnixMillis(clock_.Now());
  record.actor_key_id = actor.key_id;
  record.actor_scope = std::string(OperatorScopeName(actor.scope));
  record.action = std::string(entry.action);
  record.target = std::move(entry.target);
  record.before_json = StateJson(entry.before, entry.action, "before");
  record.after_json = StateJson(entry.after, entry.action, "after");
  // Kept for the log line of a failure: the record itself moves into the store.
  boost::json::object facts{
      {"action", record.action}, {"target", record.target}, {"key_id", record.actor_key_id}};
  log_.AppendAudit(std::move(record), [this, facts = std::move(facts),
                                       then = std::move(then)](Status written) mutable {
    if (written) {
      written_.Inc();
    } else {
      failed_.Inc();
      facts["error"] = written.error().message;
      LogError("audit entry lost: the control happened but its entry was not written",
               std::move(facts));
    }
    if (then) then();
  });
}

Result<AuditPage> AuditTrail::Read(std::int64_t after_id, std::size_t limit) {
  return log_.LoadAudit(after_id, limit);
}

}  // namespace boxoffice
