// The bot defence in the request path, cheapest check first (DESIGN.md): the CIDR blocklist,
// then GCRA rate limits per client address, network prefix (/24 IPv4, /48 IPv6), session and
// customer, each per route class. Addresses in the configured allowlist (monitoring, load
// balancers, load tests) skip the rate limits but not the blocklist: an operator's explicit block
// always wins. The blocklist changes at run time and is persisted in the ledger.
//
// The default limits, and why they are what they are, are in docs/defense.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.hpp"
#include "common/result.hpp"
#include "defense/gcra.hpp"
#include "ports/clock.hpp"
#include "ports/ledger.hpp"

namespace boxoffice {

inline constexpr std::size_t kBlocklistMax = 1'000;  // entries; each request scans them
inline constexpr std::int64_t kBlockTtlMaxS = 365LL * 24 * 3600;
inline constexpr std::size_t kBlockReasonMaxChars = 500;

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
};

struct BlockEntry {
  std::string cidr;  // canonical text
  std::string reason;
  TimePoint created_at;
  std::optional<TimePoint> expires_at;
};

struct DefenseOptions {
  std::size_t limiter_slots = 1 << 20;  // 24 MiB; see docs/defense.md
  CidrList allowlist;
  bool rate_limits = true;
};

class Defense {
 public:
  Defense(Ledger& ledger, const Clock& clock, DefenseOptions options);

  // Reads the persisted blocklist; entries that expired meanwhile are dropped.
  Status Load();

  // OK, or 403 `blocked`, or 429 `rate_limited` with retry_after_s.
  Status Check(const RequestFacts& facts);

  // 422 invalid_cidr / invalid_block; `done` after the list is durable (ledger thread).
  void Block(std::string_view cidr, std::string reason, std::optional<std::int64_t> ttl_s,
             std::function<void(Result<BlockEntry>)> done);
  // 404 block_not_found when no entry has this range.
  void Unblock(std::string_view cidr, std::function<void(Status)> done);
  std::vector<BlockEntry> Blocks() const;

  const GcraLimiter& limiter() const { return limiter_; }

 private:
  struct ActiveBlock {
    Cidr range;
    BlockEntry entry;
  };
  // Writes the whole list (small and bounded) under the lock, so writes reach the ledger in the
  // order the list changed.
  void PersistLocked(std::function<void(Status)> done);
  std::optional<std::string> BlockedReason(const IpAddress& address, TimePoint now) const;

  Ledger& ledger_;
  const Clock& clock_;
  DefenseOptions options_;
  GcraLimiter limiter_;
  mutable std::shared_mutex blocks_mutex_;
  std::vector<ActiveBlock> blocks_;
};

}  // namespace boxoffice
