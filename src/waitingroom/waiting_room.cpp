#include "waitingroom/waiting_room.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <deque>
#include <vector>

#include "common/check.hpp"
#include "common/crypto.hpp"
#include "common/time.hpp"
#include "waitingroom/poll_budget.hpp"
#include "waitingroom/shuffle.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Bounds the work of one tick when the counter passes a long run of fans who left (or of
// numbers a crash skipped), so a tick never stalls the other events.
constexpr std::uint64_t kSkipsPerTickMax = 1'000'000;
constexpr std::uint32_t kRetryAfterMaxS = 30;
constexpr std::int64_t kFanMicros = 1'000'000;  // one admission in the budget's unit
constexpr std::size_t kSeedBytes = 32;
constexpr double kOutflowSmoothing = 0.3;  // weight of the newest one-second sample
constexpr auto kMeasureWindow = seconds(1);
constexpr auto kTickGapMax = seconds(1);
// Sold-out detection lags by at most this much; fans are told within a poll or two.
constexpr auto kInventoryProbeEvery =
    milliseconds(500);  // a stalled ticker must not release a burst

// A fan's slot: the top three bits hold the state, the low 29 a second since the queue's base
// time: when the fan was last seen (waiting), admitted (admitted, idle) or let go (the rest).
enum SlotState : std::uint32_t {
  kSlotUnknown = 0,  // not seen since a restart (or a number a crash skipped)
  kSlotWaiting = 1,
  kSlotAdmitted = 2,   // shopping: has an entry in `active`
  kSlotAbandoned = 3,  // passed by the counter while away
  kSlotIdle = 4,       // admitted, slot given back for idleness; the token still admits
  kSlotOrdered = 5,    // access spent by an order
  kSlotLeft = 6,       // left the queue
  kSlotExpired = 7,    // access expired
};
constexpr int kSlotStateShift = 29;
constexpr std::uint32_t kSlotTimeMask = (1u << kSlotStateShift) - 1;

std::uint32_t PackSlot(SlotState state, std::uint32_t second) {
  return (static_cast<std::uint32_t>(state) << kSlotStateShift) | (second & kSlotTimeMask);
}
SlotState SlotStateOf(std::uint32_t slot) {
  return static_cast<SlotState>(slot >> kSlotStateShift);
}
// A place whose access ended for good: a new join takes a new place.
bool IsSpent(SlotState state) {
  return state == kSlotOrdered || state == kSlotLeft || state == kSlotExpired;
}
std::uint32_t SlotSecond(std::uint32_t slot) { return slot & kSlotTimeMask; }

std::optional<std::uint64_t> ParseUint(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

Error EventNotFound(std::string_view id) {
  return Error::Make(ErrorKind::kNotFound, "event_not_found", "No event has this id.",
                     {{"event_id", id}});
}

Error InvalidTicket(std::string message) {
  return Error::Make(ErrorKind::kUnauthenticated, "invalid_queue_ticket", std::move(message));
}

Error InvalidAccess(std::string message) {
  return Error::Make(ErrorKind::kUnauthenticated, "invalid_access_token", std::move(message));
}

Error AccessEnded(AccessRelease release, std::string message) {
  return Error::Make(ErrorKind::kUnauthenticated, "invalid_access_token", std::move(message),
                     {{"access_released", AccessReleaseName(release)}});
}

std::int64_t Millis(TimePoint time) {
  return duration_cast<milliseconds>(time.time_since_epoch()).count();
}

}  // namespace

std::string_view FanStateName(FanState state) {
  switch (state) {
    case FanState::kPrequeue:
      return "prequeue";
    case FanState::kWaiting:
      return "waiting";
    case FanState::kAdmitted:
      return "admitted";
    case FanState::kSoldOut:
      return "sold_out";
    case FanState::kClosed:
      return "closed";
  }
  return "closed";
}

std::string_view AccessReleaseName(AccessRelease release) {
  switch (release) {
    case AccessRelease::kOrdered:
      return "ordered";
    case AccessRelease::kLeft:
      return "left";
    case AccessRelease::kIdle:
      return "idle";
    case AccessRelease::kExpired:
      return "expired";
  }
  return "expired";
}

// One event's queue. Every field is guarded by `mutex` but the two atomics, which the store's
// completion callbacks set without taking it.
class WaitingRoom::EventQueue {
 public:
  std::string id;
  std::mutex mutex;
  QueueSettings settings;
  std::optional<TimePoint> onsale_at;
  InventoryProbe inventory;

  std::string seed;  // hex; empty for FIFO events
  bool opened = false;
  std::uint32_t opened_second = 0;
  std::uint64_t prequeue_size = 0;  // numbers 1..prequeue_size are shuffled at opening
  std::unique_ptr<Shuffle> shuffle;

  std::uint64_t next = 1;      // the next number to hand out
  std::uint64_t reserved = 0;  // the high-water mark requested from the store
  std::atomic<std::uint64_t> durable_high_water{0};
  std::atomic<bool> reserving{false};

  std::uint64_t serving = 0;  // the counter: every sequence <= serving has been passed
  std::uint64_t serving_persisted = 0;
  std::uint64_t issued_persisted = 0;  // next - 1 as last written, once a second
  std::vector<std::uint32_t> slots;    // by number - 1
  std::deque<std::uint64_t> returned;  // numbers of fans who came back after being passed
  struct ActiveFan {
    std::uint32_t last_active_second = 0;  // the last hold or order call
    std::uint64_t admitted_as = 0;         // the admission's ordinal; 0: unknown
  };
  std::unordered_map<std::uint64_t, ActiveFan> active;  // by number: the fans shopping now
  // (expiry, number) of every admission, sorted by expiry.
  std::deque<std::pair<TimePoint, std::uint64_t>> access_expiry;
  std::unordered_map<std::uint64_t, std::uint64_t> identities;  // hash of identity -> number
  // Fans who left and are still counted in Waiting() (not yet passed by the counter).
  std::uint64_t left_pending = 0;
  std::uint32_t idle_swept_second = 0;

  TimePoint base;  // slot seconds count from here
  TimePoint last_tick;
  // Admissions earned but not yet spent, in millionths of a fan: integer, so ten 100 ms ticks at
  // 1/s make exactly one admission.
  std::int64_t budget = 0;
  TimePoint window_start;
  std::uint64_t window_admitted = 0;
  double outflow_per_s = 0;  // EWMA of admissions per second
  bool outflow_measured = false;

  std::uint64_t joined = 0;
  std::uint64_t admitted = 0;
  std::uint64_t abandoned = 0;
  std::uint64_t released_ordered = 0;
  std::uint64_t released_left = 0;
  std::uint64_t released_idle = 0;
  std::uint64_t released_expired = 0;
  std::uint64_t resumed = 0;
  std::uint64_t left_waiting = 0;
  InventoryLevel inventory_level{1, 0};
  TimePoint inventory_probed_at;  // epoch: the first tick probes
  bool sold_out = false;

  std::uint32_t Second(TimePoint now) const {
    const auto elapsed = duration_cast<seconds>(now - base).count();
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(elapsed, 0, kSlotTimeMask));
  }
  std::uint64_t Effective(std::uint64_t number) const {
    return number <= prequeue_size && shuffle ? shuffle->Permute(number - 1) + 1 : number;
  }
  std::uint64_t NumberAt(std::uint64_t sequence) const {
    return sequence <= prequeue_size && shuffle ? shuffle->Unpermute(sequence - 1) + 1 : sequence;
  }
  std::uint32_t& Slot(std::uint64_t number) {
    if (slots.size() < number) slots.resize(number, PackSlot(kSlotUnknown, 0));
    return slots[number - 1];
  }
  std::uint64_t Waiting() const {
    const std::uint64_t issued = next - 1;
    return (issued > serving ? issued - serving : 0) + returned.size() - left_pending;
  }
  PollLoad Load() const { return {Waiting(), Outflow(), settings.poll_budget_per_s}; }
  double Outflow() const {
    return outflow_measured && outflow_per_s > 0
               ? outflow_per_s
               : static_cast<double>(settings.admission_rate_per_s);
  }
  // Opens the on-sale: fixes the pre-queue (numbers handed out so far) and, for a shuffled
  // event, its draw. Returns whether it opened now.
  bool OpenIfDue(TimePoint now, QueueStore& store) {
    if (opened || (onsale_at && now < *onsale_at)) return false;
    opened = true;
    opened_second = Second(now);
    if (settings.policy == QueuePolicy::kShufflePrequeue) {
      prequeue_size = next - 1;
      shuffle = std::make_unique<Shuffle>(seed, prequeue_size);
      store.Put(id, "prequeue_size", std::to_string(prequeue_size), nullptr);
    }
    return true;
  }
  TimePoint AccessExpiry(std::uint32_t admitted_second) const {
    return base + seconds(admitted_second) + seconds(settings.access_ttl_s);
  }
  // Admits as many fans as the budget earned over `gap` and the free active slots allow,
  // passing over those who have gone quiet for longer than `abandon_after_s`. Returns how many it
  // admitted.
  std::uint64_t Admit(TimePoint now, TimePoint::duration gap, std::uint32_t abandon_after_s) {
    if (!settings.enabled || settings.paused || sold_out) {
      budget = 0;
      return 0;
    }
    const std::int64_t rate = settings.admission_rate_per_s;
    const std::int64_t gap_us = std::chrono::duration_cast<std::chrono::microseconds>(gap).count();
    budget =
        std::min(budget + rate * gap_us, std::max<std::int64_t>(kFanMicros, rate * kFanMicros));
    const std::uint32_t now_second = Second(now);
    std::uint64_t admitted_now = 0;
    auto admit = [&](std::uint64_t number) {
      Slot(number) = PackSlot(kSlotAdmitted, now_second);
      active[number] = ActiveFan{now_second, ++admitted};
      access_expiry.emplace_back(AccessExpiry(now_second), number);
      budget -= kFanMicros;
      ++admitted_now;
    };
    std::uint64_t skips = 0;
    while (budget >= kFanMicros && active.size() < settings.max_active) {
      if (!returned.empty()) {
        const std::uint64_t number = returned.front();
        returned.pop_front();
        const SlotState state = SlotStateOf(Slot(number));
        if (state == kSlotWaiting) admit(number);
        if (state == kSlotLeft) --left_pending;
        continue;
      }
      if (serving >= next - 1 || skips >= kSkipsPerTickMax) break;
      const std::uint64_t number = NumberAt(++serving);
      const std::uint32_t slot = Slot(number);
      const std::uint32_t seen = std::max(SlotSecond(slot), opened_second);
      const SlotState state = SlotStateOf(slot);
      if (state == kSlotWaiting && now_second - std::min(now_second, seen) <= abandon_after_s) {
        admit(number);
        continue;
      }
      ++skips;
      if (state == kSlotWaiting || state == kSlotUnknown) {
        // Gone quiet (or unknown since a restart): no active slot is spent on them; they get the
        // next free one if they come back.
        Slot(number) = PackSlot(kSlotAbandoned, SlotSecond(slot));
        ++abandoned;
      } else if (state == kSlotLeft) {
        --left_pending;
      }
      // Otherwise taken on from a token after a restart, before the counter got here: done.
    }
    BOXOFFICE_CHECK(serving <= next - 1,
                    "the serving counter never passes the last sequence handed out");
    // Nobody left to admit: unused budget must not pile up into a burst.
    if (returned.empty() && serving >= next - 1) budget = std::min(budget, kFanMicros);
    return admitted_now;
  }

  // Gives an admitted fan's active slot back. From kSlotIdle (slot already given back) the place
  // only changes state, and nothing is counted twice.
  void Release(std::uint64_t number, AccessRelease cause, std::uint32_t now_second) {
    std::uint32_t& slot = Slot(number);
    const SlotState state = SlotStateOf(slot);
    if (state != kSlotAdmitted && state != kSlotIdle) return;
    const bool was_active = state == kSlotAdmitted;
    if (was_active) active.erase(number);
    switch (cause) {
      case AccessRelease::kIdle:
        if (!was_active) return;
        slot = PackSlot(kSlotIdle, SlotSecond(slot));  // keeps the admission second: the expiry
        ++released_idle;
        return;
      case AccessRelease::kOrdered:
        slot = PackSlot(kSlotOrdered, now_second);
        released_ordered += was_active;
        return;
      case AccessRelease::kLeft:
        slot = PackSlot(kSlotLeft, now_second);
        released_left += was_active;
        return;
      case AccessRelease::kExpired:
        slot = PackSlot(kSlotExpired, now_second);
        released_expired += was_active;
        return;
    }
  }

  // Ends the access that expired by `now`, and once a second gives back the slots of fans idle
  // for `idle_release_s`.
  void Sweep(TimePoint now) {
    const std::uint32_t now_second = Second(now);
    while (!access_expiry.empty() && access_expiry.front().first <= now) {
      Release(access_expiry.front().second, AccessRelease::kExpired, now_second);
      access_expiry.pop_front();
    }
    if (now_second == idle_swept_second) return;
    idle_swept_second = now_second;
    std::vector<std::uint64_t> idle;
    for (const auto& [number, fan] : active) {
      if (now_second - std::min(now_second, fan.last_active_second) >= settings.idle_release_s) {
        idle.push_back(number);
      }
    }
    for (std::uint64_t number : idle) Release(number, AccessRelease::kIdle, now_second);
  }

  // The fan gives up their place or their slot.
  void Leave(std::uint64_t number, std::uint32_t now_second) {
    std::uint32_t& slot = Slot(number);
    const SlotState state = SlotStateOf(slot);
    if (state == kSlotAdmitted || state == kSlotIdle) {
      Release(number, AccessRelease::kLeft, now_second);
      return;
    }
    if (IsSpent(state)) return;
    const bool counted = Effective(number) > serving ||
                         std::find(returned.begin(), returned.end(), number) != returned.end();
    slot = PackSlot(kSlotLeft, now_second);
    ++left_waiting;
    left_pending += counted;
  }

  // An inventory or checkout call with a valid access token for place `number`, expiring at
  // `expires_at`: the fan is active now, or is told why their access ended.
  Status Touch(std::uint64_t number, TimePoint expires_at, TimePoint now) {
    if (number == 0) return {};  // admitted at once: the queue was off when they joined
    if (number >= next) return InvalidAccess("The access token is not valid.");
    const std::uint32_t now_second = Second(now);
    std::uint32_t& slot = Slot(number);
    switch (SlotStateOf(slot)) {
      case kSlotAdmitted:
        active[number].last_active_second = now_second;
        return {};
      case kSlotIdle:
        active.emplace(number, ActiveFan{now_second, 0});
        slot = PackSlot(kSlotAdmitted, SlotSecond(slot));
        ++resumed;
        return {};
      case kSlotOrdered:
        return AccessEnded(AccessRelease::kOrdered,
                           "Your order used this access; join the queue again to buy more.");
      case kSlotLeft:
        return AccessEnded(AccessRelease::kLeft, "You left the queue; join it again to shop.");
      case kSlotExpired:
        return AccessEnded(AccessRelease::kExpired,
                           "The access token has expired; join the queue again.");
      case kSlotWaiting:
      case kSlotUnknown:
      case kSlotAbandoned:
        break;
    }
    // Admitted before a restart (the room forgot): the signature and expiry vouch for it.
    slot = PackSlot(kSlotAdmitted, Second(expires_at - seconds(settings.access_ttl_s)));
    active.emplace(number, ActiveFan{now_second, 0});
    const auto at =
        std::upper_bound(access_expiry.begin(), access_expiry.end(), expires_at,
                         [](TimePoint expiry, const auto& entry) { return expiry < entry.first; });
    access_expiry.emplace(at, expires_at, number);
    return {};
  }

  // Once a measuring window has passed: the smoothed admissions per second, and the counters
  // that changed since they were last written (set in `serving_to_persist`, `issued_to_persist`).
  void MeasureOutflow(TimePoint now, std::optional<std::uint64_t>& serving_to_persist,
                      std::optional<std::uint64_t>& issued_to_persist) {
    if (now - window_start < kMeasureWindow) return;
    const double sample = static_cast<double>(window_admitted) /
                          std::chrono::duration<double>(now - window_start).count();
    outflow_per_s = outflow_measured
                        ? kOutflowSmoothing * sample + (1 - kOutflowSmoothing) * outflow_per_s
                        : sample;
    outflow_measured = outflow_measured || window_admitted > 0;
    window_start = now;
    window_admitted = 0;
    if (serving != serving_persisted) {
      serving_persisted = serving;
      serving_to_persist = serving;
    }
    if (next - 1 != issued_persisted) {
      issued_persisted = next - 1;
      issued_to_persist = issued_persisted;
    }
  }
};

WaitingRoom::WaitingRoom(QueueStore& store, const Clock& clock, std::string_view server_secret,
                         WaitingRoomOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      ticket_signer_(server_secret, "queue_ticket"),
      access_signer_(server_secret, "access_token") {}

WaitingRoom::~WaitingRoom() = default;

namespace {

// Claims the next block of sequence numbers ahead of use (with the queue's lock held), so joins
// never wait on the disk; only a join that catches up with the durable mark is turned away (503
// queue_busy). The claimed mark is then written by `WriteMark` without the lock, because a store
// may complete the write on the caller's stack.
template <typename Queue>
std::optional<std::uint64_t> ClaimBlock(Queue& queue, std::uint64_t block, bool force) {
  if (!force && (queue.reserving.load() || queue.next + block / 2 <= queue.reserved)) {
    return std::nullopt;
  }
  queue.reserving.store(true);
  queue.reserved = std::max(queue.reserved, queue.next - 1) + block;
  return queue.reserved;
}

template <typename Queue>
void WriteMark(QueueStore& store, const std::shared_ptr<Queue>& queue, std::uint64_t mark,
               std::function<void(Status)> ready = nullptr) {
  store.Put(queue->id, "high_water", std::to_string(mark),
            [queue, mark, ready = std::move(ready)](Status written) {
              if (written) {
                std::uint64_t current = queue->durable_high_water.load();
                while (current < mark &&
                       !queue->durable_high_water.compare_exchange_weak(current, mark)) {
                }
              }
              queue->reserving.store(false);
              if (ready) ready(written);
            });
}

}  // namespace

void WaitingRoom::Attach(const EventDefinition& event, InventoryProbe inventory, bool restore,
                         std::function<void(Status)> ready) {
  auto queue = std::make_shared<EventQueue>();
  queue->id = event.id;
  queue->settings = event.queue;
  queue->onsale_at = event.onsale_at;
  queue->inventory = std::move(inventory);
  const TimePoint now = clock_.Now();
  // Early enough that an access token from before a restart has its admission second.
  queue->base = TimePoint(duration_cast<seconds>(now.time_since_epoch())) - seconds(kAccessTtlMaxS);
  queue->last_tick = now;
  queue->window_start = now;
  const bool shuffled = event.queue.policy == QueuePolicy::kShufflePrequeue;

  if (restore) {
    auto read = [&](std::string_view field) -> std::optional<std::string> {
      Result<std::optional<std::string>> value = store_.Get(event.id, field);
      return value ? *value : std::nullopt;
    };
    if (auto mark = read("high_water"); mark && ParseUint(*mark)) {
      // Numbers up to the old mark may be in fans' hands: start above it, never reissue.
      queue->reserved = *ParseUint(*mark);
      queue->durable_high_water = queue->reserved;
      queue->next = queue->reserved + 1;
      queue->slots.assign(queue->reserved, PackSlot(kSlotUnknown, 0));
    }
    if (auto serving = read("serving"); serving && ParseUint(*serving)) {
      queue->serving = queue->serving_persisted = *ParseUint(*serving);
    }
    if (auto issued = read("issued"); issued && ParseUint(*issued)) {
      // Numbers handed out before the restart count as seen now, so the counter does not race
      // past fans who simply have not polled yet; numbers above (reserved but most likely never
      // handed out) stay unknown and are skipped unless their holder shows up.
      const std::uint64_t known = std::min<std::uint64_t>(*ParseUint(*issued), queue->slots.size());
      std::fill(queue->slots.begin(), queue->slots.begin() + static_cast<std::ptrdiff_t>(known),
                PackSlot(kSlotWaiting, queue->Second(now)));
      queue->issued_persisted = known;
    }
    if (auto settings = read("settings")) {
      boost::system::error_code error;
      json::value parsed = json::parse(*settings, error);
      if (!error && parsed.is_object()) {
        const json::object& object = parsed.get_object();
        if (auto* rate = object.if_contains("admission_rate_per_s"); rate && rate->is_number()) {
          queue->settings.admission_rate_per_s = rate->to_number<std::uint32_t>();
        }
        if (auto* max = object.if_contains("max_active"); max && max->is_number()) {
          queue->settings.max_active = max->to_number<std::uint32_t>();
        }
        if (auto* paused = object.if_contains("paused"); paused && paused->is_bool()) {
          queue->settings.paused = paused->get_bool();
        }
      }
    }
    if (auto seed = read("seed")) queue->seed = *seed;
    if (auto size = read("prequeue_size"); size && ParseUint(*size)) {
      queue->opened = true;
      queue->opened_second = queue->Second(now);
      queue->prequeue_size = *ParseUint(*size);
      if (shuffled && !queue->seed.empty()) {
        queue->shuffle = std::make_unique<Shuffle>(queue->seed, queue->prequeue_size);
      }
    }
  }
  if (shuffled && queue->seed.empty()) {
    queue->seed = HexEncode(RandomBytes(kSeedBytes));
    store_.Put(event.id, "seed", queue->seed, nullptr);
  }
  queue->OpenIfDue(now, store_);
  // Not yet visible to other threads: no lock needed until it is published below.
  const std::uint64_t mark = *ClaimBlock(*queue, options_.sequence_block, true);
  {
    std::unique_lock lock(events_mutex_);
    events_[event.id] = queue;
  }
  // The store writes in order, so once this block is durable the seed is too.
  WriteMark(store_, queue, mark, std::move(ready));
}

std::shared_ptr<WaitingRoom::EventQueue> WaitingRoom::Find(std::string_view event_id) const {
  std::shared_lock lock(events_mutex_);
  auto found = events_.find(event_id);
  return found == events_.end() ? nullptr : found->second;
}

std::vector<std::string> WaitingRoom::EventIds() const {
  std::shared_lock lock(events_mutex_);
  std::vector<std::string> ids;
  ids.reserve(events_.size());
  for (const auto& [id, queue] : events_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

namespace {

// The fan's view for ticket `number` (0: admitted at once, the queue being disabled). Runs with
// the queue's lock held; marks the fan as seen.
template <typename Queue>
FanView ViewLocked(Queue& queue, std::uint64_t number, TimePoint now,
                   const TokenSigner& access_signer, std::string_view session_id) {
  FanView view;
  auto admit_view = [&](TimePoint expires_at) {
    view.state = FanState::kAdmitted;
    view.position = 0;
    view.eta_s = 0;
    view.access_expires_at = expires_at;
    view.access_token =
        access_signer.Sign({queue.id, std::string(session_id), std::to_string(Millis(expires_at)),
                            std::to_string(number)});
    // An admitted fan polls only to pick up the token; nothing changes until it expires.
    view.retry_after_s = kRetryAfterMaxS;
  };
  if (!queue.settings.enabled || number == 0) {
    admit_view(now + seconds(queue.settings.access_ttl_s));
    return view;
  }
  view.sequence = number;
  const std::uint32_t now_second = queue.Second(now);
  std::uint32_t& slot = queue.Slot(number);
  if (!queue.opened && !IsSpent(SlotStateOf(slot))) {
    slot = PackSlot(kSlotWaiting, now_second);
    view.state = FanState::kPrequeue;
    if (!queue.shuffle && queue.settings.policy == QueuePolicy::kFifo) view.position = number;
    const auto until_open =
        queue.onsale_at ? duration_cast<seconds>(*queue.onsale_at - now).count() : 0;
    view.eta_s = static_cast<std::uint64_t>(std::max<std::int64_t>(until_open, 0));
    view.retry_after_s =
        PrequeuePollIntervalS(*view.eta_s, queue.next - 1, queue.settings.poll_budget_per_s);
    return view;
  }
  const SlotState state = SlotStateOf(slot);
  if (state == kSlotAdmitted || state == kSlotIdle) {
    const TimePoint expires_at = queue.AccessExpiry(SlotSecond(slot));
    if (now < expires_at) {
      admit_view(expires_at);
      if (auto active = queue.active.find(number);
          active != queue.active.end() && active->second.admitted_as != 0) {
        view.admitted_as = active->second.admitted_as;
      }
      return view;
    }
    queue.Release(number, AccessRelease::kExpired, now_second);
  }
  if (IsSpent(SlotStateOf(slot))) {
    // The shopping window is over, or the fan left: the place is spent.
    view.state = FanState::kClosed;
    view.retry_after_s = kRetryAfterMaxS;
    const SlotState spent = SlotStateOf(slot);
    view.access_released = spent == kSlotOrdered ? AccessRelease::kOrdered
                           : spent == kSlotLeft  ? AccessRelease::kLeft
                                                 : AccessRelease::kExpired;
    return view;
  }
  std::uint64_t position = 0;
  const std::uint64_t sequence = queue.Effective(number);
  if (sequence > queue.serving) {
    slot = PackSlot(kSlotWaiting, now_second);
    position = sequence - queue.serving + queue.returned.size();
  } else {
    // The counter passed this fan while away (or before a restart): back in at the next free
    // slot, ahead of everyone behind.
    auto found = std::find(queue.returned.begin(), queue.returned.end(), number);
    if (found == queue.returned.end()) {
      queue.returned.push_back(number);
      found = queue.returned.end() - 1;
    }
    slot = PackSlot(kSlotWaiting, now_second);
    position = static_cast<std::uint64_t>(found - queue.returned.begin()) + 1;
  }
  view.state = queue.sold_out ? FanState::kSoldOut : FanState::kWaiting;
  view.position = position;
  const PollLoad load = queue.Load();
  const auto eta =
      static_cast<std::uint64_t>(std::ceil(static_cast<double>(position) / load.outflow_per_s));
  view.eta_s = eta;
  if (queue.settings.paused && !queue.sold_out) {
    // Nobody moves while the operator holds the doors: no time can be promised.
    view.paused = true;
    view.eta_s.reset();
  }
  // Near the front poll every second; far back, rarely, within the event's poll budget.
  view.retry_after_s =
      queue.sold_out ? PollIntervalCapS(load) : PollIntervalS(position, eta, sequence, load);
  if (!queue.sold_out && queue.inventory_level.available == 0 && queue.inventory_level.held > 0) {
    view.seats_held = queue.inventory_level.held;
  }
  return view;
}

}  // namespace

Result<FanView> WaitingRoom::Join(std::string_view event_id, const FanIdentity& fan) {
  std::shared_ptr<EventQueue> queue = Find(event_id);
  if (!queue) return EventNotFound(event_id);
  const TimePoint now = clock_.Now();
  std::hash<std::string> hash;
  std::vector<std::uint64_t> keys{hash("s:" + fan.session_id)};
  if (!fan.customer_id.empty()) keys.push_back(hash("c:" + fan.customer_id));
  if (!fan.device_id.empty()) keys.push_back(hash("d:" + fan.device_id));

  std::unique_lock lock(queue->mutex);
  std::uint64_t number = 0;
  bool created = false;
  std::optional<std::uint64_t> mark;
  if (queue->settings.enabled) {
    // A place whose access ended (ordered, left, expired) no longer counts: the fan joins anew.
    for (std::uint64_t key : keys) {
      if (auto found = queue->identities.find(key);
          found != queue->identities.end() && !IsSpent(SlotStateOf(queue->Slot(found->second)))) {
        number = found->second;
        break;
      }
    }
    if (number == 0) {
      if (queue->Waiting() >= options_.queue_length_max) {
        Error error = Error::Make(ErrorKind::kUnavailable, "queue_full",
                                  "The queue for this event is full; try again later.");
        error.retry_after_s = kRetryAfterMaxS;
        return error;
      }
      if (queue->next > queue->durable_high_water.load()) {
        mark = ClaimBlock(*queue, options_.sequence_block, false);
        lock.unlock();
        if (mark) WriteMark(store_, queue, *mark);
        Error error = Error::Make(ErrorKind::kUnavailable, "queue_busy",
                                  "The queue is taking in a burst of fans; try again shortly.");
        error.retry_after_s = 1;
        return error;
      }
      number = queue->next++;
      ++queue->joined;
      created = true;
      mark = ClaimBlock(*queue, options_.sequence_block, false);
    }
    for (std::uint64_t key : keys) {
      if (created) {
        queue->identities.insert_or_assign(key, number);
      } else {
        queue->identities.emplace(key, number);
      }
    }
  } else {
    // Admitted at once, but a second join is still "the same place" (200), as the contract says.
    created = std::none_of(keys.begin(), keys.end(),
                           [&](std::uint64_t key) { return queue->identities.contains(key); });
    if (created && queue->identities.size() < options_.queue_length_max) {
      for (std::uint64_t key : keys) queue->identities.emplace(key, 0);
    }
  }
  FanView view = ViewLocked(*queue, number, now, access_signer_, fan.session_id);
  lock.unlock();
  if (mark) WriteMark(store_, queue, *mark);
  view.created = created;
  view.queue_ticket = ticket_signer_.Sign(
      {queue->id, std::to_string(number), fan.session_id, std::to_string(Millis(now))});
  return view;
}

Result<std::uint64_t> WaitingRoom::TicketNumber(std::string_view event_id,
                                                std::string_view session_id,
                                                std::string_view queue_ticket) const {
  if (queue_ticket.empty()) {
    return Error::Make(ErrorKind::kUnauthenticated, "missing_queue_ticket",
                       "This call needs the queue ticket: X-Queue-Ticket: TICKET.");
  }
  std::optional<TokenFields> fields = ticket_signer_.VerifyFields(queue_ticket);
  if (!fields || fields->size() != 4) return InvalidTicket("The queue ticket is not valid.");
  if ((*fields)[0] != event_id) return InvalidTicket("The queue ticket is for another event.");
  if ((*fields)[2] != session_id) return InvalidTicket("The queue ticket is another session's.");
  std::optional<std::uint64_t> number = ParseUint((*fields)[1]);
  if (!number) return InvalidTicket("The queue ticket is not valid.");
  return *number;
}

Result<FanView> WaitingRoom::Poll(std::string_view event_id, std::string_view session_id,
                                  std::string_view queue_ticket) {
  std::shared_ptr<EventQueue> queue = Find(event_id);
  if (!queue) return EventNotFound(event_id);
  Result<std::uint64_t> number = TicketNumber(event_id, session_id, queue_ticket);
  if (!number) return number.error();
  const TimePoint now = clock_.Now();
  std::lock_guard lock(queue->mutex);
  if (*number >= queue->next && *number != 0) return InvalidTicket("The queue ticket is unknown.");
  FanView view = ViewLocked(*queue, *number, now, access_signer_, session_id);
  view.queue_ticket = std::string(queue_ticket);
  return view;
}

Status WaitingRoom::Leave(std::string_view event_id, std::string_view session_id,
                          std::string_view queue_ticket) {
  std::shared_ptr<EventQueue> queue = Find(event_id);
  if (!queue) return EventNotFound(event_id);
  Result<std::uint64_t> number = TicketNumber(event_id, session_id, queue_ticket);
  if (!number) return number.error();
  const TimePoint now = clock_.Now();
  std::lock_guard lock(queue->mutex);
  if (*number == 0) return {};  // admitted at once: no place to give up
  if (*number >= queue->next) return InvalidTicket("The queue ticket is unknown.");
  queue->Leave(*number, queue->Second(now));
  return {};
}

void WaitingRoom::Control(std::string_view event_id, const QueueControls& controls,
                          std::function<void(Result<QueueSettings>)> done) {
  std::shared_ptr<EventQueue> queue = Find(event_id);
  if (!queue) return done(EventNotFound(event_id));
  QueueSettings settings;
  {
    std::lock_guard lock(queue->mutex);
    if (controls.admission_rate_per_s) {
      queue->settings.admission_rate_per_s = *controls.admission_rate_per_s;
    }
    if (controls.max_active) queue->settings.max_active = *controls.max_active;
    if (controls.paused) queue->settings.paused = *controls.paused;
    settings = queue->settings;
  }
  const json::object stored{{"admission_rate_per_s", settings.admission_rate_per_s},
                            {"max_active", settings.max_active},
                            {"paused", settings.paused}};
  store_.Put(event_id, "settings", json::serialize(stored),
             [this, settings, id = std::string(event_id), done = std::move(done)](Status written) {
               if (!written) return done(written.error());
               NotifyPublicChange(id);
               done(settings);
             });
}

Result<QueueSettings> WaitingRoom::Settings(std::string_view event_id) const {
  std::shared_ptr<EventQueue> queue = Find(event_id);
  if (!queue) return EventNotFound(event_id);
  std::lock_guard lock(queue->mutex);
  return queue->settings;
}

Result<boost::json::object> WaitingRoom::PublicQueueJson(std::string_view event_id) const {
  std::shared_ptr<EventQueue> queue = Find(event_id);
  if (!queue) return EventNotFound(event_id);
  std::lock_guard lock(queue->mutex);
  const QueueSettings& settings = queue->settings;
  json::object out{{"enabled", settings.enabled},
                   {"policy", QueuePolicyName(settings.policy)},
                   {"admission_rate_per_s", settings.admission_rate_per_s},
                   {"max_active", settings.max_active},
                   {"access_ttl_s", settings.access_ttl_s},
                   {"paused", settings.paused},
                   {"idle_release_s", settings.idle_release_s},
                   {"poll_budget_per_s", settings.poll_budget_per_s},
                   {"order_ends_access", settings.order_ends_access}};
  if (!queue->seed.empty()) {
    // The commitment is public from the start; the seed itself only once the draw is fixed.
    out["seed_sha256"] = Sha256Hex(queue->seed);
    if (queue->opened) {
      out["seed"] = queue->seed;
      out["prequeue_size"] = queue->prequeue_size;
    }
  }
  return out;
}

Result<QueueStats> WaitingRoom::Stats(std::string_view event_id) const {
  std::shared_ptr<EventQueue> queue = Find(event_id);
  if (!queue) return EventNotFound(event_id);
  std::lock_guard lock(queue->mutex);
  QueueStats stats;
  stats.joined = queue->joined;
  stats.waiting = queue->Waiting();
  stats.serving = queue->serving;
  stats.active = queue->active.size();
  stats.admitted = queue->admitted;
  stats.abandoned = queue->abandoned;
  stats.released_ordered = queue->released_ordered;
  stats.released_left = queue->released_left;
  stats.released_idle = queue->released_idle;
  stats.released_expired = queue->released_expired;
  stats.resumed = queue->resumed;
  stats.left_waiting = queue->left_waiting;
  stats.admitted_per_s = queue->outflow_measured ? queue->outflow_per_s : 0;
  return stats;
}

void WaitingRoom::SetPublicChangeHook(std::function<void(const std::string&)> hook) {
  std::lock_guard lock(hook_mutex_);
  public_change_hook_ = std::move(hook);
}

void WaitingRoom::NotifyPublicChange(const std::string& event_id) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard lock(hook_mutex_);
    hook = public_change_hook_;
  }
  if (hook) hook(event_id);
}

void WaitingRoom::Tick() {
  std::vector<std::shared_ptr<EventQueue>> queues;
  {
    std::shared_lock lock(events_mutex_);
    queues.reserve(events_.size());
    for (const auto& [id, queue] : events_) queues.push_back(queue);
  }
  for (const std::shared_ptr<EventQueue>& queue : queues) {
    const TimePoint now = clock_.Now();
    // A count scans the whole seat table, so it is taken at most every kInventoryProbeEvery,
    // only for queues in use, and outside the queue's lock.
    bool probe = false;
    {
      std::lock_guard lock(queue->mutex);
      probe = queue->inventory && queue->settings.enabled &&
              now - queue->inventory_probed_at >= kInventoryProbeEvery;
      if (probe) queue->inventory_probed_at = now;
    }
    const std::optional<InventoryLevel> level =
        probe ? std::optional<InventoryLevel>(queue->inventory()) : std::nullopt;
    bool opened_now = false;
    std::optional<std::uint64_t> serving_to_persist;
    std::optional<std::uint64_t> issued_to_persist;
    {
      std::lock_guard lock(queue->mutex);
      if (level) {
        queue->inventory_level = *level;
        queue->sold_out = level->available == 0 && level->held == 0;
      }
      const auto gap = std::clamp<TimePoint::duration>(now - queue->last_tick,
                                                       TimePoint::duration::zero(), kTickGapMax);
      queue->last_tick = now;
      if (!queue->opened) {
        opened_now = queue->OpenIfDue(now, store_);
        if (!opened_now) continue;
      }
      queue->Sweep(now);
      queue->window_admitted += queue->Admit(now, gap, options_.abandon_after_s);
      queue->MeasureOutflow(now, serving_to_persist, issued_to_persist);
    }
    if (serving_to_persist) {
      store_.Put(queue->id, "serving", std::to_string(*serving_to_persist), nullptr);
    }
    if (issued_to_persist) {
      store_.Put(queue->id, "issued", std::to_string(*issued_to_persist), nullptr);
    }
    if (opened_now) NotifyPublicChange(queue->id);
  }
}

namespace {

// An access token's fields once its signature, event, session and expiry are checked: the
// expiry and the place's number (absent in tokens signed before closed-loop admission).
struct AccessFields {
  TimePoint expires_at;
  std::optional<std::uint64_t> number;
};

Result<AccessFields> CheckAccessToken(const TokenSigner& signer, std::string_view event_id,
                                      std::string_view session_id, std::string_view access_token,
                                      TimePoint now) {
  if (access_token.empty()) {
    return Error::Make(ErrorKind::kUnauthenticated, "missing_access_token",
                       "This call needs an access token from the queue: X-Access-Token.");
  }
  std::optional<std::vector<std::string>> fields = signer.Verify(access_token);
  if (!fields || (fields->size() != 3 && fields->size() != 4)) {
    return InvalidAccess("The access token is not valid.");
  }
  if ((*fields)[0] != event_id) return InvalidAccess("The access token is for another event.");
  if ((*fields)[1] != session_id) return InvalidAccess("The access token is another session's.");
  std::optional<std::uint64_t> expires_ms = ParseUint((*fields)[2]);
  if (!expires_ms) return InvalidAccess("The access token is not valid.");
  if (static_cast<std::int64_t>(*expires_ms) <= Millis(now)) {
    return InvalidAccess("The access token has expired; join the queue again.");
  }
  AccessFields access{TimePoint(milliseconds(*expires_ms)), std::nullopt};
  if (fields->size() == 4) {
    access.number = ParseUint((*fields)[3]);
    if (!access.number) return InvalidAccess("The access token is not valid.");
  }
  return access;
}

}  // namespace

Status WaitingRoom::VerifyAccess(std::string_view event_id, std::string_view session_id,
                                 std::string_view access_token) {
  const TimePoint now = clock_.Now();
  Result<AccessFields> access =
      CheckAccessToken(access_signer_, event_id, session_id, access_token, now);
  if (!access) return access.error();
  if (!access->number) return {};  // signed before closed-loop admission: its expiry rules
  std::shared_ptr<EventQueue> queue = Find(event_id);
  if (!queue) return InvalidAccess("The access token is for another event.");
  std::lock_guard lock(queue->mutex);
  return queue->Touch(*access->number, access->expires_at, now);
}

void WaitingRoom::OrderConfirmed(std::string_view event_id, std::string_view session_id,
                                 std::string_view access_token) {
  const TimePoint now = clock_.Now();
  Result<AccessFields> access =
      CheckAccessToken(access_signer_, event_id, session_id, access_token, now);
  if (!access || !access->number || *access->number == 0) return;
  std::shared_ptr<EventQueue> queue = Find(event_id);
  if (!queue) return;
  std::lock_guard lock(queue->mutex);
  if (*access->number >= queue->next) return;
  if (queue->settings.order_ends_access) {
    queue->Release(*access->number, AccessRelease::kOrdered, queue->Second(now));
  } else {
    (void)queue->Touch(*access->number, access->expires_at, now);
  }
}

}  // namespace boxoffice
