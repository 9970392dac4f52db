// One event's queue inside the waiting room (waitingroom/waiting_room.hpp): its counters, the
// slots of its fans, the fans shopping now, and the steps of the admission controller. Internal
// to the waiting room: only waiting_room.cpp and event_queue.cpp include it.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/token.hpp"
#include "waitingroom/poll_budget.hpp"
#include "waitingroom/shuffle.hpp"
#include "waitingroom/waiting_room.hpp"

namespace boxoffice {

inline constexpr std::uint32_t kRetryAfterMaxS = 30;  // admitted, closed, queue_full

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

inline std::uint32_t PackSlot(SlotState state, std::uint32_t second) {
  return (static_cast<std::uint32_t>(state) << kSlotStateShift) | (second & kSlotTimeMask);
}
inline SlotState SlotStateOf(std::uint32_t slot) {
  return static_cast<SlotState>(slot >> kSlotStateShift);
}
// A place whose access ended for good: a new join takes a new place.
inline bool IsSpent(SlotState state) {
  return state == kSlotOrdered || state == kSlotLeft || state == kSlotExpired;
}
inline std::uint32_t SlotSecond(std::uint32_t slot) { return slot & kSlotTimeMask; }

// 401 invalid_access_token; AccessEnded says why in details.access_released.
Error InvalidAccess(std::string message);
Error AccessEnded(AccessRelease release, std::string message);

inline std::int64_t Millis(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
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
  // After a restart: numbers in (unissued_after, unissued_upto] were reserved but most likely
  // never handed out; `unissued` of them are still unknown and ahead of the counter, and do not
  // count as waiting.
  std::uint64_t unissued_after = 0;
  std::uint64_t unissued_upto = 0;
  std::uint64_t unissued = 0;
  bool InUnissuedGap(std::uint64_t number) const {
    return number > unissued_after && number <= unissued_upto;
  }
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
  // `released_ordered` when `inventory_level` was read: a buyer's slot freed since then is not
  // given to anyone before the level is read again, since that buyer's seats may have been the
  // last (hold and order inside one tick).
  std::uint64_t inventory_probed_orders = 0;
  bool sold_out = false;

  std::uint32_t Second(TimePoint now) const {
    const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - base).count();
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
    return (issued > serving ? issued - serving : 0) + returned.size() - left_pending - unissued;
  }
  PollLoad Load() const { return {Waiting(), Outflow(), settings.poll_budget_per_s}; }
  double Outflow() const {
    return outflow_measured && outflow_per_s > 0
               ? outflow_per_s
               : static_cast<double>(settings.admission_rate_per_s);
  }
  // Opens the on-sale: fixes the pre-queue (numbers handed out so far) and, for a shuffled
  // event, its draw. Returns whether it opened now.
  bool OpenIfDue(TimePoint now, QueueStore& store);
  TimePoint AccessExpiry(std::uint32_t admitted_second) const {
    return base + std::chrono::seconds(admitted_second) +
           std::chrono::seconds(settings.access_ttl_s);
  }
  // Admits as many fans as the budget earned over `gap` and the free active slots allow,
  // passing over those who have gone quiet for longer than `abandon_after_s`. Returns how many it
  // admitted.
  std::uint64_t Admit(TimePoint now, TimePoint::duration gap, std::uint32_t abandon_after_s);

  // Gives an admitted fan's active slot back. From kSlotIdle (slot already given back) the place
  // only changes state, and nothing is counted twice.
  void Release(std::uint64_t number, AccessRelease cause, std::uint32_t now_second);

  // Ends the access that expired by `now`, and once a second gives back the slots of fans idle
  // for `idle_release_s`.
  void Sweep(TimePoint now);

  // The fan gives up their place or their slot.
  void Leave(std::uint64_t number, std::uint32_t now_second);

  // An inventory or checkout call with a valid access token for place `number`, expiring at
  // `expires_at`: the fan is active now, or is told why their access ended.
  Status Touch(std::uint64_t number, TimePoint expires_at, TimePoint now);

  // Once a measuring window has passed: the smoothed admissions per second, and the counters
  // that changed since they were last written (set in `serving_to_persist`, `issued_to_persist`).
  void MeasureOutflow(TimePoint now, std::optional<std::uint64_t>& serving_to_persist,
                      std::optional<std::uint64_t>& issued_to_persist);

  // The fan's view for ticket `number` (0: admitted at once, the queue being disabled). Runs with
  // the queue's lock held; marks the fan as seen.
  FanView View(std::uint64_t number, TimePoint now, const TokenSigner& access_signer,
               std::string_view session_id);
};

}  // namespace boxoffice
