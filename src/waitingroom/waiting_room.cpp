#include "waitingroom/waiting_room.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <charconv>
#include <cmath>
#include <deque>
#include <vector>

#include "common/check.hpp"
#include "common/crypto.hpp"
#include "common/failpoint.hpp"
#include "common/json_text.hpp"
#include "common/time.hpp"
#include "waitingroom/event_queue.hpp"
#include "waitingroom/shuffle.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::size_t kSeedBytes = 32;
constexpr auto kTickGapMax = seconds(1);

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

Error QueueClosed() {
  return Error::Make(ErrorKind::kConflict, "queue_closed",
                     "The queue for this event is closed to new fans.");
}

Error InvalidQueueTicket(std::string message) {
  return Error::Make(ErrorKind::kUnauthenticated, "invalid_queue_ticket", std::move(message));
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

WaitingRoom::WaitingRoom(QueueStore& store, const Clock& clock, const SigningSecrets& secrets,
                         WaitingRoomOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      ticket_signer_(secrets, "queue_ticket"),
      access_signer_(secrets, "access_token") {}

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
  BOXOFFICE_FAILPOINT("queue.block_claimed");
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
      queue->unissued_after = known;
      queue->unissued_upto = queue->slots.size();
      queue->unissued = queue->unissued_upto - known;
    }
    if (auto settings = read("settings")) {
      boost::system::error_code error;
      json::value parsed = json::parse(*settings, error);
      if (!error && parsed.is_object()) {
        const json::object& object = parsed.get_object();
        // A count as PATCH wrote it, within the bounds it checks; anything else in the store (a
        // row edited by hand, 1e30) leaves the definition's setting. to_number without an error
        // code threw out of the restore at start for a number no uint32 holds (found by
        // fuzz/json_documents_fuzzer.cpp).
        auto stored_count = [&object](std::string_view field,
                                      std::uint32_t max) -> std::optional<std::uint32_t> {
          const json::value* value = object.if_contains(field);
          if (value == nullptr || !value->is_number()) return std::nullopt;
          boost::system::error_code not_a_count;
          const auto count = value->to_number<std::uint32_t>(not_a_count);
          if (not_a_count || count < 1 || count > max) return std::nullopt;
          return count;
        };
        if (auto rate = stored_count("admission_rate_per_s", kAdmissionRateMaxPerS)) {
          queue->settings.admission_rate_per_s = *rate;
        }
        if (auto max = stored_count("max_active", kMaxActiveMax)) {
          queue->settings.max_active = *max;
        }
        if (auto* paused = object.if_contains("paused"); paused && paused->is_bool()) {
          queue->settings.paused = paused->get_bool();
        }
        if (auto* message = object.if_contains("message"); message && message->is_string()) {
          queue->settings.message = message->get_string();
        }
        if (auto* closed = object.if_contains("closed"); closed && closed->is_bool()) {
          queue->settings.closed = closed->get_bool();
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

namespace {}  // namespace

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
      if (queue->settings.closed) return QueueClosed();
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
    if (created && queue->settings.closed) return QueueClosed();
    if (created && queue->identities.size() < options_.queue_length_max) {
      for (std::uint64_t key : keys) queue->identities.emplace(key, 0);
    }
  }
  FanView view = queue->View(number, now, access_signer_, fan.session_id);
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
  if (!fields || fields->size() != 4) return InvalidQueueTicket("The queue ticket is not valid.");
  if ((*fields)[0] != event_id) return InvalidQueueTicket("The queue ticket is for another event.");
  if ((*fields)[2] != session_id)
    return InvalidQueueTicket("The queue ticket is another session's.");
  std::optional<std::uint64_t> number = ParseUint((*fields)[1]);
  if (!number) return InvalidQueueTicket("The queue ticket is not valid.");
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
  if (*number >= queue->next && *number != 0)
    return InvalidQueueTicket("The queue ticket is unknown.");
  FanView view = queue->View(*number, now, access_signer_, session_id);
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
  if (*number >= queue->next) return InvalidQueueTicket("The queue ticket is unknown.");
  queue->Leave(*number, queue->Second(now));
  return {};
}

void WaitingRoom::Control(std::string_view event_id, const QueueControls& controls,
                          std::function<void(Result<QueueChange>)> done) {
  std::shared_ptr<EventQueue> queue = Find(event_id);
  if (!queue) return done(EventNotFound(event_id));
  QueueSettings before;
  QueueSettings settings;
  {
    std::lock_guard lock(queue->mutex);
    before = queue->settings;
    if (controls.admission_rate_per_s) {
      queue->settings.admission_rate_per_s = *controls.admission_rate_per_s;
    }
    if (controls.max_active) queue->settings.max_active = *controls.max_active;
    if (controls.paused) queue->settings.paused = *controls.paused;
    if (controls.message) queue->settings.message = *controls.message;
    if (controls.closed) queue->settings.closed = *controls.closed;
    settings = queue->settings;
  }
  const json::object stored{{"admission_rate_per_s", settings.admission_rate_per_s},
                            {"max_active", settings.max_active},
                            {"paused", settings.paused},
                            {"message", settings.message},
                            {"closed", settings.closed}};
  store_.Put(event_id, "settings", SerializeJson(stored),
             [this, change = QueueChange{std::move(before), settings}, id = std::string(event_id),
              done = std::move(done)](Status written) {
               if (!written) return done(written.error());
               NotifyPublicChange(id);
               done(change);
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
  json::object out{
      {"enabled", settings.enabled},
      {"policy", QueuePolicyName(settings.policy)},
      {"admission_rate_per_s", settings.admission_rate_per_s},
      {"max_active", settings.max_active},
      {"access_ttl_s", settings.access_ttl_s},
      {"paused", settings.paused},
      {"message", settings.message.empty() ? json::value(nullptr) : json::value(settings.message)},
      {"closed", settings.closed},
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
    // The seat counts are read every tick, for queues in use, outside the queue's lock.
    bool probe = false;
    std::uint64_t orders_at_probe = 0;
    {
      std::lock_guard lock(queue->mutex);
      probe = queue->inventory && queue->settings.enabled;
      orders_at_probe = queue->released_ordered;
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
        queue->inventory_probed_orders = orders_at_probe;
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
      // A slot a buyer freed after the counts were read may be the one whose hold and order
      // emptied the event since the last tick; it waits for the next tick's counts.
      const bool level_current =
          !queue->inventory || queue->released_ordered == queue->inventory_probed_orders;
      if (level_current) {
        queue->window_admitted += queue->Admit(now, gap, options_.abandon_after_s);
      }
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
