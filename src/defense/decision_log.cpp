#include "defense/decision_log.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_map>

#include "common/check.hpp"

namespace boxoffice {
namespace {

// Readers take the lock for this many entries at a time, matching or not: a filtered read of the
// whole ring takes it a thousand times, each for a few microseconds.
constexpr std::size_t kReadChunkEntries = 64;

template <std::size_t N>
std::uint8_t CopyInto(char (&out)[N], std::string_view text) {
  const std::size_t size = std::min(text.size(), N);
  if (size > 0) std::memcpy(out, text.data(), size);  // an empty view may hold a null pointer
  return static_cast<std::uint8_t>(size);
}

// The network a client address belongs to for TopPrefixes: its /24 (IPv4) or /48 (IPv6).
std::optional<std::string> ClientPrefix(std::string_view client) {
  const std::optional<IpAddress> address = IpAddress::Parse(client);
  if (!address) return std::nullopt;
  Result<Cidr> prefix = Cidr::Parse(address->ToString() + (address->IsV4() ? "/24" : "/48"));
  if (!prefix) return std::nullopt;
  return prefix->ToString();
}

}  // namespace

// Plain bytes without initializers: the ring's pages are touched only once entries land there.
struct DecisionLog::Slot {
  std::uint64_t sequence;
  std::int64_t at_ns;
  double score;
  RiskFeatures features;
  RouteClass route_class;
  Decision decision;
  std::uint8_t request_id_size;
  std::uint8_t event_id_size;
  std::uint8_t client_size;
  char request_id[kDecisionRequestIdMaxChars];
  char event_id[kDecisionEventIdMaxChars];
  char client[kDecisionClientMaxChars];
};
static_assert(kDecisionRequestIdMaxChars <= 255 && kDecisionEventIdMaxChars <= 255 &&
              kDecisionClientMaxChars <= 255);

DecisionLog::DecisionLog(std::size_t capacity)
    : capacity_(std::bit_ceil(std::max<std::size_t>(capacity, 2))),
      mask_(capacity_ - 1),
      slots_(new Slot[capacity_]) {}

DecisionLog::~DecisionLog() = default;

std::uint64_t DecisionLog::Record(const DecisionRecord& record) {
  const std::int64_t at_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(record.at.time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  const std::uint64_t sequence = ++latest_;
  Slot& slot = slots_[(sequence - 1) & mask_];
  slot.sequence = sequence;
  slot.at_ns = at_ns;
  slot.score = record.score;
  if (record.features != nullptr) {
    slot.features = *record.features;
  } else {
    slot.features.fill(0);
  }
  slot.route_class = record.route_class;
  slot.decision = record.decision;
  slot.request_id_size = CopyInto(slot.request_id, record.request_id);
  slot.event_id_size = CopyInto(slot.event_id, record.event_id);
  slot.client_size = CopyInto(slot.client, record.client);
  return sequence;
}

bool DecisionLog::Matches(const Slot& slot, const DecisionFilter& filter) {
  if (filter.decision && slot.decision != *filter.decision) return false;
  if (filter.route_class && slot.route_class != *filter.route_class) return false;
  if (filter.client) {
    const std::optional<IpAddress> client =
        IpAddress::Parse(std::string_view(slot.client, slot.client_size));
    if (!client || !filter.client->Contains(*client)) return false;
  }
  return true;
}

void DecisionLog::CopyOut(const Slot& slot, ScoredDecision& item) {
  item.sequence = slot.sequence;
  item.at = TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(slot.at_ns)));
  item.route_class = slot.route_class;
  item.decision = slot.decision;
  item.score = slot.score;
  item.features = slot.features;
  item.request_id.assign(slot.request_id, slot.request_id_size);
  item.event_id.assign(slot.event_id, slot.event_id_size);
  item.client.assign(slot.client, slot.client_size);
}

std::uint64_t DecisionLog::OldestLocked() const {
  if (latest_ == 0) return 0;
  return latest_ > capacity_ ? latest_ - capacity_ + 1 : 1;
}

DecisionLog::Page DecisionLog::After(std::uint64_t after, std::size_t limit,
                                     const DecisionFilter& filter) const {
  Page page;
  std::uint64_t next = after + 1;
  std::size_t scanned = 0;
  while (page.items.size() < limit && scanned < capacity_) {
    std::lock_guard lock(mutex_);
    page.latest = latest_;
    page.oldest = OldestLocked();
    if (latest_ == 0) break;
    next = std::max(next, page.oldest);
    for (std::size_t i = 0; i < kReadChunkEntries && next <= latest_ && page.items.size() < limit &&
                            scanned < capacity_;
         ++i, ++next, ++scanned) {
      const Slot& slot = slots_[(next - 1) & mask_];
      BOXOFFICE_CHECK(slot.sequence == next, "a held slot holds the sequence it is read for");
      if (page.first_scanned == 0) page.first_scanned = next;
      page.last_scanned = next;
      if (Matches(slot, filter)) CopyOut(slot, page.items.emplace_back());
    }
    if (next > latest_) break;
  }
  return page;
}

DecisionLog::Page DecisionLog::Before(std::uint64_t before, std::uint64_t after, std::size_t limit,
                                      const DecisionFilter& filter) const {
  Page page;
  std::optional<std::uint64_t> next;  // the next sequence to examine, going down
  std::size_t scanned = 0;
  while (page.items.size() < limit && scanned < capacity_) {
    std::lock_guard lock(mutex_);
    page.latest = latest_;
    page.oldest = OldestLocked();
    if (!next) next = std::min<std::uint64_t>(before == 0 ? 0 : before - 1, latest_);
    // Writers may have pushed the rest of the range out of the ring since the last chunk.
    const std::uint64_t floor = std::max<std::uint64_t>(after + 1, page.oldest);
    if (latest_ == 0 || *next < floor) break;
    for (std::size_t i = 0; i < kReadChunkEntries && *next >= floor && page.items.size() < limit &&
                            scanned < capacity_;
         ++i, --*next, ++scanned) {
      const Slot& slot = slots_[(*next - 1) & mask_];
      BOXOFFICE_CHECK(slot.sequence == *next, "a held slot holds the sequence it is read for");
      if (page.last_scanned == 0) page.last_scanned = *next;
      page.first_scanned = *next;
      if (Matches(slot, filter)) CopyOut(slot, page.items.emplace_back());
    }
    if (*next < floor) break;
  }
  std::reverse(page.items.begin(), page.items.end());
  return page;
}

std::vector<PrefixCount> DecisionLog::TopPrefixes(std::string_view event_id, TimePoint since,
                                                  std::size_t limit) const {
  const std::int64_t since_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(since.time_since_epoch()).count();
  // Copied out under the lock a chunk at a time; parsed and counted outside it.
  std::vector<std::pair<std::string, Decision>> seen;
  std::optional<std::uint64_t> next;
  std::size_t scanned = 0;
  bool older = false;
  while (!older && scanned < capacity_) {
    std::lock_guard lock(mutex_);
    if (!next) next = latest_;
    const std::uint64_t floor = std::max<std::uint64_t>(1, OldestLocked());
    if (latest_ == 0 || *next < floor) break;
    for (std::size_t i = 0; i < kReadChunkEntries && *next >= floor && scanned < capacity_;
         ++i, --*next, ++scanned) {
      const Slot& slot = slots_[(*next - 1) & mask_];
      if (slot.at_ns < since_ns) {
        older = true;
        break;
      }
      if (std::string_view(slot.event_id, slot.event_id_size) != event_id) continue;
      seen.emplace_back(std::string(slot.client, slot.client_size), slot.decision);
    }
    if (*next < floor) break;
  }
  std::unordered_map<std::string, PrefixCount> counts;
  for (const auto& [client, decision] : seen) {
    std::optional<std::string> prefix = ClientPrefix(client);
    if (!prefix) continue;
    PrefixCount& count = counts[*prefix];
    ++count.requests;
    if (decision == Decision::kChallenged || decision == Decision::kChallengePassed ||
        decision == Decision::kChallengeFailed) {
      ++count.challenged;
    }
    if (decision == Decision::kRiskBlocked) ++count.blocked;
  }
  std::vector<PrefixCount> top;
  top.reserve(counts.size());
  for (auto& [prefix, count] : counts) {
    count.prefix = prefix;
    top.push_back(std::move(count));
  }
  std::sort(top.begin(), top.end(), [](const PrefixCount& a, const PrefixCount& b) {
    return a.requests != b.requests ? a.requests > b.requests : a.prefix < b.prefix;
  });
  if (top.size() > limit) top.resize(limit);
  return top;
}

}  // namespace boxoffice
