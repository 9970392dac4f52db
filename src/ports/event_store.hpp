// `EventStore`: the catalog's durable events (catalog/catalog.hpp). Follows ports/durable.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ports/durable.hpp"

namespace boxoffice {

struct EventRecord {
  std::string id;  // "evt_..."
  std::string name;
  std::int64_t created_at_ms = 0;
  std::string definition_json;  // the validated event as the API returns it
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Fails with kConflict "event_exists" when the id is taken.
  virtual void InsertEvent(EventRecord event, DurableDone done) = 0;
  // Every event, oldest first.
  virtual Result<std::vector<EventRecord>> LoadEvents() = 0;
};

}  // namespace boxoffice
