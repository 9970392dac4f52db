// Fans' identities: guest sessions, customer accounts (email + Argon2id password) and login.
// A session token is a signed token (common/token.hpp) holding the session id, the customer id
// (empty for a guest) and its expiry, so authenticating a request is a MAC check, not a lookup,
// and tokens outlive restarts.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/token.hpp"
#include "common/worker_pool.hpp"
#include "ports/clock.hpp"
#include "ports/customer_store.hpp"

namespace boxoffice {

inline constexpr std::size_t kPasswordMinChars = 10;
inline constexpr std::size_t kPasswordMaxBytes = 256;
inline constexpr std::size_t kEmailMaxChars = 254;

struct Session {
  std::string session_id;   // "ses_..."
  std::string customer_id;  // empty for a guest
  TimePoint expires_at;
};

struct IssuedSession {
  Session session;
  std::string token;
};

struct Customer {
  std::string id;
  std::string email;
  TimePoint created_at;
};

// Lower-cases and trims; nullopt when it is not a plausible address.
std::optional<std::string> NormalizeEmail(std::string_view email);
// Nullopt when the password is acceptable, else the reason it is not.
std::optional<std::string> PasswordWeakness(std::string_view password, std::string_view email);

class Accounts {
 public:
  // `hashing_pool` runs Argon2id; it and the ledger must outlive this object.
  Accounts(CustomerStore& customers, const Clock& clock, const SigningSecrets& secrets,
           std::chrono::seconds session_ttl, WorkerPool& hashing_pool);

  IssuedSession CreateGuestSession();

  // 422 invalid_email / weak_password, 409 email_taken, 503 overloaded. `done` runs on a worker
  // or ledger thread.
  void Register(std::string_view email, std::string_view password,
                std::function<void(Result<Customer>)> done);
  // 401 invalid_credentials for an unknown email or a wrong password alike.
  void Login(std::string_view email, std::string_view password,
             std::function<void(Result<IssuedSession>)> done);

  // 401 invalid_session for a forged, malformed or expired token. Thread-safe.
  Result<Session> Authenticate(std::string_view token) const;

 private:
  IssuedSession Issue(std::string customer_id);

  CustomerStore& customers_;
  const Clock& clock_;
  const std::uint64_t id_;  // tells instances apart in Authenticate's per-thread memory
  TokenSigner signer_;
  std::chrono::seconds session_ttl_;
  WorkerPool& hashing_pool_;
  std::string dummy_hash_;  // verified against for unknown emails, so timing does not tell
};

}  // namespace boxoffice
