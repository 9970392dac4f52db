#include "defense/defense.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "store/sqlite/sqlite_ledger.hpp"

namespace boxoffice {
namespace {

class DefenseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/boxoffice-defense-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    Reopen();
  }
  void TearDown() override {
    defense_.reset();
    ledger_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen(std::string allowlist = "") {
    defense_.reset();
    ledger_.reset();
    auto ledger = SqliteLedger::Open(SqliteLedgerOptions{.path = dir_ + "/ledger.db"});
    ASSERT_TRUE(ledger);
    ledger_ = std::move(ledger).value();
    defense_ = std::make_unique<Defense>(
        *ledger_, clock_, DefenseOptions{4096, CidrList::Parse(allowlist).value(), true});
    ASSERT_TRUE(defense_->Load().ok());
  }
  Result<BlockEntry> Block(std::string_view cidr, std::optional<std::int64_t> ttl_s) {
    std::promise<Result<BlockEntry>> done;
    defense_->Block(cidr, "test", ttl_s, [&](Result<BlockEntry> e) { done.set_value(e); });
    return done.get_future().get();
  }
  Status Unblock(std::string_view cidr) {
    std::promise<Status> done;
    defense_->Unblock(cidr, [&](Status s) { done.set_value(s); });
    return done.get_future().get();
  }
  Status Request(RouteClass route_class, std::string_view address, std::string_view session = {}) {
    return defense_->Check(RequestFacts{route_class, address, session, {}});
  }

  std::string dir_;
  FakeClock clock_;
  std::unique_ptr<SqliteLedger> ledger_;
  std::unique_ptr<Defense> defense_;
};

// One address opening hundreds of sessions in a burst is stopped with a Retry-After.
TEST_F(DefenseTest, BurstOfSessionsFromOneAddressIsLimited) {
  int allowed = 0;
  Status last;
  for (int i = 0; i < 300; ++i) {
    last = Request(RouteClass::kSessionCreate, "198.51.100.7");
    if (last.ok()) ++allowed;
  }
  EXPECT_LE(allowed, 25);
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().code, "rate_limited");
  EXPECT_GE(last.error().retry_after_s, 1);
  // Another network is unaffected.
  EXPECT_TRUE(Request(RouteClass::kSessionCreate, "203.0.113.1").ok());
}

// Fans behind one NAT, each polling once a second, are never limited.
TEST_F(DefenseTest, FansPollingOnceASecondBehindANatAreNeverLimited) {
  constexpr int kFans = 40;
  for (int second = 0; second < 120; ++second) {
    for (int fan = 0; fan < kFans; ++fan) {
      ASSERT_TRUE(Request(RouteClass::kQueuePoll, "192.0.2.1", "ses_" + std::to_string(fan)).ok())
          << "second " << second << " fan " << fan;
    }
    clock_.Advance(std::chrono::seconds(1));
  }
}

// A session polling far faster than once a second is limited even from many addresses.
TEST_F(DefenseTest, SessionLimitFollowsTheSessionAcrossAddresses) {
  int refused = 0;
  for (int i = 0; i < 50; ++i) {
    if (!Request(RouteClass::kQueuePoll, "10.0." + std::to_string(i) + ".1", "ses_x").ok()) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 40);
}

// Blocks apply to the range, expire after ttl_s, can be removed, and survive a restart.
TEST_F(DefenseTest, BlocklistAddExpireRemoveAndPersist) {
  ASSERT_TRUE(Block("198.51.100.0/24", std::nullopt));
  ASSERT_TRUE(Block("203.0.113.9", 60));
  EXPECT_EQ(Request(RouteClass::kRead, "198.51.100.77").error().code, "blocked");
  EXPECT_EQ(Request(RouteClass::kRead, "203.0.113.9").error().code, "blocked");
  EXPECT_TRUE(Request(RouteClass::kRead, "198.51.101.1").ok());

  Reopen();
  EXPECT_EQ(defense_->Blocks().size(), 2u);
  EXPECT_EQ(Request(RouteClass::kRead, "198.51.100.77").error().code, "blocked");
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_TRUE(Request(RouteClass::kRead, "203.0.113.9").ok());
  EXPECT_EQ(defense_->Blocks().size(), 1u);

  ASSERT_TRUE(Unblock("198.51.100.0/24").ok());
  EXPECT_EQ(Unblock("198.51.100.0/24").error().code, "block_not_found");
  Reopen();
  EXPECT_TRUE(defense_->Blocks().empty());
  EXPECT_TRUE(Request(RouteClass::kRead, "198.51.100.77").ok());
}

// Bad ranges and ttl values are refused with the field named.
TEST_F(DefenseTest, RejectsInvalidBlocks) {
  EXPECT_EQ(Block("300.1.1.1/8", std::nullopt).error().kind, ErrorKind::kUnprocessable);
  EXPECT_EQ(Block("10.0.0.0/8", 0).error().code, "invalid_block");
}

// The allowlist skips rate limits, but an explicit block still wins.
TEST_F(DefenseTest, AllowlistSkipsLimitsButNotBlocks) {
  Reopen("127.0.0.0/8");
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(Request(RouteClass::kSessionCreate, "127.0.0.1").ok());
  ASSERT_TRUE(Block("127.0.0.1", std::nullopt));
  EXPECT_EQ(Request(RouteClass::kRead, "127.0.0.1").error().code, "blocked");
}

}  // namespace
}  // namespace boxoffice
