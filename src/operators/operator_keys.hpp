// Who may call the operator routes, and what they may do there.
//
// The operator key (BOXOFFICE_ADMIN_KEY or <data-dir>/admin.key) may do everything. With it the
// operator mints keys for others: viewer keys, which read (stats, lists, decisions, the audit log)
// and change nothing, for a dashboard on a wall or a colleague who watches the sale.
//
// A minted key is a signed token (common/token.hpp) of its id and scope, under a key derived from
// the server secret, as sessions and access tokens are: checking one costs a MAC and a lookup in
// memory, never the ledger, so every I/O thread may check it. The ledger keeps each key's id,
// scope, label and times (never the key), and the keys not revoked are held here from the start.
// A key verifies only while its id is among them, so a revoked key is refused the moment its
// revocation is asked for, and a key whose record the ledger does not hold (a data dir restored
// from an older copy, or another deployment's ledger under the same secret) is refused too.
//
// Rotating the operator key does not touch minted keys: they hang off the server secret and are
// revoked one by one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "common/token.hpp"
#include "ports/clock.hpp"
#include "ports/operator_key_store.hpp"

namespace boxoffice {

// What a key may do. kOperator grants everything kViewer does.
enum class OperatorScope { kViewer, kOperator };

std::string_view OperatorScopeName(OperatorScope scope);  // "viewer", "operator"
std::optional<OperatorScope> ParseOperatorScope(std::string_view name);
// Whether a key of scope `held` may call a route that needs `needed`.
bool Grants(OperatorScope held, OperatorScope needed);

// The key an operator route was called with.
struct OperatorIdentity {
  std::string key_id;  // kAdminKeyId for the operator key, else the minted key's "opk_..."
  OperatorScope scope = OperatorScope::kViewer;
};

inline constexpr std::string_view kAdminKeyId = "admin";
// Live minted keys at once: a dashboard each, with room to spare; each is checked in memory.
inline constexpr std::size_t kOperatorKeysMax = 1'000;
inline constexpr std::size_t kOperatorKeyLabelMaxChars = 100;

// A minted key's public facts (the key itself is shown once, at minting).
struct OperatorKey {
  std::string id;  // "opk_..."
  OperatorScope scope = OperatorScope::kViewer;
  std::string label;
  TimePoint created_at;
};

struct MintedOperatorKey {
  OperatorKey key;
  std::string secret;  // the bearer key; never stored, never logged
};

class OperatorKeys {
 public:
  // `store` and `clock` must outlive this object.
  OperatorKeys(OperatorKeyStore& store, const Clock& clock, const SigningSecrets& secrets);

  // Reads the live keys from the store; once, at start, before any Verify.
  Status Load();

  // The identity `key` proves when it is a live minted key; nullopt for anything else (a forgery,
  // a revoked key, another kind of token). Memory and a MAC only: no I/O.
  std::optional<OperatorIdentity> Verify(std::string_view key) const;

  // Mints a key of `scope` with `label`; `done` runs once its record is durable (on the store's
  // thread), or at once when refused: 422 validation_failed for a scope that cannot be minted
  // (only viewer keys can: a second key with every right could mint more and would outlive a
  // rotation of the operator key) or a label that is too long or holds control characters, 422
  // operator_keys_full at kOperatorKeysMax live keys.
  void Mint(OperatorScope scope, std::string label,
            std::function<void(Result<MintedOperatorKey>)> done);

  // Revokes the live key `id`: it stops verifying at once, and `done` gets its facts once the
  // revocation is durable. 404 operator_key_not_found for an id no live key has. When the store
  // fails the key is live again, and `done` gets the store's error.
  void Revoke(std::string_view id, std::function<void(Result<OperatorKey>)> done);

  // Every live key, oldest first.
  std::vector<OperatorKey> List() const;

 private:
  OperatorKeyStore& store_;
  const Clock& clock_;
  TokenSigner signer_;
  struct LiveKey {
    OperatorKey key;
    // The key's place in minting order, as the store keeps it: clocks may tie or step back, and
    // List promises the store's order.
    std::uint64_t order = 0;
  };

  mutable std::shared_mutex mutex_;
  // All guarded by mutex_.
  std::unordered_map<std::string, LiveKey> live_;  // by id
  std::uint64_t next_order_ = 0;
  std::size_t minting_ = 0;  // mints waiting for the store, counted against the limit
};

}  // namespace boxoffice
