#include "defense/defense.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <mutex>

#include "common/crypto.hpp"
#include "common/time.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;

// The network prefix an address belongs to: /24 for IPv4, /48 for IPv6 (a typical end site).
// A view into the address's bytes.
std::string_view PrefixKey(const IpAddress& address) {
  const auto& bytes = address.bytes();
  const std::size_t keep = address.IsV4() ? 15 : 6;  // IPv4 is mapped into bytes 12..15
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), keep);
}

std::string_view AddressKey(const IpAddress& address) {
  return std::string_view(reinterpret_cast<const char*>(address.bytes().data()),
                          address.bytes().size());
}

std::int64_t RetryAfterSeconds(std::chrono::nanoseconds wait) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait.count() / 1e9)));
}

}  // namespace

std::string_view DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kAllowed:
      return "allowed";
    case Decision::kRateLimited:
      return "rate_limited";
    case Decision::kBlocked:
      return "blocked";
    case Decision::kChallenged:
      return "challenged";
    case Decision::kChallengePassed:
      return "challenge_passed";
    case Decision::kChallengeFailed:
      return "challenge_failed";
    case Decision::kRiskBlocked:
      return "risk_blocked";
  }
  return "allowed";
}

std::string_view RouteClassName(RouteClass route_class) {
  switch (route_class) {
    case RouteClass::kExempt:
      return "exempt";
    case RouteClass::kRead:
      return "read";
    case RouteClass::kSessionCreate:
      return "session_create";
    case RouteClass::kQueueJoin:
      return "queue_join";
    case RouteClass::kQueuePoll:
      return "queue_poll";
    case RouteClass::kHold:
      return "hold";
    case RouteClass::kOrder:
      return "order";
    case RouteClass::kOperator:
      return "operator";
  }
  return "read";
}

RouteLimits DefaultLimits(RouteClass route_class) {
  // {per_s, burst} per address, per prefix, per session. docs/defense.md explains each.
  switch (route_class) {
    case RouteClass::kExempt:
      return {{0, 0}, {0, 0}, {0, 0}};
    case RouteClass::kRead:
      return {{50, 200}, {200, 800}, {10, 40}};
    case RouteClass::kSessionCreate:
      return {{1, 20}, {4, 60}, {0, 0}};
    case RouteClass::kQueueJoin:
      return {{2, 30}, {8, 120}, {0.2, 3}};
    case RouteClass::kQueuePoll:
      return {{50, 200}, {200, 800}, {2, 5}};
    case RouteClass::kHold:
      return {{5, 30}, {20, 120}, {1, 5}};
    case RouteClass::kOrder:
      return {{2, 10}, {8, 40}, {0.5, 3}};
    case RouteClass::kOperator:
      return {{20, 100}, {0, 0}, {0, 0}};
  }
  return {};
}

ManagedCidrList::ManagedCidrList(DefenseListStore& store, const Clock& clock, CidrListNames names)
    : store_(store), clock_(clock), names_(names) {}

Status ManagedCidrList::Load() {
  Result<std::vector<CidrListRecord>> stored = store_.LoadCidrList(std::string(names_.list));
  if (!stored) return stored.error();
  const TimePoint now = clock_.Now();
  std::unique_lock lock(mutex_);
  for (CidrListRecord& record : *stored) {
    Result<Cidr> range = Cidr::Parse(record.cidr);
    if (!range) {
      return Error::Internal("the stored " + std::string(names_.list) + " holds an invalid range");
    }
    CidrEntry entry{range->ToString(), std::move(record.reason),
                    FromUnixMillis(record.created_at_ms), std::nullopt};
    if (record.expires_at_ms != 0) {
      entry.expires_at = FromUnixMillis(record.expires_at_ms);
      if (*entry.expires_at <= now) continue;
    }
    entries_.push_back(Active{*range, std::move(entry)});
  }
  return {};
}

std::optional<std::string> ManagedCidrList::Match(const IpAddress& address, TimePoint now) const {
  std::shared_lock lock(mutex_);
  for (const Active& active : entries_) {
    if (active.entry.expires_at && *active.entry.expires_at <= now) continue;
    if (active.range.Contains(address)) return active.entry.reason;
  }
  return std::nullopt;
}

void ManagedCidrList::Add(std::string_view cidr, std::string reason,
                          std::optional<std::int64_t> ttl_s,
                          std::function<void(Result<CidrEntry>)> done) {
  Result<Cidr> range = Cidr::Parse(cidr);
  if (!range) {
    Error error = range.error();
    error.kind = ErrorKind::kUnprocessable;
    error.details = {{"field", "cidr"}};
    return done(std::move(error));
  }
  if (reason.size() > kBlockReasonMaxChars || (ttl_s && (*ttl_s < 1 || *ttl_s > kBlockTtlMaxS))) {
    return done(
        Error::Make(ErrorKind::kUnprocessable, "invalid_" + std::string(names_.entry),
                    "reason must be at most 500 characters and ttl_s from 1 to one year.",
                    {{"field", reason.size() > kBlockReasonMaxChars ? "reason" : "ttl_s"}}));
  }
  const TimePoint now = std::chrono::floor<std::chrono::seconds>(clock_.Now());
  CidrEntry entry{range->ToString(), std::move(reason), now, std::nullopt};
  if (ttl_s) entry.expires_at = now + std::chrono::seconds(*ttl_s);

  std::unique_lock lock(mutex_);
  std::erase_if(entries_, [&](const Active& active) {
    return active.entry.cidr == entry.cidr ||
           (active.entry.expires_at && *active.entry.expires_at <= now);
  });
  if (entries_.size() >= kBlocklistMax) {
    return done(Error::Make(ErrorKind::kUnprocessable, std::string(names_.list) + "_full",
                            "The " + std::string(names_.list) +
                                " holds its maximum of 1,000 ranges; remove some or list a wider "
                                "range."));
  }
  entries_.push_back(Active{*range, entry});
  PersistLocked([entry, done = std::move(done)](Status status) {
    if (!status.ok()) return done(std::move(status).error());
    done(entry);
  });
}

void ManagedCidrList::Remove(std::string_view cidr, std::function<void(Status)> done) {
  Result<Cidr> range = Cidr::Parse(cidr);
  if (!range) return done(range.error());
  std::unique_lock lock(mutex_);
  const std::string canonical = range->ToString();
  if (std::erase_if(entries_, [&](const Active& a) { return a.entry.cidr == canonical; }) == 0) {
    return done(Error::Make(ErrorKind::kNotFound, std::string(names_.entry) + "_not_found",
                            "No " + std::string(names_.list) + " entry has this range.",
                            {{"cidr", canonical}}));
  }
  PersistLocked(std::move(done));
}

void ManagedCidrList::PersistLocked(std::function<void(Status)> done) {
  std::vector<CidrListRecord> records;
  records.reserve(entries_.size());
  for (const Active& active : entries_) {
    const CidrEntry& entry = active.entry;
    records.push_back(CidrListRecord{entry.cidr, entry.reason, ToUnixMillis(entry.created_at),
                                     entry.expires_at ? ToUnixMillis(*entry.expires_at) : 0});
  }
  store_.SaveCidrList(std::string(names_.list), std::move(records), std::move(done));
}

std::vector<CidrEntry> ManagedCidrList::Entries() const {
  const TimePoint now = clock_.Now();
  std::shared_lock lock(mutex_);
  std::vector<CidrEntry> out;
  for (const Active& active : entries_) {
    if (!active.entry.expires_at || *active.entry.expires_at > now) out.push_back(active.entry);
  }
  return out;
}

Defense::Defense(DefenseListStore& lists, const Clock& clock, DefenseOptions options)
    : clock_(clock),
      options_(std::move(options)),
      limiter_(options_.limiter_slots),
      blocks_(lists, clock, {"block", "blocklist"}),
      allows_(lists, clock, {"allow", "allowlist"}),
      // The risk tables follow the limiter's size: an eighth as many keys, ~17 MiB by default.
      risk_tracker_(std::max<std::size_t>(options_.limiter_slots / 8, 64)),
      proof_of_work_(
          options_.secrets.empty() ? std::vector<std::string>{RandomBytes(32)} : options_.secrets,
          clock, options_.challenge),
      decision_log_(options_.decision_log_entries) {}

Status Defense::Load() {
  if (Status loaded = blocks_.Load(); !loaded) return loaded;
  return allows_.Load();
}

Status Defense::Check(const RequestFacts& facts) {
  if (facts.route_class == RouteClass::kExempt) return {};
  bool allowlisted = false;
  LimitFill fill;
  return Limit(facts, IpAddress::Parse(facts.client_address), clock_.Now(), allowlisted, fill);
}

Status Defense::Limit(const RequestFacts& facts, const std::optional<IpAddress>& address,
                      TimePoint now, bool& allowlisted, LimitFill& fill) {
  if (address) {
    if (std::optional<std::string> reason = blocks_.Match(*address, now)) {
      return Error::Make(ErrorKind::kForbidden, "blocked",
                         "Requests from this network are blocked.");
    }
    allowlisted = options_.allowlist.Contains(*address) || allows_.Match(*address, now);
    if (allowlisted) return {};
  }
  if (!options_.rate_limits) return {};

  const RouteLimits limits = DefaultLimits(facts.route_class);
  const std::string_view route = RouteClassName(facts.route_class);
  // The keys first, then all their buckets prefetched, then the checks: the table is large, and
  // this way its cache misses overlap instead of adding up.
  struct Key {
    const GcraRate* rate;
    std::uint64_t hash;
    double* fill;
  };
  std::array<Key, 4> keys;
  std::size_t key_count = 0;
  char kind_buffer[64];  // "<kind>:<route class>"
  auto add = [&](const GcraRate& rate, std::string_view kind, std::string_view value,
                 double* fill_out) {
    if (rate.per_s <= 0 || value.empty()) return;
    const std::size_t size = kind.size() + 1 + route.size();
    std::memcpy(kind_buffer, kind.data(), kind.size());
    kind_buffer[kind.size()] = ':';
    std::memcpy(kind_buffer + kind.size() + 1, route.data(), route.size());
    keys[key_count++] = Key{&rate, KeyHash(std::string_view(kind_buffer, size), value), fill_out};
  };
  if (address) {
    add(limits.per_address, "address", AddressKey(*address), &fill.address);
    add(limits.per_prefix, "prefix", PrefixKey(*address), &fill.prefix);
  }
  add(limits.per_session, "session", facts.session_id, nullptr);
  add(limits.per_session, "customer", facts.customer_id, nullptr);
  for (std::size_t i = 0; i < key_count; ++i) limiter_.Prefetch(keys[i].hash);
  std::chrono::nanoseconds wait{0};
  for (std::size_t i = 0; i < key_count; ++i) {
    const GcraDecision decision = limiter_.Check(keys[i].hash, *keys[i].rate, now);
    if (!decision.allowed) wait = std::max(wait, decision.retry_after);
    if (keys[i].fill != nullptr) *keys[i].fill = decision.fill;
  }
  if (wait.count() == 0) return {};
  Error error = Error::Make(ErrorKind::kRateLimited, "rate_limited",
                            "Too many requests; slow down and retry after the given time.",
                            {{"route_class", route}});
  error.retry_after_s = static_cast<int>(RetryAfterSeconds(wait));
  return error;
}

Verdict Defense::Screen(const RequestFacts& facts, const RequestSignals& signals,
                        ChallengePolicy policy, std::optional<std::string_view> altcha) {
  Verdict verdict;
  if (facts.route_class == RouteClass::kExempt) return verdict;
  const TimePoint now = clock_.Now();
  const std::optional<IpAddress> address = IpAddress::Parse(facts.client_address);
  // The risk state's keys are hashed and prefetched before the limiter runs, for the same
  // reason the limiter prefetches its own.
  ObservedRequest observed;
  observed.session_id = facts.session_id;
  observed.device_id = signals.device_id;
  observed.timed = facts.route_class != RouteClass::kQueuePoll;
  observed.scored = policy != ChallengePolicy::kNone;
  const RiskTracker::Keys risk_keys = risk_tracker_.KeysFor(observed);
  risk_tracker_.Prefetch(risk_keys);
  bool allowlisted = false;
  LimitFill fill;
  if (Status limited = Limit(facts, address, now, allowlisted, fill); !limited) {
    const bool blocked = limited.error().code == "blocked";
    verdict.decision = blocked ? Decision::kBlocked : Decision::kRateLimited;
    verdict.reason =
        blocked ? "blocklist" : "rate limit " + std::string(RouteClassName(facts.route_class));
    verdict.status = std::move(limited);
    return verdict;
  }

  RiskFeatures features{};
  RiskAction action = RiskAction::kAllow;
  bool scored = false;
  // Every answer to a scored request goes into the decision log, with what the score read.
  auto logged = [&](Verdict&& out) {
    if (scored) {
      decision_log_.Record(DecisionRecord{now, facts.route_class, out.decision, out.risk, &features,
                                          facts.request_id, facts.event_id, facts.client_address});
    }
    return std::move(out);
  };
  if (!allowlisted) {
    // Every request feeds the timing state; only gated routes pay for the score. Velocity is
    // the limiter's own state: how much of its burst the address and prefix have used.
    features[kAddressVelocity] = fill.address;
    features[kPrefixVelocity] = fill.prefix;
    risk_tracker_.Observe(observed, risk_keys, now, features);
    if (policy == ChallengePolicy::kNone) return verdict;
    ExtractHeaderFeatures(signals, features);
    CombineFeatures(features);
    verdict.risk = options_.risk_model.Score(features);
    action = options_.risk_model.Decide(verdict.risk);
    scored = true;
  } else if (policy != ChallengePolicy::kAlways) {
    return verdict;
  }
  auto risk_reason = [&] {
    char score[16];
    const auto end =
        std::to_chars(score, score + sizeof score, verdict.risk, std::chars_format::fixed, 3);
    return "risk " + std::string(score, end.ptr) + " (" + options_.risk_model.Explain(features) +
           ")";
  };

  if (action == RiskAction::kBlock) {
    verdict.decision = Decision::kRiskBlocked;
    verdict.reason = risk_reason();
    verdict.status =
        Error::Make(ErrorKind::kForbidden, "blocked",
                    "This request looks automated and is refused.", {{"reason", "risk"}});
    return logged(std::move(verdict));
  }
  const bool needed = policy == ChallengePolicy::kAlways ||
                      (policy == ChallengePolicy::kRisk && action == RiskAction::kChallenge);
  if (!needed) return logged(std::move(verdict));
  const std::string why =
      policy == ChallengePolicy::kAlways ? std::string("event challenge always") : risk_reason();

  boost::json::object details;
  if (altcha) {
    Status solved = proof_of_work_.Verify(*altcha);
    if (solved) {
      verdict.decision = Decision::kChallengePassed;
      verdict.reason = why;
      return logged(std::move(verdict));
    }
    const std::string failure(solved.error().details.at("reason").as_string());
    verdict.decision = Decision::kChallengeFailed;
    verdict.reason = why + "; solution " + failure;
    details["reason"] = failure;
  } else {
    verdict.decision = Decision::kChallenged;
    verdict.reason = why;
  }
  const Challenge challenge = proof_of_work_.Issue(verdict.risk);
  details["challenge"] = ChallengeJson(challenge);
  // The same work in ALTCHA's v2 format, for clients that speak only that (docs/defense.md).
  details["challenge_v2"] =
      ChallengeV2Json(proof_of_work_.IssueV2WithMaxnumber(challenge.maxnumber));
  verdict.status =
      Error::Make(ErrorKind::kForbidden, "challenge_required",
                  "Solve the proof-of-work challenge and retry with X-Altcha.", std::move(details));
  return logged(std::move(verdict));
}

double Defense::HeaderRisk(const RequestSignals& signals) const {
  RiskFeatures features{};
  ExtractHeaderFeatures(signals, features);
  return options_.risk_model.Score(features);
}

Challenge Defense::IssueChallenge(const RequestSignals& signals) {
  return proof_of_work_.Issue(HeaderRisk(signals));
}

ChallengeV2 Defense::IssueChallengeV2(const RequestSignals& signals) {
  return proof_of_work_.IssueV2(HeaderRisk(signals));
}

void Defense::RecordTelemetry(std::string_view session_id, const Telemetry& telemetry) {
  risk_tracker_.RecordTelemetry(session_id, telemetry, clock_.Now());
}

void Defense::CountEventDecision(std::string_view event_id, Decision decision) {
  const auto index = static_cast<std::size_t>(decision);
  {
    std::shared_lock lock(event_counts_mutex_);
    const auto found = event_counts_.find(event_id);
    if (found != event_counts_.end()) {
      (*found->second)[index].fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  std::unique_lock lock(event_counts_mutex_);
  std::unique_ptr<AtomicCounts>& counts = event_counts_[std::string(event_id)];
  if (!counts) counts = std::make_unique<AtomicCounts>();
  (*counts)[index].fetch_add(1, std::memory_order_relaxed);
}

DecisionCounts Defense::EventDecisions(std::string_view event_id) const {
  DecisionCounts out{};
  std::shared_lock lock(event_counts_mutex_);
  const auto found = event_counts_.find(std::string(event_id));
  if (found == event_counts_.end()) return out;
  for (std::size_t i = 0; i < kDecisionCount; ++i) {
    out[i] = (*found->second)[i].load(std::memory_order_relaxed);
  }
  return out;
}

void Defense::Block(std::string_view cidr, std::string reason, std::optional<std::int64_t> ttl_s,
                    std::function<void(Result<BlockEntry>)> done) {
  blocks_.Add(cidr, std::move(reason), ttl_s, std::move(done));
}

void Defense::Unblock(std::string_view cidr, std::function<void(Status)> done) {
  blocks_.Remove(cidr, std::move(done));
}

std::vector<BlockEntry> Defense::Blocks() const { return blocks_.Entries(); }

void Defense::Allow(std::string_view cidr, std::string reason, std::optional<std::int64_t> ttl_s,
                    std::function<void(Result<CidrEntry>)> done) {
  allows_.Add(cidr, std::move(reason), ttl_s, std::move(done));
}

void Defense::Disallow(std::string_view cidr, std::function<void(Status)> done) {
  allows_.Remove(cidr, std::move(done));
}

std::vector<CidrEntry> Defense::Allows() const { return allows_.Entries(); }

}  // namespace boxoffice
