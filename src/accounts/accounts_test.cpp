#include "accounts/accounts.hpp"

#include <gtest/gtest.h>

#include <future>

#include "store/memory/memory_ledger.hpp"

namespace boxoffice {
namespace {

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_ = std::make_unique<MemoryLedger>(data_);
    accounts_ =
        std::make_unique<Accounts>(*ledger_, clock_, "test secret", std::chrono::hours(1), pool_);
  }
  void TearDown() override {
    accounts_.reset();
    ledger_.reset();
  }

  Result<Customer> Register(std::string_view email, std::string_view password) {
    std::promise<Result<Customer>> done;
    accounts_->Register(email, password, [&](Result<Customer> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }
  Result<IssuedSession> Login(std::string_view email, std::string_view password) {
    std::promise<Result<IssuedSession>> done;
    accounts_->Login(email, password,
                     [&](Result<IssuedSession> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }

  FakeClock clock_;
  WorkerPool pool_{2, 16};
  std::unique_ptr<MemoryLedger> ledger_;
  // Outlives each ledger, so Reopen() is a restart on the same data.
  std::shared_ptr<MemoryLedgerData> data_ = MemoryLedger::NewData();
  std::unique_ptr<Accounts> accounts_;
};

// A guest token authenticates until it expires, then is refused.
TEST_F(AccountsTest, GuestSessionExpires) {
  const IssuedSession issued = accounts_->CreateGuestSession();
  Result<Session> session = accounts_->Authenticate(issued.token);
  ASSERT_TRUE(session);
  EXPECT_EQ(session->session_id, issued.session.session_id);
  EXPECT_TRUE(session->customer_id.empty());
  clock_.Advance(std::chrono::hours(1));
  Result<Session> expired = accounts_->Authenticate(issued.token);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, "invalid_session");
}

// Registration normalises the email, refuses duplicates, and login needs the right password.
TEST_F(AccountsTest, RegisterAndLogin) {
  Result<Customer> customer = Register("  Fan@Example.COM ", "a long passphrase 42");
  ASSERT_TRUE(customer) << customer.error().message;
  EXPECT_EQ(customer->email, "fan@example.com");
  Result<Customer> duplicate = Register("fan@example.com", "another passphrase 7");
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, "email_taken");
  EXPECT_EQ(duplicate.error().kind, ErrorKind::kConflict);

  Result<IssuedSession> login = Login("FAN@example.com", "a long passphrase 42");
  ASSERT_TRUE(login) << login.error().message;
  EXPECT_EQ(login->session.customer_id, customer->id);
  EXPECT_EQ(accounts_->Authenticate(login->token)->customer_id, customer->id);

  EXPECT_EQ(Login("fan@example.com", "a long passphrase 43").error().code, "invalid_credentials");
  EXPECT_EQ(Login("nobody@example.com", "a long passphrase 42").error().code,
            "invalid_credentials");
}

// Weak passwords and implausible emails are refused before any hashing.
TEST_F(AccountsTest, RefusesWeakPasswordsAndBadEmails) {
  EXPECT_EQ(Register("a@example.com", "short").error().code, "weak_password");
  EXPECT_EQ(Register("a@example.com", "aaaaaaaaaaaa").error().code, "weak_password");
  EXPECT_EQ(Register("a@example.com", "Password123").error().code, "weak_password");
  EXPECT_EQ(Register("longname@example.com", "longname1234").error().code, "weak_password");
  EXPECT_EQ(Register("not-an-email", "a long passphrase 42").error().code, "invalid_email");
  EXPECT_EQ(Register("a@b", "a long passphrase 42").error().code, "invalid_email");
  EXPECT_EQ(Register("a b@example.com", "a long passphrase 42").error().code, "invalid_email");
}

// An address the mailer would refuse (a display name, quotes, non-ASCII) is no account's email.
TEST_F(AccountsTest, RefusesEmailsTheMailerWouldRefuse) {
  for (const char* email :
       {"\"x\"<a@example.com>", "Fan<fan@example.com>", "f\xc3\xa4n@example.com", "a;b@example.com",
        "a(comment)@example.com"}) {
    Result<Customer> customer = Register(email, "a long passphrase 42");
    ASSERT_FALSE(customer) << email;
    EXPECT_EQ(customer.error().code, "invalid_email") << email;
    EXPECT_EQ(customer.error().details.at("field").as_string(), "email") << email;
  }
  EXPECT_TRUE(Register("fan+tag@example.co.uk", "a long passphrase 42"));
}

// A token signed under another secret, or for another purpose, does not authenticate.
TEST_F(AccountsTest, RejectsForeignTokens) {
  WorkerPool pool(1, 1);
  Accounts other(*ledger_, clock_, "other secret", std::chrono::hours(1), pool);
  EXPECT_FALSE(accounts_->Authenticate(other.CreateGuestSession().token));
  EXPECT_FALSE(accounts_->Authenticate(TokenSigner("test secret", "access").Sign({"a", "b", "9"})));
  EXPECT_FALSE(accounts_->Authenticate("garbage"));
}

// Authenticating again (as the defence middleware and then the handler do) answers the same,
// and what one instance verified last on this thread never passes another instance's check.
TEST_F(AccountsTest, RepeatedAuthenticationIsExactPerInstance) {
  WorkerPool pool(1, 1);
  Accounts other(*ledger_, clock_, "other secret", std::chrono::hours(1), pool);
  const IssuedSession theirs = other.CreateGuestSession();
  ASSERT_TRUE(other.Authenticate(theirs.token));
  EXPECT_FALSE(accounts_->Authenticate(theirs.token));

  const IssuedSession mine = accounts_->CreateGuestSession();
  ASSERT_TRUE(accounts_->Authenticate(mine.token));
  Result<Session> again = accounts_->Authenticate(mine.token);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->session_id, mine.session.session_id);
  std::string tampered = mine.token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(accounts_->Authenticate(tampered));
  EXPECT_FALSE(accounts_->Authenticate(mine.token + "A"));
  EXPECT_TRUE(accounts_->Authenticate(mine.token));
}

}  // namespace
}  // namespace boxoffice
