// `QueueStore` on the ledger's settings table (keys `queue.{event_id}.{field}`): the embedded
// deployment's durable queue counters, group-committed with every other ledger write.
#pragma once

#include "ports/ledger.hpp"
#include "ports/queue_store.hpp"

namespace boxoffice {

class LedgerQueueStore final : public QueueStore {
 public:
  // `ledger` must outlive this object.
  explicit LedgerQueueStore(Ledger& ledger) : ledger_(ledger) {}

  void Put(std::string_view event_id, std::string_view field, std::string value,
           Done done) override {
    ledger_.PutSetting(Key(event_id, field), std::move(value), std::move(done));
  }
  Result<std::optional<std::string>> Get(std::string_view event_id,
                                         std::string_view field) override {
    return ledger_.GetSetting(Key(event_id, field));
  }
  void Flush() override { ledger_.Flush(); }

 private:
  static std::string Key(std::string_view event_id, std::string_view field) {
    return "queue." + std::string(event_id) + "." + std::string(field);
  }

  Ledger& ledger_;
};

}  // namespace boxoffice
