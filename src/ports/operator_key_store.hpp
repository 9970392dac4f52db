// `OperatorKeyStore`: the keys the operator mints for others (operators/operator_keys.hpp). The
// store keeps each key's id, scope, label and times, never the key itself: a key is a MAC of its
// id and scope under a key derived from the server secret, so nothing stored here lets anyone
// rebuild one. Follows ports/durable.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ports/durable.hpp"

namespace boxoffice {

struct OperatorKeyRecord {
  std::string id;     // "opk_..."
  std::string scope;  // "viewer"
  std::string label;  // the operator's note on who holds it; may be empty
  std::int64_t created_at_ms = 0;
};

class OperatorKeyStore {
 public:
  virtual ~OperatorKeyStore() = default;

  // Fails with kConflict "operator_key_exists" when the id is taken (by a live or revoked key).
  virtual void InsertOperatorKey(OperatorKeyRecord key, DurableDone done) = 0;
  // Marks the key revoked at `revoked_at_ms`; a revoked key never comes back. Fails with
  // kNotFound "operator_key_not_found" when no live key has the id.
  virtual void RevokeOperatorKey(std::string id, std::int64_t revoked_at_ms, DurableDone done) = 0;
  // Every key not revoked, oldest first (in the order they were inserted).
  virtual Result<std::vector<OperatorKeyRecord>> LoadLiveOperatorKeys() = 0;
};

}  // namespace boxoffice
