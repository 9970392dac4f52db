#include "operators/operator_keys.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto.hpp"
#include "store/memory/memory_ledger.hpp"

namespace boxoffice {
namespace {

constexpr std::string_view kSecret = "operator keys test secret";

Result<MintedOperatorKey> MintAndWait(OperatorKeys& keys, std::string label = "",
                                      OperatorScope scope = OperatorScope::kViewer) {
  std::promise<Result<MintedOperatorKey>> minted;
  keys.Mint(scope, std::move(label),
            [&minted](Result<MintedOperatorKey> key) { minted.set_value(std::move(key)); });
  return minted.get_future().get();
}

Result<OperatorKey> RevokeAndWait(OperatorKeys& keys, std::string_view id) {
  std::promise<Result<OperatorKey>> revoked;
  keys.Revoke(id, [&revoked](Result<OperatorKey> key) { revoked.set_value(std::move(key)); });
  return revoked.get_future().get();
}

class OperatorKeysTest : public ::testing::Test {
 protected:
  OperatorKeysTest() : data_((InitCrypto(), MemoryLedger::NewData())) {}

  std::shared_ptr<MemoryLedgerData> data_;
  FakeClock clock_;
};

// A minted key verifies as a viewer under its own id, and is listed with its facts.
TEST_F(OperatorKeysTest, MintedKeyVerifiesAsAViewer) {
  MemoryLedger ledger(data_);
  OperatorKeys keys(ledger, clock_, kSecret);
  ASSERT_TRUE(keys.Load().ok());
  Result<MintedOperatorKey> minted = MintAndWait(keys, "wall screen");
  ASSERT_TRUE(minted.ok()) << minted.error().message;
  EXPECT_TRUE(minted->key.id.starts_with("opk_"));
  std::optional<OperatorIdentity> identity = keys.Verify(minted->secret);
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->key_id, minted->key.id);
  EXPECT_EQ(identity->scope, OperatorScope::kViewer);
  const std::vector<OperatorKey> listed = keys.List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, minted->key.id);
  EXPECT_EQ(listed[0].label, "wall screen");
  EXPECT_EQ(listed[0].created_at, std::chrono::floor<std::chrono::milliseconds>(clock_.Now()));
}

// List is in minting order, also when the clock does not move between mints, and after a
// restart.
TEST_F(OperatorKeysTest, ListKeepsMintingOrderWhenClocksTie) {
  std::vector<std::string> minted_ids;
  {
    MemoryLedger ledger(data_);
    OperatorKeys keys(ledger, clock_, kSecret);
    ASSERT_TRUE(keys.Load().ok());
    for (int i = 0; i < 8; ++i) {
      Result<MintedOperatorKey> minted = MintAndWait(keys);
      ASSERT_TRUE(minted.ok());
      minted_ids.push_back(minted->key.id);
    }
    std::vector<std::string> listed;
    for (const OperatorKey& key : keys.List()) listed.push_back(key.id);
    EXPECT_EQ(listed, minted_ids);
  }
  MemoryLedger ledger(data_);
  OperatorKeys restarted(ledger, clock_, kSecret);
  ASSERT_TRUE(restarted.Load().ok());
  std::vector<std::string> listed;
  for (const OperatorKey& key : restarted.List()) listed.push_back(key.id);
  EXPECT_EQ(listed, minted_ids);
}

// Nothing but a key this server minted verifies: not a key with a byte changed, not one signed
// under another secret, not another kind of token under the same secret, not a key claiming a
// wider scope, not garbage.
TEST_F(OperatorKeysTest, ForgeriesDoNotVerify) {
  MemoryLedger ledger(data_);
  OperatorKeys keys(ledger, clock_, kSecret);
  ASSERT_TRUE(keys.Load().ok());
  Result<MintedOperatorKey> minted = MintAndWait(keys);
  ASSERT_TRUE(minted.ok());
  const std::string& id = minted->key.id;

  for (std::size_t i = 0; i < minted->secret.size(); ++i) {
    std::string changed = minted->secret;
    changed[i] = changed[i] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(keys.Verify(changed).has_value()) << "byte " << i;
  }
  EXPECT_FALSE(keys.Verify(TokenSigner("another secret", "operator_key").Sign({id, "viewer"})));
  EXPECT_FALSE(keys.Verify(TokenSigner(kSecret, "session").Sign({id, "viewer"})));
  EXPECT_FALSE(keys.Verify(TokenSigner(kSecret, "access_token").Sign({id, "viewer"})));
  // A genuine signature over a wider scope (as if the signing key leaked) still names a viewer
  // key in the ledger: the two must agree.
  EXPECT_FALSE(keys.Verify(TokenSigner(kSecret, "operator_key").Sign({id, "operator"})));
  EXPECT_FALSE(keys.Verify(TokenSigner(kSecret, "operator_key").Sign({id})));
  for (const std::string& junk :
       std::vector<std::string>{"", ".", "2.", "2..", "2.opk_x.viewer.", id}) {
    EXPECT_FALSE(keys.Verify(junk).has_value()) << junk;
  }
  EXPECT_FALSE(keys.Verify(std::string(4096, 'a')).has_value());
  EXPECT_TRUE(keys.Verify(minted->secret).has_value());
}

// A revoked key stops verifying at once and stays revoked after a restart; the others live on.
TEST_F(OperatorKeysTest, RevocationIsImmediateAndSurvivesRestart) {
  std::string revoked_secret, kept_secret, kept_id;
  {
    MemoryLedger ledger(data_);
    OperatorKeys keys(ledger, clock_, kSecret);
    ASSERT_TRUE(keys.Load().ok());
    Result<MintedOperatorKey> revoked = MintAndWait(keys, "lost laptop");
    Result<MintedOperatorKey> kept = MintAndWait(keys, "wall");
    ASSERT_TRUE(revoked.ok() && kept.ok());
    revoked_secret = revoked->secret;
    kept_secret = kept->secret;
    kept_id = kept->key.id;
    Result<OperatorKey> gone = RevokeAndWait(keys, revoked->key.id);
    ASSERT_TRUE(gone.ok()) << gone.error().message;
    EXPECT_EQ(gone->label, "lost laptop");
    EXPECT_FALSE(keys.Verify(revoked_secret).has_value());
    Result<OperatorKey> twice = RevokeAndWait(keys, revoked->key.id);
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.error().code, "operator_key_not_found");
  }
  MemoryLedger ledger(data_);
  OperatorKeys restarted(ledger, clock_, kSecret);
  ASSERT_TRUE(restarted.Load().ok());
  EXPECT_FALSE(restarted.Verify(revoked_secret).has_value());
  std::optional<OperatorIdentity> kept = restarted.Verify(kept_secret);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->key_id, kept_id);
  ASSERT_EQ(restarted.List().size(), 1u);
}

// A correctly signed key whose record the ledger does not hold (another ledger under the same
// secret, or a data dir restored from before it was minted) is refused.
TEST_F(OperatorKeysTest, KeyUnknownToTheLedgerIsRefused) {
  MemoryLedger ledger(data_);
  OperatorKeys keys(ledger, clock_, kSecret);
  ASSERT_TRUE(keys.Load().ok());
  Result<MintedOperatorKey> minted = MintAndWait(keys);
  ASSERT_TRUE(minted.ok());
  MemoryLedger other_ledger;
  OperatorKeys elsewhere(other_ledger, clock_, kSecret);
  ASSERT_TRUE(elsewhere.Load().ok());
  EXPECT_FALSE(elsewhere.Verify(minted->secret).has_value());
}

// Only viewer keys are minted, with a label of at most 100 printable characters.
TEST_F(OperatorKeysTest, MintRefusesOtherScopesAndBadLabels) {
  MemoryLedger ledger(data_);
  OperatorKeys keys(ledger, clock_, kSecret);
  ASSERT_TRUE(keys.Load().ok());
  Result<MintedOperatorKey> wide = MintAndWait(keys, "", OperatorScope::kOperator);
  ASSERT_FALSE(wide.ok());
  EXPECT_EQ(wide.error().code, "validation_failed");
  EXPECT_EQ(wide.error().details.at("field").as_string(), "scope");
  for (const std::string& label :
       {std::string(101, 'x'), std::string("tab\there"), std::string("del\x7f")}) {
    Result<MintedOperatorKey> refused = MintAndWait(keys, label);
    ASSERT_FALSE(refused.ok()) << label;
    EXPECT_EQ(refused.error().details.at("field").as_string(), "label");
  }
  // 100 characters of two bytes each is within the limit: it counts characters, not bytes.
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xc3\xa9";
  EXPECT_TRUE(MintAndWait(keys, accents).ok());
  EXPECT_EQ(keys.List().size(), 1u);
  Result<OperatorKey> unknown = RevokeAndWait(keys, "opk_nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
}

// At most kOperatorKeysMax keys live at once; revoking one makes room for another.
TEST_F(OperatorKeysTest, LiveKeysAreBounded) {
  MemoryLedger ledger(data_);
  OperatorKeys keys(ledger, clock_, kSecret);
  ASSERT_TRUE(keys.Load().ok());
  std::string first_id;
  for (std::size_t i = 0; i < kOperatorKeysMax; ++i) {
    Result<MintedOperatorKey> minted = MintAndWait(keys);
    ASSERT_TRUE(minted.ok()) << i;
    if (i == 0) first_id = minted->key.id;
  }
  Result<MintedOperatorKey> full = MintAndWait(keys);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, "operator_keys_full");
  ASSERT_TRUE(RevokeAndWait(keys, first_id).ok());
  EXPECT_TRUE(MintAndWait(keys).ok());
}

// Many revocations of one key at once: exactly one revokes it, the others find nothing.
TEST_F(OperatorKeysTest, ConcurrentRevocationsRevokeOnce) {
  MemoryLedger ledger(data_);
  OperatorKeys keys(ledger, clock_, kSecret);
  ASSERT_TRUE(keys.Load().ok());
  Result<MintedOperatorKey> minted = MintAndWait(keys);
  ASSERT_TRUE(minted.ok());
  constexpr int kThreads = 16;
  std::atomic<int> revoked{0};
  std::atomic<int> not_found{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      Result<OperatorKey> outcome = RevokeAndWait(keys, minted->key.id);
      if (outcome.ok()) ++revoked;
      if (!outcome.ok() && outcome.error().code == "operator_key_not_found") ++not_found;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(revoked.load(), 1);
  EXPECT_EQ(not_found.load(), kThreads - 1);
  EXPECT_FALSE(keys.Verify(minted->secret).has_value());
}

// A store that fails every write, to see what the keys do when the ledger cannot keep a change.
class FailingKeyStore final : public OperatorKeyStore {
 public:
  explicit FailingKeyStore(std::vector<OperatorKeyRecord> live) : live_(std::move(live)) {}
  void InsertOperatorKey(OperatorKeyRecord, DurableDone done) override { Fail(std::move(done)); }
  void RevokeOperatorKey(std::string, std::int64_t, DurableDone done) override {
    Fail(std::move(done));
  }
  Result<std::vector<OperatorKeyRecord>> LoadLiveOperatorKeys() override { return live_; }

 private:
  // On a thread of its own, as the port asks of every adapter.
  static void Fail(DurableDone done) {
    std::thread([done = std::move(done)] { done(Error::Internal("disk full")); }).join();
  }
  std::vector<OperatorKeyRecord> live_;
};

// A mint the ledger refused hands out no key; a revocation it refused leaves the key working, as
// the ledger (and so the next start) still has it.
TEST_F(OperatorKeysTest, RefusedWritesChangeNothing) {
  MemoryLedger ledger(data_);
  OperatorKeys keys(ledger, clock_, kSecret);
  ASSERT_TRUE(keys.Load().ok());
  Result<MintedOperatorKey> minted = MintAndWait(keys);
  ASSERT_TRUE(minted.ok());

  FailingKeyStore failing(*ledger.LoadLiveOperatorKeys());
  OperatorKeys on_failing(failing, clock_, kSecret);
  ASSERT_TRUE(on_failing.Load().ok());
  Result<MintedOperatorKey> refused = MintAndWait(on_failing);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(on_failing.List().size(), 1u);
  Result<OperatorKey> not_revoked = RevokeAndWait(on_failing, minted->key.id);
  ASSERT_FALSE(not_revoked.ok());
  EXPECT_EQ(not_revoked.error().message, "disk full");
  EXPECT_TRUE(on_failing.Verify(minted->secret).has_value());
}

}  // namespace
}  // namespace boxoffice
