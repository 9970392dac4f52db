// In-memory `QueueStore` for tests and for a waiting room that need not survive its process:
// a map guarded by a mutex. `done` runs on the caller's stack, at once.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "ports/queue_store.hpp"

namespace boxoffice {

class MemoryQueueStore final : public QueueStore {
 public:
  void Put(std::string_view event_id, std::string_view field, std::string value,
           Done done) override;
  Result<std::optional<std::string>> Get(std::string_view event_id,
                                         std::string_view field) override;
  void Flush() override {}

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> values_;
};

}  // namespace boxoffice
