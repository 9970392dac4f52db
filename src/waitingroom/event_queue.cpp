#include "waitingroom/event_queue.hpp"

#include <cmath>

#include "common/check.hpp"

namespace boxoffice {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

// Bounds the work of one tick when the counter passes a long run of fans who left (or of
// numbers a crash skipped), so a tick never stalls the other events.
constexpr std::uint64_t kSkipsPerTickMax = 1'000'000;
constexpr std::int64_t kFanMicros = 1'000'000;  // one admission in the budget's unit
constexpr double kOutflowSmoothing = 0.3;       // weight of the newest one-second sample
constexpr auto kMeasureWindow = seconds(1);

}  // namespace

Error InvalidAccess(std::string message) {
  return Error::Make(ErrorKind::kUnauthenticated, "invalid_access_token", std::move(message));
}

Error AccessEnded(AccessRelease release, std::string message) {
  return Error::Make(ErrorKind::kUnauthenticated, "invalid_access_token", std::move(message),
                     {{"access_released", AccessReleaseName(release)}});
}

bool WaitingRoom::EventQueue::OpenIfDue(TimePoint now, QueueStore& store) {
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

std::uint64_t WaitingRoom::EventQueue::Admit(TimePoint now, TimePoint::duration gap,
                                             std::uint32_t abandon_after_s) {
  // Nothing on sale (sold out, or every seat left held): an admitted fan would find nothing to
  // buy and only keep a slot from the fan behind, so nobody is admitted until holds return seats.
  if (!settings.enabled || settings.paused || sold_out || inventory_level.available == 0) {
    budget = 0;
    return 0;
  }
  const std::int64_t rate = settings.admission_rate_per_s;
  const std::int64_t gap_us = std::chrono::duration_cast<std::chrono::microseconds>(gap).count();
  budget = std::min(budget + rate * gap_us, std::max<std::int64_t>(kFanMicros, rate * kFanMicros));
  const std::uint32_t now_second = Second(now);
  std::uint64_t admitted_now = 0;
  auto admit = [&](std::uint64_t number) {
    Slot(number) = PackSlot(kSlotAdmitted, now_second);
    active[number] = ActiveFan{now_second, ++admitted};
    access_expiry.emplace_back(AccessExpiry(now_second), number);
    budget -= kFanMicros;
    ++admitted_now;
  };
  // A fan in line counts as there when seen within abandon_after_s (or since the on-sale opened).
  auto present = [&](std::uint32_t slot) {
    const std::uint32_t seen = std::max(SlotSecond(slot), opened_second);
    return SlotStateOf(slot) == kSlotWaiting &&
           now_second - std::min(now_second, seen) <= abandon_after_s;
  };
  auto abandon = [&](std::uint64_t number, std::uint32_t slot) {
    Slot(number) = PackSlot(kSlotAbandoned, SlotSecond(slot));
    ++abandoned;
  };
  std::uint64_t skips = 0;
  while (budget >= kFanMicros && active.size() < settings.max_active) {
    if (!returned.empty()) {
      const std::uint64_t number = returned.front();
      returned.pop_front();
      const std::uint32_t slot = Slot(number);
      // Back, then quiet again: no slot is spent on them either; if they come back once more,
      // they go in at the end of those returning.
      if (present(slot)) {
        admit(number);
      } else if (SlotStateOf(slot) == kSlotWaiting) {
        abandon(number, slot);
      } else if (SlotStateOf(slot) == kSlotLeft) {
        --left_pending;
      }
      continue;
    }
    if (serving >= next - 1 || skips >= kSkipsPerTickMax) break;
    const std::uint64_t number = NumberAt(++serving);
    const std::uint32_t slot = Slot(number);
    const SlotState state = SlotStateOf(slot);
    if (present(slot)) {
      admit(number);
      continue;
    }
    ++skips;
    if (state == kSlotUnknown && InUnissuedGap(number)) {
      --unissued;  // a number nobody was given: nothing to count
    } else if (state == kSlotWaiting || state == kSlotUnknown) {
      // Gone quiet (or unknown since a restart): no active slot is spent on them; they get the
      // next free one if they come back.
      abandon(number, slot);
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

void WaitingRoom::EventQueue::Release(std::uint64_t number, AccessRelease cause,
                                      std::uint32_t now_second) {
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

void WaitingRoom::EventQueue::Sweep(TimePoint now) {
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

void WaitingRoom::EventQueue::Leave(std::uint64_t number, std::uint32_t now_second) {
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

Status WaitingRoom::EventQueue::Touch(std::uint64_t number, TimePoint expires_at, TimePoint now) {
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

void WaitingRoom::EventQueue::MeasureOutflow(TimePoint now,
                                             std::optional<std::uint64_t>& serving_to_persist,
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

FanView WaitingRoom::EventQueue::View(std::uint64_t number, TimePoint now,
                                      const TokenSigner& access_signer,
                                      std::string_view session_id) {
  FanView view;
  auto admit_view = [&](TimePoint expires_at) {
    view.state = FanState::kAdmitted;
    view.position = 0;
    view.eta_s = 0;
    view.access_expires_at = expires_at;
    view.access_token = access_signer.Sign(
        {id, std::string(session_id), std::to_string(Millis(expires_at)), std::to_string(number)});
    // An admitted fan polls only to pick up the token; nothing changes until it expires.
    view.retry_after_s = kRetryAfterMaxS;
  };
  if (!settings.enabled || number == 0) {
    admit_view(now + seconds(settings.access_ttl_s));
    return view;
  }
  view.sequence = number;
  const std::uint32_t now_second = Second(now);
  std::uint32_t& slot = Slot(number);
  if (!opened && !IsSpent(SlotStateOf(slot))) {
    slot = PackSlot(kSlotWaiting, now_second);
    view.state = FanState::kPrequeue;
    view.message = settings.message;
    if (!shuffle && settings.policy == QueuePolicy::kFifo) view.position = number;
    const auto until_open = onsale_at ? duration_cast<seconds>(*onsale_at - now).count() : 0;
    view.eta_s = static_cast<std::uint64_t>(std::max<std::int64_t>(until_open, 0));
    view.retry_after_s = PrequeuePollIntervalS(*view.eta_s, next - 1, settings.poll_budget_per_s);
    return view;
  }
  const SlotState state = SlotStateOf(slot);
  if (state == kSlotAdmitted || state == kSlotIdle) {
    const TimePoint expires_at = AccessExpiry(SlotSecond(slot));
    if (now < expires_at) {
      admit_view(expires_at);
      if (auto fan = active.find(number); fan != active.end() && fan->second.admitted_as != 0) {
        view.admitted_as = fan->second.admitted_as;
      }
      return view;
    }
    Release(number, AccessRelease::kExpired, now_second);
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
  const std::uint64_t sequence = Effective(number);
  if (sequence > serving) {
    if (SlotStateOf(slot) == kSlotUnknown && InUnissuedGap(number)) --unissued;  // it was issued
    slot = PackSlot(kSlotWaiting, now_second);
    position = sequence - serving + returned.size();
  } else {
    // The counter passed this fan while away (or before a restart): back in at the next free
    // slot, ahead of everyone behind.
    auto found = std::find(returned.begin(), returned.end(), number);
    if (found == returned.end()) {
      returned.push_back(number);
      found = returned.end() - 1;
    }
    slot = PackSlot(kSlotWaiting, now_second);
    position = static_cast<std::uint64_t>(found - returned.begin()) + 1;
  }
  view.state = sold_out ? FanState::kSoldOut : FanState::kWaiting;
  view.position = position;
  if (!sold_out) view.message = settings.message;
  const PollLoad load = Load();
  const auto eta =
      static_cast<std::uint64_t>(std::ceil(static_cast<double>(position) / load.outflow_per_s));
  view.eta_s = eta;
  if (settings.paused && !sold_out) {
    // Nobody moves while the operator holds the doors: no time can be promised.
    view.paused = true;
    view.eta_s.reset();
  }
  // Near the front poll every second; far back, rarely, within the event's poll budget.
  view.retry_after_s = sold_out ? PollIntervalCapS(load) : PollIntervalS(position, sequence, load);
  if (!sold_out && inventory_level.available == 0 && inventory_level.held > 0) {
    view.seats_held = inventory_level.held;
  }
  return view;
}

}  // namespace boxoffice
