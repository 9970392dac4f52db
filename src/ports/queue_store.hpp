// The `QueueStore` port: where the waiting room keeps the little it must not lose on a restart,
// per event: the reserved sequence high-water mark, the serving counter, the operator's live
// settings and the shuffle seed. Fans' places are not stored here at all: each fan carries its
// sequence number in a signed ticket, so the store holds a handful of values per event, never one
// row per fan.
//
// Writes follow the Ledger's contract: `Put` queues the write and `done` runs once it is durable
// (or failed). `done` must not take locks of the caller (adapters may run it on the caller's
// stack). Reads are synchronous and meant for start-up only.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace boxoffice {

class QueueStore {
 public:
  using Done = std::function<void(Status)>;

  virtual ~QueueStore() = default;

  // Insert or replace the value of `field` for `event_id`.
  virtual void Put(std::string_view event_id, std::string_view field, std::string value,
                   Done done) = 0;
  virtual Result<std::optional<std::string>> Get(std::string_view event_id,
                                                 std::string_view field) = 0;
  // Blocks until every write queued before the call is durable.
  virtual void Flush() = 0;
};

}  // namespace boxoffice
