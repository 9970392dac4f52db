// The virtual waiting room (DESIGN.md, "The flow of one fan", steps 2-4): fans join an event's
// queue and get a signed ticket holding their sequence number; an admission controller advances
// the event's serving counter at the operator's rate without letting more than `max_active` fans
// shop at once; a fan the counter has passed gets a signed access token, which holds and orders
// check through the `AdmissionCheck` port.
//
// Admission is closed-loop: a fan's active slot is given back as soon as they are done (their
// order is confirmed, they leave, they go idle for `idle_release_s`, their access expires), and
// the next tick admits the next fan into it. A fan who went idle keeps a valid token: if they come
// back, they shop on (counted active again). Status polls are told to come back later the
// further back a fan is, within the event's poll budget (waitingroom/poll_budget.hpp).
//
// Position is `sequence - serving`: O(1), no scan. Per fan the room keeps a 4-byte slot (state
// and last-seen second), per active fan an entry with its last activity, and one entry per identity
// in a hash map for the one-place-per-fan rule (about 45 MB per million waiting fans, measured by
// BM_QueueMemoryMillionFans); the durable state is a handful of counters per event in the
// `QueueStore`. Sequence numbers are reserved durably in blocks ahead of use, so a crash never
// hands the same number out twice.
//
// Thread safety: every public method may be called from any thread. `Tick()` is driven by the
// owner (a thread in `serve`, a test with a FakeClock).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "catalog/event.hpp"
#include "common/result.hpp"
#include "common/string_map.hpp"
#include "common/token.hpp"
#include "ports/admission.hpp"
#include "ports/clock.hpp"
#include "ports/queue_store.hpp"

namespace boxoffice {

inline constexpr std::uint64_t kQueueLengthDefaultMax = 20'000'000;
inline constexpr std::uint32_t kAbandonAfterDefaultS = 120;
// Sequence numbers reserved per durable write; a crash skips at most this many numbers.
inline constexpr std::uint64_t kSequenceBlock = 65'536;

struct WaitingRoomOptions {
  std::uint64_t queue_length_max = kQueueLengthDefaultMax;
  std::uint32_t abandon_after_s = kAbandonAfterDefaultS;
  std::uint64_t sequence_block = kSequenceBlock;
};

enum class FanState { kPrequeue, kWaiting, kAdmitted, kSoldOut, kClosed };
std::string_view FanStateName(FanState state);

// Why an admitted fan's active slot was given back.
enum class AccessRelease { kOrdered, kLeft, kIdle, kExpired };
std::string_view AccessReleaseName(AccessRelease release);

// Who is joining: one place per session, per logged-in customer and per device.
struct FanIdentity {
  std::string session_id;
  std::string customer_id;  // empty for a guest
  std::string device_id;    // X-Device-Id, empty when not sent
};

// What a fan sees on joining and on every status poll.
struct FanView {
  std::string queue_ticket;
  FanState state = FanState::kWaiting;
  std::optional<std::uint64_t> position;  // absent in the pre-queue of a shuffled event
  std::optional<std::uint64_t> eta_s;
  std::uint32_t retry_after_s = 1;
  std::string access_token;  // when admitted
  TimePoint access_expires_at;
  std::optional<std::uint64_t> sequence;     // the place's number in join order (queue enabled)
  std::optional<std::uint64_t> admitted_as;  // admitted: the ordinal of the admission, when known
  // Closed after being admitted: why the access ended (not kIdle: an idle fan may come back).
  std::optional<AccessRelease> access_released;
  // While no seat is available but holds could still return some: how many are held.
  std::optional<std::uint32_t> seats_held;
  bool paused = false;   // waiting while the operator has paused admissions (eta_s is absent)
  std::string message;   // in line (waiting or pre-queue): the operator's message, if any
  bool created = false;  // the join made a new place (201) rather than finding one (200)
};

// How many seats an event has for sale now and how many holds could still return.
struct InventoryLevel {
  std::uint32_t available = 0;
  std::uint32_t held = 0;
};
using InventoryProbe = std::function<InventoryLevel()>;

// The operator's live controls (PATCH /v1/events/{id}/queue); absent fields stay as they are.
struct QueueControls {
  std::optional<std::uint32_t> admission_rate_per_s;
  std::optional<std::uint32_t> max_active;
  std::optional<bool> paused;
  std::optional<std::string> message;  // "" takes the message down
  std::optional<bool> closed;          // true: no new places (those in line are kept)
};

// What a Control call changed: the settings just before it and as now in force, read under the
// same lock as the change, so a record of it (the audit log) is exact even when two operators
// change one queue at once.
struct QueueChange {
  QueueSettings before;
  QueueSettings after;
};

struct QueueStats {
  std::uint64_t joined = 0;
  std::uint64_t waiting = 0;
  std::uint64_t serving = 0;
  std::uint64_t active = 0;
  std::uint64_t admitted = 0;
  std::uint64_t abandoned = 0;
  double admitted_per_s = 0;
  // Active slots given back, by cause; `resumed`: idle fans who came back to shop.
  std::uint64_t released_ordered = 0;
  std::uint64_t released_left = 0;
  std::uint64_t released_idle = 0;
  std::uint64_t released_expired = 0;
  std::uint64_t resumed = 0;
  std::uint64_t left_waiting = 0;  // fans who left before they were admitted
};

class WaitingRoom final : public AdmissionCheck {
 public:
  // `store` and `clock` must outlive the room.
  WaitingRoom(QueueStore& store, const Clock& clock, const SigningSecrets& secrets,
              WaitingRoomOptions options = {});
  ~WaitingRoom() override;

  // Makes an event's queue known. `restore` reads the event's counters back from the store
  // (start-up); a new event starts empty. `ready` runs once the first block of sequence numbers
  // is durable (possibly on the store's thread).
  void Attach(const EventDefinition& event, InventoryProbe inventory, bool restore,
              std::function<void(Status)> ready = nullptr);

  // 404 event_not_found, 409 queue_closed (a new place while the operator has closed the queue),
  // 503 queue_full / queue_busy (with retry_after_s).
  Result<FanView> Join(std::string_view event_id, const FanIdentity& fan);
  // A fan's status call: no write beyond marking the fan seen now. 401 missing_queue_ticket /
  // invalid_queue_ticket for no ticket, a forged one, or another session's or event's.
  Result<FanView> Poll(std::string_view event_id, std::string_view session_id,
                       std::string_view queue_ticket);
  // The fan gives up their place (waiting) or their active slot (admitted); their tokens admit
  // no more and a new join takes a new place at the back. Idempotent. Errors as Poll.
  Status Leave(std::string_view event_id, std::string_view session_id,
               std::string_view queue_ticket);

  // Applies the operator's controls; `done` gets the settings before and in force once they are
  // durable.
  void Control(std::string_view event_id, const QueueControls& controls,
               std::function<void(Result<QueueChange>)> done);
  Result<QueueSettings> Settings(std::string_view event_id) const;

  // The event's public `queue` object: its settings in force plus `seed_sha256` (shuffled
  // events) and, once the on-sale has opened, `seed`.
  Result<boost::json::object> PublicQueueJson(std::string_view event_id) const;
  Result<QueueStats> Stats(std::string_view event_id) const;
  // Every attached event's id, for /metrics.
  std::vector<std::string> EventIds() const;

  // Called (outside the room's locks) when an event's public queue object changed: settings
  // patched, or the on-sale opened and the seed is revealed.
  void SetPublicChangeHook(std::function<void(const std::string& event_id)> hook);

  // One step of the admission controller for every event: opens on-sales that are due, expires
  // access, and admits fans at each event's rate. Call about every 100 ms.
  void Tick();

  // AdmissionCheck: OK when the access token admits this session to this event now; marks the
  // fan active. A token the room does not know (issued before a restart) is taken on again.
  Status VerifyAccess(std::string_view event_id, std::string_view session_id,
                      std::string_view access_token) override;
  void OrderConfirmed(std::string_view event_id, std::string_view session_id,
                      std::string_view access_token) override;

 private:
  class EventQueue;

  std::shared_ptr<EventQueue> Find(std::string_view event_id) const;
  // The queue ticket's number, checked as Poll checks it.
  Result<std::uint64_t> TicketNumber(std::string_view event_id, std::string_view session_id,
                                     std::string_view queue_ticket) const;
  void NotifyPublicChange(const std::string& event_id);

  QueueStore& store_;
  const Clock& clock_;
  WaitingRoomOptions options_;
  TokenSigner ticket_signer_;
  TokenSigner access_signer_;
  mutable std::shared_mutex events_mutex_;
  StringMap<std::shared_ptr<EventQueue>> events_;  // looked up by string_view on every poll
  std::mutex hook_mutex_;
  std::function<void(const std::string&)> public_change_hook_;
};

}  // namespace boxoffice
