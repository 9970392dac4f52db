#include "store/memory/memory_queue_store.hpp"

namespace boxoffice {
namespace {

std::string Key(std::string_view event_id, std::string_view field) {
  return std::string(event_id) + "/" + std::string(field);
}

}  // namespace

void MemoryQueueStore::Put(std::string_view event_id, std::string_view field, std::string value,
                           Done done) {
  {
    std::lock_guard lock(mutex_);
    values_[Key(event_id, field)] = std::move(value);
  }
  if (done) done(Status());
}

Result<std::optional<std::string>> MemoryQueueStore::Get(std::string_view event_id,
                                                         std::string_view field) {
  std::lock_guard lock(mutex_);
  auto found = values_.find(Key(event_id, field));
  if (found == values_.end()) return std::optional<std::string>();
  return std::optional<std::string>(found->second);
}

}  // namespace boxoffice
