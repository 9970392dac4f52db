// `SettingsStore`: small named values that must survive a restart (the waiting room's counters,
// through store/ledger_queue_store.hpp). Follows ports/durable.hpp.
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"
#include "ports/durable.hpp"

namespace boxoffice {

class SettingsStore {
 public:
  virtual ~SettingsStore() = default;

  // Insert or replace.
  virtual void PutSetting(std::string key, std::string value, DurableDone done) = 0;
  virtual Result<std::optional<std::string>> GetSetting(const std::string& key) = 0;
  // Blocks until every write queued before the call is durable and its `done` has run.
  virtual void Flush() = 0;
};

}  // namespace boxoffice
