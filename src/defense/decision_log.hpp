// The record of recent scored decisions: every request the risk score was computed for (queue
// joins and holds of events under `risk` or `always`), with its features, score and decision,
// kept in a fixed ring of the latest entries (kDecisionLogEntries). The operator reads it with
// `GET /v1/defense/decisions` to answer "why was this fan challenged?", and `boxoffice botsim
// --train` reads it to label the features of its simulated traffic by request id.
//
// The enums of what a route costs (RouteClass) and of what the defence decided (Decision) live
// here too, so that the log and the defence (defense.hpp) share them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.hpp"
#include "defense/risk.hpp"
#include "ports/clock.hpp"

namespace boxoffice {

// What a route costs and so how tightly it is limited.
enum class RouteClass {
  kExempt,         // health, readiness, metrics
  kRead,           // public reads: events, seat maps, the API description
  kSessionCreate,  // new sessions, logins and accounts
  kQueueJoin,
  kQueuePoll,
  kHold,
  kOrder,
  kOperator,  // operator calls; limited so the key cannot be guessed quickly
};
inline constexpr std::size_t kRouteClassCount = 8;

std::string_view RouteClassName(RouteClass route_class);

// Every outcome of Screen(), as counted in /metrics and event stats.
enum class Decision {
  kAllowed,
  kRateLimited,
  kBlocked,
  kChallenged,       // a challenge was needed and none was sent
  kChallengePassed,  // a valid solution was sent and consumed
  kChallengeFailed,  // a solution was sent and refused (details.reason)
  kRiskBlocked,      // the risk score was above the block threshold
};
inline constexpr std::size_t kDecisionCount = 7;
std::string_view DecisionName(Decision decision);

// The decisions the log records: a scored request is let through, challenged, or blocked on its
// score. Rate-limited and blocklisted requests are refused before they are scored.
inline constexpr std::array<Decision, 5> kLoggedDecisions = {
    Decision::kAllowed, Decision::kChallenged, Decision::kChallengePassed,
    Decision::kChallengeFailed, Decision::kRiskBlocked};
// The routes that are scored, and so the only route classes in the log.
inline constexpr std::array<RouteClass, 2> kScoredRouteClasses = {RouteClass::kQueueJoin,
                                                                  RouteClass::kHold};

// Entries the server keeps (~23 MiB of address space, touched only as it fills): at a thousand
// scored requests a second, the last minute; `boxoffice botsim` reads it after each run.
inline constexpr std::size_t kDecisionLogEntries = 65'536;
// Longer values are cut to these lengths (request ids are at most 128 characters anyway).
inline constexpr std::size_t kDecisionRequestIdMaxChars = 128;
inline constexpr std::size_t kDecisionEventIdMaxChars = 40;
inline constexpr std::size_t kDecisionClientMaxChars = 46;  // the longest IPv6 text form, + 1

// One scored request, as recorded and as read back.
struct ScoredDecision {
  std::uint64_t sequence = 0;  // from 1, one more per recorded decision
  TimePoint at;
  RouteClass route_class = RouteClass::kQueueJoin;
  Decision decision = Decision::kAllowed;
  double score = 0;
  RiskFeatures features{};
  std::string request_id;
  std::string event_id;
  std::string client;
};

// What Record() takes: views, copied into the ring.
struct DecisionRecord {
  TimePoint at;
  RouteClass route_class = RouteClass::kQueueJoin;
  Decision decision = Decision::kAllowed;
  double score = 0;
  const RiskFeatures* features = nullptr;
  std::string_view request_id;
  std::string_view event_id;
  std::string_view client;
};

// What a reader looks for: the entries that match every filter set (none set: every entry).
struct DecisionFilter {
  std::optional<Decision> decision;
  std::optional<RouteClass> route_class;
  std::optional<Cidr> client;  // holds the entry's client address
};

// How many scored requests to one event came from one client prefix (an IPv4 /24 or an IPv6
// /48: the network a crowd of bots usually shares), and how many of those were challenged or
// blocked on their score.
struct PrefixCount {
  std::string prefix;  // canonical CIDR, e.g. "203.0.113.0/24"
  std::uint64_t requests = 0;
  std::uint64_t challenged = 0;  // challenged, challenge_passed or challenge_failed
  std::uint64_t blocked = 0;     // risk_blocked
};

// A ring of the latest `capacity` decisions, safe from many threads. Record() copies a few
// hundred bytes under a mutex (the scored path is the queue join and the hold, not every
// request); readers copy pages in short chunks so a long read never holds writers up for long.
class DecisionLog {
 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit DecisionLog(std::size_t capacity = kDecisionLogEntries);
  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // Returns the entry's sequence number.
  std::uint64_t Record(const DecisionRecord& record);

  struct Page {
    std::vector<ScoredDecision> items;  // sequence order, all > `after` (and < `before`)
    std::uint64_t oldest = 0;           // the oldest sequence still held (0: none recorded)
    std::uint64_t latest = 0;           // the newest sequence recorded (0: none)
    // The sequences the read examined, matching or not: [first_scanned, last_scanned], both 0
    // when it examined none. A filtered read that found nothing still moves on by them.
    std::uint64_t first_scanned = 0;
    std::uint64_t last_scanned = 0;
  };
  // Up to `limit` entries matching `filter` with a sequence above `after`, the oldest of them,
  // oldest first. Entries pushed out of the ring are gone: a reader that fell behind sees `items`
  // start above `after + 1`. One read examines at most `capacity()` entries (the whole ring):
  // with a filter that matches little it stops there, at `last_scanned`.
  Page After(std::uint64_t after, std::size_t limit, const DecisionFilter& filter = {}) const;
  // The same from the other end: up to `limit` matching entries with a sequence below `before`
  // and above `after`, the newest of them, still oldest first. Examined from `before - 1` (or the
  // latest) down, at most `capacity()` entries, so `first_scanned` is where an older page starts.
  Page Before(std::uint64_t before, std::uint64_t after, std::size_t limit,
              const DecisionFilter& filter = {}) const;

  // The prefixes with the most entries for `event_id` stamped at `since` or later, most first
  // (then by prefix), at most `limit`. Reads newest first and stops at the first older entry or
  // after the whole ring; entries whose client is not an address are left out.
  std::vector<PrefixCount> TopPrefixes(std::string_view event_id, TimePoint since,
                                       std::size_t limit) const;

  std::size_t capacity() const { return capacity_; }

 private:
  struct Slot;
  static bool Matches(const Slot& slot, const DecisionFilter& filter);
  static void CopyOut(const Slot& slot, ScoredDecision& item);
  std::uint64_t OldestLocked() const;

  std::size_t capacity_;
  std::size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  mutable std::mutex mutex_;
  std::uint64_t latest_ = 0;  // guarded by mutex_
};

}  // namespace boxoffice
