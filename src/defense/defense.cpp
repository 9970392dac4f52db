#include "defense/defense.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <mutex>

#include "common/time.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;

constexpr std::string_view kBlocklistSetting = "defense.blocklist";

// The network prefix an address belongs to: /24 for IPv4, /48 for IPv6 (a typical end site).
std::string PrefixKey(const IpAddress& address) {
  const auto& bytes = address.bytes();
  const std::size_t keep = address.IsV4() ? 15 : 6;  // IPv4 is mapped into bytes 12..15
  return std::string(reinterpret_cast<const char*>(bytes.data()), keep);
}

std::int64_t RetryAfterSeconds(std::chrono::nanoseconds wait) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait.count() / 1e9)));
}

json::object EntryJson(const BlockEntry& entry) {
  json::object out{{"cidr", entry.cidr},
                   {"reason", entry.reason},
                   {"created_at", FormatRfc3339(entry.created_at)}};
  out["expires_at"] = entry.expires_at ? json::value(FormatRfc3339(*entry.expires_at)) : nullptr;
  return out;
}

}  // namespace

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

Defense::Defense(Ledger& ledger, const Clock& clock, DefenseOptions options)
    : ledger_(ledger),
      clock_(clock),
      options_(std::move(options)),
      limiter_(options_.limiter_slots) {}

Status Defense::Load() {
  Result<std::optional<std::string>> stored = ledger_.GetSetting(std::string(kBlocklistSetting));
  if (!stored) return stored.error();
  if (!stored->has_value()) return {};
  std::error_code parse_error;
  const json::value list = json::parse(**stored, parse_error);
  if (parse_error || !list.is_array()) return Error::Internal("the stored blocklist is not JSON");
  const TimePoint now = clock_.Now();
  std::unique_lock lock(blocks_mutex_);
  for (const json::value& item : list.get_array()) {
    const json::object* object = item.if_object();
    const json::string* cidr = object ? object->at("cidr").if_string() : nullptr;
    Result<Cidr> range = cidr ? Cidr::Parse(*cidr) : Result<Cidr>(Error::Internal("no cidr"));
    if (!range) return Error::Internal("the stored blocklist holds an invalid range");
    BlockEntry entry;
    entry.cidr = range->ToString();
    entry.reason = std::string(object->at("reason").as_string());
    entry.created_at = ParseRfc3339(object->at("created_at").as_string()).value_or(now);
    if (const json::string* expires = object->at("expires_at").if_string()) {
      entry.expires_at = ParseRfc3339(*expires);
      if (!entry.expires_at || *entry.expires_at <= now) continue;
    }
    blocks_.push_back(ActiveBlock{*range, std::move(entry)});
  }
  return {};
}

std::optional<std::string> Defense::BlockedReason(const IpAddress& address, TimePoint now) const {
  std::shared_lock lock(blocks_mutex_);
  for (const ActiveBlock& block : blocks_) {
    if (block.entry.expires_at && *block.entry.expires_at <= now) continue;
    if (block.range.Contains(address)) return block.entry.reason;
  }
  return std::nullopt;
}

Status Defense::Check(const RequestFacts& facts) {
  if (facts.route_class == RouteClass::kExempt) return {};
  const TimePoint now = clock_.Now();
  const std::optional<IpAddress> address = IpAddress::Parse(facts.client_address);
  if (address) {
    if (std::optional<std::string> reason = BlockedReason(*address, now)) {
      return Error::Make(ErrorKind::kForbidden, "blocked",
                         "Requests from this network are blocked.");
    }
    if (options_.allowlist.Contains(*address)) return {};
  }
  if (!options_.rate_limits) return {};

  const RouteLimits limits = DefaultLimits(facts.route_class);
  const std::string_view route = RouteClassName(facts.route_class);
  std::chrono::nanoseconds wait{0};
  auto check = [&](const GcraRate& rate, std::string_view kind, std::string_view value) {
    if (rate.per_s <= 0 || value.empty()) return;
    const GcraDecision decision =
        limiter_.Check(KeyHash(std::string(kind) + ":" + std::string(route), value), rate, now);
    if (!decision.allowed) wait = std::max(wait, decision.retry_after);
  };
  if (address) {
    const std::string bytes(reinterpret_cast<const char*>(address->bytes().data()), 16);
    check(limits.per_address, "address", bytes);
    check(limits.per_prefix, "prefix", PrefixKey(*address));
  }
  check(limits.per_session, "session", facts.session_id);
  check(limits.per_session, "customer", facts.customer_id);
  if (wait.count() == 0) return {};
  Error error = Error::Make(ErrorKind::kRateLimited, "rate_limited",
                            "Too many requests; slow down and retry after the given time.",
                            {{"route_class", route}});
  error.retry_after_s = static_cast<int>(RetryAfterSeconds(wait));
  return error;
}

void Defense::Block(std::string_view cidr, std::string reason, std::optional<std::int64_t> ttl_s,
                    std::function<void(Result<BlockEntry>)> done) {
  Result<Cidr> range = Cidr::Parse(cidr);
  if (!range) {
    Error error = range.error();
    error.kind = ErrorKind::kUnprocessable;
    error.details = {{"field", "cidr"}};
    return done(std::move(error));
  }
  if (reason.size() > kBlockReasonMaxChars || (ttl_s && (*ttl_s < 1 || *ttl_s > kBlockTtlMaxS))) {
    return done(
        Error::Make(ErrorKind::kUnprocessable, "invalid_block",
                    "reason must be at most 500 characters and ttl_s from 1 to one year.",
                    {{"field", reason.size() > kBlockReasonMaxChars ? "reason" : "ttl_s"}}));
  }
  const TimePoint now = std::chrono::floor<std::chrono::seconds>(clock_.Now());
  BlockEntry entry{range->ToString(), std::move(reason), now, std::nullopt};
  if (ttl_s) entry.expires_at = now + std::chrono::seconds(*ttl_s);

  std::unique_lock lock(blocks_mutex_);
  std::erase_if(blocks_, [&](const ActiveBlock& block) {
    return block.entry.cidr == entry.cidr ||
           (block.entry.expires_at && *block.entry.expires_at <= now);
  });
  if (blocks_.size() >= kBlocklistMax) {
    return done(Error::Make(ErrorKind::kUnprocessable, "blocklist_full",
                            "The blocklist holds its maximum of 1,000 ranges; remove some or "
                            "block a wider range."));
  }
  blocks_.push_back(ActiveBlock{*range, entry});
  PersistLocked([entry, done = std::move(done)](Status status) {
    if (!status.ok()) return done(std::move(status).error());
    done(entry);
  });
}

void Defense::Unblock(std::string_view cidr, std::function<void(Status)> done) {
  Result<Cidr> range = Cidr::Parse(cidr);
  if (!range) return done(range.error());
  std::unique_lock lock(blocks_mutex_);
  const std::string canonical = range->ToString();
  if (std::erase_if(blocks_, [&](const ActiveBlock& b) { return b.entry.cidr == canonical; }) ==
      0) {
    return done(Error::Make(ErrorKind::kNotFound, "block_not_found",
                            "No blocklist entry has this range.", {{"cidr", canonical}}));
  }
  PersistLocked(std::move(done));
}

void Defense::PersistLocked(std::function<void(Status)> done) {
  json::array list;
  for (const ActiveBlock& block : blocks_) list.push_back(EntryJson(block.entry));
  ledger_.PutSetting(std::string(kBlocklistSetting), json::serialize(list), std::move(done));
}

std::vector<BlockEntry> Defense::Blocks() const {
  const TimePoint now = clock_.Now();
  std::shared_lock lock(blocks_mutex_);
  std::vector<BlockEntry> out;
  for (const ActiveBlock& block : blocks_) {
    if (!block.entry.expires_at || *block.entry.expires_at > now) out.push_back(block.entry);
  }
  return out;
}

}  // namespace boxoffice
