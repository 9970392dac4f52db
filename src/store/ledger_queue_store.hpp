// `QueueStore` on the ledger's settings (SettingsStore) (keys `queue.{event_id}.{field}`): the
// embedded deployment's durable queue counters, group-committed with every other ledger write.
#pragma once

#include "ports/queue_store.hpp"
#include "ports/settings_store.hpp"

namespace boxoffice {

class LedgerQueueStore final : public QueueStore {
 public:
  // `settings` must outlive this object.
  explicit LedgerQueueStore(SettingsStore& settings) : settings_(settings) {}

  void Put(std::string_view event_id, std::string_view field, std::string value,
           Done done) override {
    settings_.PutSetting(Key(event_id, field), std::move(value), std::move(done));
  }
  Result<std::optional<std::string>> Get(std::string_view event_id,
                                         std::string_view field) override {
    return settings_.GetSetting(Key(event_id, field));
  }
  void Flush() override { settings_.Flush(); }

 private:
  static std::string Key(std::string_view event_id, std::string_view field) {
    return "queue." + std::string(event_id) + "." + std::string(field);
  }

  SettingsStore& settings_;
};

}  // namespace boxoffice
