#include "accounts/accounts.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <memory>

#include "common/crypto.hpp"
#include "common/mail_address.hpp"
#include "common/time.hpp"

namespace boxoffice {
namespace {

Error Overloaded() {
  Error error = Error::Make(ErrorKind::kUnavailable, "overloaded",
                            "Too many sign-ins are being processed; try again shortly.");
  error.retry_after_s = 1;
  return error;
}

Error InvalidCredentials() {
  return Error::Make(ErrorKind::kUnauthenticated, "invalid_credentials",
                     "The email or password is not correct.");
}

std::string ToLower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::optional<std::string> NormalizeEmail(std::string_view email) {
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) {
    email.remove_prefix(1);
  }
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) {
    email.remove_suffix(1);
  }
  const std::size_t at = email.find('@');
  if (email.empty() || email.size() > kEmailMaxChars || at == 0 || at == std::string_view::npos ||
      email.find('@', at + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view domain = email.substr(at + 1);
  const std::size_t dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.') return std::nullopt;
  if (std::any_of(email.begin(), email.end(),
                  [](unsigned char c) { return std::isspace(c) || std::iscntrl(c); })) {
    return std::nullopt;
  }
  return ToLower(email);
}

std::optional<std::string> PasswordWeakness(std::string_view password, std::string_view email) {
  // The few passwords every credential-stuffing list starts with.
  static constexpr std::array<std::string_view, 12> kCommon = {
      "password12", "password123", "1234567890", "qwertyuiop", "123456789a", "iloveyou12",
      "letmein123", "welcome123",  "passw0rd12", "abc1234567", "0987654321", "qwerty1234"};
  if (password.size() < kPasswordMinChars) {
    return "must be at least " + std::to_string(kPasswordMinChars) + " characters";
  }
  if (password.size() > kPasswordMaxBytes) {
    return "must be at most " + std::to_string(kPasswordMaxBytes) + " bytes";
  }
  if (std::all_of(password.begin(), password.end(), [&](char c) { return c == password[0]; })) {
    return "must not repeat one character";
  }
  const std::string lower = ToLower(password);
  if (std::find(kCommon.begin(), kCommon.end(), lower) != kCommon.end()) {
    return "is one of the most common passwords";
  }
  const std::string_view local = email.substr(0, email.find('@'));
  if (!local.empty() && lower.find(ToLower(local)) != std::string::npos &&
      local.size() * 2 >= lower.size()) {
    return "must not be built from the email address";
  }
  return std::nullopt;
}

namespace {

std::atomic<std::uint64_t> next_accounts_id{1};

// The last session token this thread verified, per Accounts instance. A request is authenticated
// twice on one thread (the defence middleware, for its per-session limits, then the handler), so
// the second time the MAC check is answered from here. Only tokens whose MAC verified are kept,
// the comparison is exact and constant-time, and expiry is checked on every call.
struct LastVerifiedSession {
  std::uint64_t accounts_id = 0;
  std::string token;
  Session session;
};
thread_local LastVerifiedSession last_verified_session;

}  // namespace

Accounts::Accounts(CustomerStore& customers, const Clock& clock, const SigningSecrets& secrets,
                   std::chrono::seconds session_ttl, WorkerPool& hashing_pool)
    : customers_(customers),
      clock_(clock),
      id_(next_accounts_id.fetch_add(1)),
      signer_(secrets, "session"),
      session_ttl_(session_ttl),
      hashing_pool_(hashing_pool),
      dummy_hash_(HashPassword(RandomBytes(16)).value_or("")) {}

IssuedSession Accounts::Issue(std::string customer_id) {
  Session session{"ses_" + RandomToken(20), std::move(customer_id),
                  std::chrono::floor<std::chrono::seconds>(clock_.Now()) + session_ttl_};
  std::string token = signer_.Sign(
      {session.session_id, session.customer_id, std::to_string(ToUnixSeconds(session.expires_at))});
  return IssuedSession{std::move(session), std::move(token)};
}

IssuedSession Accounts::CreateGuestSession() { return Issue(""); }

Result<Session> Accounts::Authenticate(std::string_view token) const {
  auto invalid = [] {
    return Error::Make(ErrorKind::kUnauthenticated, "invalid_session",
                       "The session token is missing, invalid or expired.");
  };
  LastVerifiedSession& last = last_verified_session;
  if (last.accounts_id == id_ && EqualConstantTime(last.token, token)) {
    if (last.session.expires_at <= clock_.Now()) return invalid();
    return last.session;
  }
  std::optional<TokenFields> fields = signer_.VerifyFields(token);
  if (!fields || fields->size() != 3) return invalid();
  std::int64_t expires_s = 0;
  const std::string_view expiry = (*fields)[2];
  if (std::from_chars(expiry.data(), expiry.data() + expiry.size(), expires_s).ec != std::errc()) {
    return invalid();
  }
  const TimePoint expires_at{std::chrono::seconds(expires_s)};
  if (expires_at <= clock_.Now()) return invalid();
  Session session{std::string((*fields)[0]), std::string((*fields)[1]), expires_at};
  last.accounts_id = id_;
  last.token.assign(token);
  last.session = session;
  return session;
}

void Accounts::Register(std::string_view email, std::string_view password,
                        std::function<void(Result<Customer>)> done) {
  // A new account's address must also be one the mailer sends to (common/mail_address.hpp). Only
  // here, not at login: an account registered before the rule keeps signing in.
  std::optional<std::string> normalized = NormalizeEmail(email);
  if (!normalized || !IsPlainMailAddress(*normalized)) {
    done(Error::Make(ErrorKind::kUnprocessable, "invalid_email", "The email address is not valid.",
                     {{"field", "email"}}));
    return;
  }
  if (std::optional<std::string> weakness = PasswordWeakness(password, *normalized)) {
    done(Error::Make(ErrorKind::kUnprocessable, "weak_password", "The password " + *weakness + ".",
                     {{"field", "password"}}));
    return;
  }
  auto shared_done = std::make_shared<std::function<void(Result<Customer>)>>(std::move(done));
  const bool submitted = hashing_pool_.TrySubmit(
      [this, email = *normalized, password = std::string(password), shared_done] {
        std::optional<std::string> hash = HashPassword(password);
        if (!hash) {
          (*shared_done)(Overloaded());
          return;
        }
        CustomerRecord record{"cus_" + RandomToken(20), email, std::move(*hash),
                              ToUnixMillis(clock_.Now())};
        Customer customer{record.id, record.email, FromUnixMillis(record.created_at_ms)};
        customers_.InsertCustomer(
            std::move(record), [customer = std::move(customer), shared_done](Status status) {
              if (!status.ok()) {
                Error error = std::move(status).error();
                if (error.code == "email_taken") {
                  error.message = "An account with this email already exists.";
                  error.details = {{"field", "email"}};
                }
                (*shared_done)(std::move(error));
                return;
              }
              (*shared_done)(customer);
            });
      });
  if (!submitted) (*shared_done)(Overloaded());
}

void Accounts::Login(std::string_view email, std::string_view password,
                     std::function<void(Result<IssuedSession>)> done) {
  std::optional<std::string> normalized = NormalizeEmail(email);
  if (!normalized || password.size() > kPasswordMaxBytes) {
    done(InvalidCredentials());
    return;
  }
  auto shared_done = std::make_shared<std::function<void(Result<IssuedSession>)>>(std::move(done));
  const bool submitted = hashing_pool_.TrySubmit(
      [this, email = *normalized, password = std::string(password), shared_done] {
        Result<std::optional<CustomerRecord>> customer = customers_.FindCustomerByEmail(email);
        if (!customer) {
          (*shared_done)(customer.error());
          return;
        }
        if (!customer->has_value()) {
          VerifyPassword(password, dummy_hash_);
          (*shared_done)(InvalidCredentials());
          return;
        }
        if (!VerifyPassword(password, (*customer)->password_hash)) {
          (*shared_done)(InvalidCredentials());
          return;
        }
        (*shared_done)(Issue((*customer)->id));
      });
  if (!submitted) (*shared_done)(Overloaded());
}

}  // namespace boxoffice
