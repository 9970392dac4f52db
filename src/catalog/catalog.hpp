// The catalog of events: every event's definition and seat map, in memory, with
// the ledger as the durable copy. Creating an event writes it to the ledger first and makes it
// visible only once that write is durable; at start the catalog is rebuilt from the ledger.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/event.hpp"
#include "catalog/seat_map.hpp"
#include "common/result.hpp"
#include "common/string_map.hpp"
#include "ports/clock.hpp"
#include "ports/event_store.hpp"

namespace boxoffice {

inline constexpr std::size_t kEventsMax = 10'000;  // per process; each may hold 200,000 seats

class Event {
 public:
  explicit Event(EventDefinition definition);
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  const EventDefinition& definition() const { return definition_; }
  const SeatMap& seat_map() const { return seat_map_; }
  // The event's API representation, serialised once: GET /v1/events/{id} is a hot path. The
  // waiting room replaces it when the queue's live settings change or the shuffle seed is
  // revealed; readers get a consistent copy.
  std::string json() const {
    std::lock_guard lock(json_mutex_);
    return json_;
  }
  void SetJson(std::string json) {
    std::lock_guard lock(json_mutex_);
    json_ = std::move(json);
  }

 private:
  EventDefinition definition_;
  SeatMap seat_map_;
  mutable std::mutex json_mutex_;
  std::string json_;
};

struct EventPage {
  std::vector<std::shared_ptr<const Event>> items;
  std::optional<std::string> next_cursor;
};

class Catalog {
 public:
  Catalog(EventStore& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Rebuilds the catalog from the ledger; an event that fails validation stops the start.
  Status Load();

  using CreateDone = std::function<void(Result<std::shared_ptr<Event>>)>;
  // Assigns id and created_at, writes the event durably, then publishes it and calls `done`
  // (on the ledger's thread).
  void Create(EventDefinition definition, CreateDone done);

  std::shared_ptr<Event> Find(std::string_view id) const;
  // Oldest first. `cursor` is the opaque next_cursor of the previous page.
  Result<EventPage> List(std::size_t limit, std::optional<std::string_view> cursor) const;
  std::size_t size() const;

 private:
  void Publish(std::shared_ptr<Event> event);

  EventStore& store_;
  const Clock& clock_;
  mutable std::shared_mutex mutex_;
  std::vector<std::shared_ptr<Event>> in_order_;
  StringMap<std::shared_ptr<Event>> by_id_;  // found by string_view on every request
  std::atomic<std::size_t> pending_creates_{0};
};

}  // namespace boxoffice
