#include "operators/operator_keys.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

#include "common/crypto.hpp"
#include "common/time.hpp"

namespace boxoffice {
namespace {

// The token kind: it selects the derived MAC key, so no session, queue ticket or access token
// (signed under the same server secret) ever verifies as an operator key.
constexpr std::string_view kTokenKind = "operator_key";
constexpr std::string_view kIdPrefix = "opk_";
// 16 of [a-z0-9]: 82 bits, so ids never collide in practice; the ledger refuses one that does.
constexpr std::size_t kIdRandomChars = 16;

Error FieldError(std::string_view field, std::string message) {
  return Error::Make(ErrorKind::kUnprocessable, "validation_failed", std::move(message),
                     {{"field", field}});
}

// A label is shown in lists and the audit log: printable, and short enough for a table cell. The
// JSON parser has checked the UTF-8, so a character starts at every byte that is not a
// continuation byte.
Status CheckLabel(std::string_view label) {
  std::size_t characters = 0;
  for (const char c : label) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      return FieldError("label", "Field 'label' must not contain control characters.");
    }
    if ((byte & 0xC0) != 0x80) ++characters;
  }
  if (characters > kOperatorKeyLabelMaxChars) {
    return FieldError("label", "Field 'label' must be at most " +
                                   std::to_string(kOperatorKeyLabelMaxChars) + " characters.");
  }
  return {};
}

OperatorKeyRecord ToRecord(const OperatorKey& key) {
  return OperatorKeyRecord{key.id, std::string(OperatorScopeName(key.scope)), key.label,
                           ToUnixMillis(key.created_at)};
}

}  // namespace

std::string_view OperatorScopeName(OperatorScope scope) {
  switch (scope) {
    case OperatorScope::kViewer:
      return "viewer";
    case OperatorScope::kOperator:
      return "operator";
  }
  return "viewer";
}

std::optional<OperatorScope> ParseOperatorScope(std::string_view name) {
  if (name == "viewer") return OperatorScope::kViewer;
  if (name == "operator") return OperatorScope::kOperator;
  return std::nullopt;
}

bool Grants(OperatorScope held, OperatorScope needed) {
  return held == OperatorScope::kOperator || needed == OperatorScope::kViewer;
}

OperatorKeys::OperatorKeys(OperatorKeyStore& store, const Clock& clock,
                           const SigningSecrets& secrets)
    : store_(store), clock_(clock), signer_(secrets, std::string(kTokenKind)) {}

Status OperatorKeys::Load() {
  Result<std::vector<OperatorKeyRecord>> stored = store_.LoadLiveOperatorKeys();
  if (!stored) return stored.error();
  std::unordered_map<std::string, LiveKey> live;
  std::uint64_t order = 0;
  for (OperatorKeyRecord& record : *stored) {
    const std::optional<OperatorScope> scope = ParseOperatorScope(record.scope);
    if (!scope || !record.id.starts_with(kIdPrefix)) {
      return Error::Internal("the ledger holds an operator key that is not one: " + record.id);
    }
    OperatorKey key{record.id, *scope, std::move(record.label),
                    FromUnixMillis(record.created_at_ms)};
    live.insert_or_assign(std::move(record.id), LiveKey{std::move(key), order++});
  }
  std::unique_lock lock(mutex_);
  live_ = std::move(live);
  next_order_ = order;
  return {};
}

std::optional<OperatorIdentity> OperatorKeys::Verify(std::string_view key) const {
  const std::optional<TokenFields> fields = signer_.VerifyFields(key);
  if (!fields || fields->size() != 2) return std::nullopt;
  const std::optional<OperatorScope> scope = ParseOperatorScope((*fields)[1]);
  if (!scope) return std::nullopt;
  std::shared_lock lock(mutex_);
  const auto found = live_.find(std::string((*fields)[0]));
  // The scope is signed into the key and stored beside the id; both must agree, so that neither
  // a store edited by hand nor a key signed in some other way widens what a key may do.
  if (found == live_.end() || found->second.key.scope != *scope) return std::nullopt;
  return OperatorIdentity{found->second.key.id, *scope};
}

void OperatorKeys::Mint(OperatorScope scope, std::string label,
                        std::function<void(Result<MintedOperatorKey>)> done) {
  if (scope != OperatorScope::kViewer) {
    return done(FieldError("scope",
                           "Only viewer keys can be minted; the operator key is the one "
                           "key that may change things."));
  }
  if (Status checked = CheckLabel(label); !checked) return done(std::move(checked).error());
  bool full = false;
  {
    std::unique_lock lock(mutex_);
    full = live_.size() + minting_ >= kOperatorKeysMax;
    if (!full) ++minting_;
  }
  if (full) {
    return done(Error::Make(ErrorKind::kUnprocessable, "operator_keys_full",
                            "There are " + std::to_string(kOperatorKeysMax) +
                                " live operator keys, the most there may be; revoke some."));
  }
  OperatorKey key{std::string(kIdPrefix) + RandomToken(kIdRandomChars), scope, std::move(label),
                  std::chrono::floor<std::chrono::milliseconds>(clock_.Now())};
  std::string secret = signer_.Sign({key.id, std::string(OperatorScopeName(scope))});
  OperatorKeyRecord record = ToRecord(key);
  // Known here only once durable: a key that a restart would forget is never handed out.
  store_.InsertOperatorKey(std::move(record),
                           [this, key = std::move(key), secret = std::move(secret),
                            done = std::move(done)](Status stored) mutable {
                             {
                               std::unique_lock lock(mutex_);
                               --minting_;
                               if (stored)
                                 live_.insert_or_assign(key.id, LiveKey{key, next_order_++});
                             }
                             if (!stored) return done(std::move(stored).error());
                             done(MintedOperatorKey{std::move(key), std::move(secret)});
                           });
}

void OperatorKeys::Revoke(std::string_view id, std::function<void(Result<OperatorKey>)> done) {
  std::optional<LiveKey> key;
  {
    std::unique_lock lock(mutex_);
    const auto found = live_.find(std::string(id));
    if (found != live_.end()) {
      key = std::move(found->second);
      // Refused from now on, before the ledger has it: a revocation is asked for because the key
      // must stop working, and a second revocation at the same time finds nothing to revoke.
      live_.erase(found);
    }
  }
  if (!key) {
    return done(Error::Make(ErrorKind::kNotFound, "operator_key_not_found",
                            "No live operator key has this id.", {{"id", id}}));
  }
  const std::string key_id = key->key.id;
  store_.RevokeOperatorKey(
      key_id, ToUnixMillis(clock_.Now()),
      [this, key = std::move(*key), done = std::move(done)](Status stored) mutable {
        if (!stored) {
          // The ledger still holds the key as live, and a restart would honour it again: say so
          // by honouring it now too, and let the operator retry.
          std::unique_lock lock(mutex_);
          live_.insert_or_assign(key.key.id, key);
          lock.unlock();
          return done(std::move(stored).error());
        }
        done(std::move(key.key));
      });
}

std::vector<OperatorKey> OperatorKeys::List() const {
  std::vector<const LiveKey*> ordered;
  std::shared_lock lock(mutex_);
  ordered.reserve(live_.size());
  for (const auto& [id, live] : live_) ordered.push_back(&live);
  std::sort(ordered.begin(), ordered.end(),
            [](const LiveKey* a, const LiveKey* b) { return a->order < b->order; });
  std::vector<OperatorKey> keys;
  keys.reserve(ordered.size());
  for (const LiveKey* live : ordered) keys.push_back(live->key);
  return keys;
}

}  // namespace boxoffice
