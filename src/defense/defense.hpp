// The bot defence in the request path, cheapest check first (DESIGN.md): the CIDR blocklist,
// then GCRA rate limits per client address, network prefix (/24 IPv4, /48 IPv6), session and
// customer, each per route class. Addresses in the allowlist (monitoring, load balancers, load
// tests) skip the rate limits but not the blocklist: an operator's explicit block always wins.
// The allowlist is the static one of the configuration merged with the operator's runtime
// entries. Both operator lists change at run time and are persisted in the ledger.
//
// After the lists and limits, the risk score (risk.hpp) and the proof-of-work challenge
// (challenge.hpp) guard the routes an event's `defense.challenge` setting covers (queue joins
// and holds): Screen() runs the whole chain and says what it decided and why, and keeps every
// scored decision in a bounded log (decision_log.hpp) an operator can read back.
//
// The default limits, and why they are what they are, are in docs/defense.md.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.hpp"
#include "common/result.hpp"
#include "common/string_map.hpp"
#include "defense/challenge.hpp"
#include "defense/decision_log.hpp"
#include "defense/gcra.hpp"
#include "defense/risk.hpp"
#include "ports/clock.hpp"
#include "ports/defense_list_store.hpp"

namespace boxoffice {

inline constexpr std::size_t kBlocklistMax = 1'000;  // entries; each request scans them
inline constexpr std::int64_t kBlockTtlMaxS = 365LL * 24 * 3600;
inline constexpr std::size_t kBlockReasonMaxChars = 500;

// A zero `per_s` means "no limit on this key".
struct RouteLimits {
  GcraRate per_address;
  GcraRate per_prefix;
  GcraRate per_session;  // also applied per customer when the session is logged in
};

// The defaults of docs/defense.md.
RouteLimits DefaultLimits(RouteClass route_class);

struct RequestFacts {
  RouteClass route_class = RouteClass::kRead;
  std::string_view client_address;
  std::string_view session_id;   // empty when the request carries no valid session
  std::string_view customer_id;  // empty for guests
  // For the decision log (decision_log.hpp) of scored requests; empty when not known.
  std::string_view request_id = {};
  std::string_view event_id = {};
};

// One entry of an operator-managed list (the blocklist or the runtime allowlist).
struct CidrEntry {
  std::string cidr;  // canonical text
  std::string reason;
  TimePoint created_at;
  std::optional<TimePoint> expires_at;
};
using BlockEntry = CidrEntry;

// The words an operator list uses in its error codes and as its name in the store.
struct CidrListNames {
  std::string_view entry;  // "block": invalid_block, block_not_found
  std::string_view list;   // "blocklist": blocklist_full; the DefenseListStore's list
};

// An operator-managed list of CIDR ranges with optional expiry, at most kBlocklistMax entries,
// persisted whole through the DefenseListStore port at every change (it is small and bounded).
class ManagedCidrList {
 public:
  ManagedCidrList(DefenseListStore& store, const Clock& clock, CidrListNames names);

  // Reads the persisted list; entries that expired meanwhile are dropped.
  Status Load();
  // 422 invalid_cidr / invalid_<entry> / <list>_full; `done` after the list is durable.
  void Add(std::string_view cidr, std::string reason, std::optional<std::int64_t> ttl_s,
           std::function<void(Result<CidrEntry>)> done);
  // 404 <entry>_not_found when no entry has this range.
  void Remove(std::string_view cidr, std::function<void(Status)> done);
  std::vector<CidrEntry> Entries() const;
  // The reason of the first live entry holding `address`.
  std::optional<std::string> Match(const IpAddress& address, TimePoint now) const;

 private:
  struct Active {
    Cidr range;
    CidrEntry entry;
  };
  // Writes the whole list under the lock, so writes reach the ledger in the order it changed.
  void PersistLocked(std::function<void(Status)> done);

  DefenseListStore& store_;
  const Clock& clock_;
  CidrListNames names_;
  mutable std::shared_mutex mutex_;
  std::vector<Active> entries_;
};

struct DefenseOptions {
  std::size_t limiter_slots = 1 << 20;  // 24 MiB; see docs/defense.md
  CidrList allowlist;
  bool rate_limits = true;
  // Key the challenge signatures, newest first (the first signs); empty: a random key
  // (challenges die with the process).
  std::vector<std::string> secrets = {};
  RiskModel risk_model = RiskModel::Default();
  ChallengeOptions challenge = {};
  // Entries of the log of scored decisions (GET /v1/defense/decisions).
  std::size_t decision_log_entries = kDecisionLogEntries;
};

// How a route is gated beyond lists and limits: not at all (kNone), or by the event's
// `defense.challenge` setting.
enum class ChallengePolicy { kNone, kRisk, kAlways, kOff };

struct Verdict {
  Decision decision = Decision::kAllowed;
  Status status;       // the error to answer with when the request is refused
  std::string reason;  // why, for the log; empty for a plain allow
  double risk = 0;     // the score, when one was computed
};

using DecisionCounts = std::array<std::uint64_t, kDecisionCount>;

class Defense {
 public:
  Defense(DefenseListStore& lists, const Clock& clock, DefenseOptions options);

  // Reads the persisted blocklist and runtime allowlist; expired entries are dropped.
  Status Load();

  // OK, or 403 `blocked`, or 429 `rate_limited` with retry_after_s.
  Status Check(const RequestFacts& facts);

  // The whole chain: lists, limits, then for a gated route (policy other than kNone) the risk
  // score and the challenge. A challenge is needed under kAlways, or under kRisk when the score
  // reaches the model's challenge threshold; then `altcha` (the X-Altcha header) must be a valid
  // solution, or the answer is 403 `challenge_required` with `details.challenge` (and
  // `details.reason` when a solution was refused). A score at the block threshold is 403
  // `blocked` under every policy. Allowlisted clients skip the score and a kRisk challenge; an
  // event set to `always` challenges them too.
  Verdict Screen(const RequestFacts& facts, const RequestSignals& signals, ChallengePolicy policy,
                 std::optional<std::string_view> altcha);

  // GET /v1/challenge: a challenge whose difficulty follows the request headers' risk and load.
  Challenge IssueChallenge(const RequestSignals& signals);
  // The same in ALTCHA's v2 format (GET /v1/challenge?format=2).
  ChallengeV2 IssueChallengeV2(const RequestSignals& signals);
  // POST /v1/telemetry: the page's behaviour counts for the session.
  void RecordTelemetry(std::string_view session_id, const Telemetry& telemetry);

  // Per-event decision counts for GET /v1/events/{id}/stats. The caller counts only events that
  // exist, which bounds the table by the catalog.
  void CountEventDecision(std::string_view event_id, Decision decision);
  DecisionCounts EventDecisions(std::string_view event_id) const;

  const RiskModel& risk_model() const { return options_.risk_model; }
  ProofOfWork& proof_of_work() { return proof_of_work_; }

  // 422 invalid_cidr / invalid_block; `done` after the list is durable (ledger thread).
  void Block(std::string_view cidr, std::string reason, std::optional<std::int64_t> ttl_s,
             std::function<void(Result<BlockEntry>)> done);
  // 404 block_not_found when no entry has this range.
  void Unblock(std::string_view cidr, std::function<void(Status)> done);
  std::vector<BlockEntry> Blocks() const;

  // The runtime allowlist, merged with the static `DefenseOptions::allowlist`: the same rules
  // and error codes as the blocklist (invalid_allow, allowlist_full, allow_not_found).
  void Allow(std::string_view cidr, std::string reason, std::optional<std::int64_t> ttl_s,
             std::function<void(Result<CidrEntry>)> done);
  void Disallow(std::string_view cidr, std::function<void(Status)> done);
  std::vector<CidrEntry> Allows() const;
  const CidrList& static_allowlist() const { return options_.allowlist; }

  const GcraLimiter& limiter() const { return limiter_; }
  // The latest scored decisions: every request Screen() computed a risk score for.
  const DecisionLog& decision_log() const { return decision_log_; }
  // The clock the decisions are stamped with, for readers that ask for the last minute of them.
  const Clock& clock() const { return clock_; }

 private:
  // The risk score of the request headers alone, as GET /v1/challenge sees them.
  double HeaderRisk(const RequestSignals& signals) const;
  // How much of their burst the client's address and prefix have used on this route class.
  struct LimitFill {
    double address = 0;
    double prefix = 0;
  };
  // Lists and limits; `allowlisted` tells whether the client is on either allowlist.
  Status Limit(const RequestFacts& facts, const std::optional<IpAddress>& address, TimePoint now,
               bool& allowlisted, LimitFill& fill);

  const Clock& clock_;
  DefenseOptions options_;
  GcraLimiter limiter_;
  ManagedCidrList blocks_;
  ManagedCidrList allows_;
  RiskTracker risk_tracker_;
  ProofOfWork proof_of_work_;
  DecisionLog decision_log_;
  using AtomicCounts = std::array<std::atomic<std::uint64_t>, kDecisionCount>;
  mutable std::shared_mutex event_counts_mutex_;
  StringMap<std::unique_ptr<AtomicCounts>> event_counts_;
};

}  // namespace boxoffice
