#include "defense/decision_log.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace boxoffice {
namespace {

// Readers take the lock for this many entries at a time.
constexpr std::size_t kReadChunkEntries = 64;

template <std::size_t N>
std::uint8_t CopyInto(char (&out)[N], std::string_view text) {
  const std::size_t size = std::min(text.size(), N);
  if (size > 0) std::memcpy(out, text.data(), size);  // an empty view may hold a null pointer
  return static_cast<std::uint8_t>(size);
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

DecisionLog::Page DecisionLog::After(std::uint64_t after, std::size_t limit) const {
  Page page;
  std::uint64_t next = after + 1;
  while (page.items.size() < limit) {
    std::lock_guard lock(mutex_);
    page.latest = latest_;
    page.oldest = latest_ == 0 ? 0 : (latest_ > capacity_ ? latest_ - capacity_ + 1 : 1);
    if (latest_ == 0) break;
    next = std::max(next, page.oldest);
    const std::size_t chunk = std::min(kReadChunkEntries, limit - page.items.size());
    for (std::size_t i = 0; i < chunk && next <= latest_; ++i, ++next) {
      const Slot& slot = slots_[(next - 1) & mask_];
      ScoredDecision& item = page.items.emplace_back();
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
    if (next > latest_) break;
  }
  return page;
}

}  // namespace boxoffice
