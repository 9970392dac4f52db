// The conformance suite of the OperatorKeyStore port (ports/operator_key_store.hpp). Every ledger
// adapter runs it (BOXOFFICE_LEDGER_CONFORMANCE in ledger_conformance.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/ledger_conformance.hpp"

namespace boxoffice::ledger_conformance {
namespace {

Status InsertKeyAndWait(Ledger& ledger, OperatorKeyRecord key) {
  return WaitForDurable(
      [&](Ledger::Done done) { ledger.InsertOperatorKey(std::move(key), std::move(done)); });
}

Status RevokeKeyAndWait(Ledger& ledger, std::string id, std::int64_t at_ms) {
  return WaitForDurable(
      [&](Ledger::Done done) { ledger.RevokeOperatorKey(std::move(id), at_ms, std::move(done)); });
}

std::vector<std::string> LiveIds(Ledger& ledger) {
  Result<std::vector<OperatorKeyRecord>> live = ledger.LoadLiveOperatorKeys();
  EXPECT_TRUE(live.ok()) << (live.ok() ? "" : live.error().message);
  std::vector<std::string> ids;
  if (live.ok()) {
    for (const OperatorKeyRecord& key : *live) ids.push_back(key.id);
  }
  return ids;
}

// Keys come back as inserted, in insertion order (not by id or time); a revoked key is gone from
// the live ones, and all of it survives a reopen.
TEST_P(OperatorKeyStoreConformance, LiveKeysComeBackInOrderAndRevocationSurvivesReopen) {
  {
    std::unique_ptr<Ledger> ledger = Open();
    ASSERT_NE(ledger, nullptr);
    EXPECT_TRUE(LiveIds(*ledger).empty());
    // Ids and times out of order on purpose: the order is the order of insertion.
    ASSERT_TRUE(InsertKeyAndWait(*ledger, {"opk_zz", "viewer", "wall screen", 3'000}).ok());
    ASSERT_TRUE(InsertKeyAndWait(*ledger, {"opk_aa", "viewer", "", 1'000}).ok());
    ASSERT_TRUE(InsertKeyAndWait(*ledger, {"opk_mm", "viewer", "Ana's laptop", 2'000}).ok());
    ASSERT_TRUE(RevokeKeyAndWait(*ledger, "opk_aa", 4'000).ok());
  }
  std::unique_ptr<Ledger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  Result<std::vector<OperatorKeyRecord>> live = ledger->LoadLiveOperatorKeys();
  ASSERT_TRUE(live.ok()) << live.error().message;
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].id, "opk_zz");
  EXPECT_EQ((*live)[0].scope, "viewer");
  EXPECT_EQ((*live)[0].label, "wall screen");
  EXPECT_EQ((*live)[0].created_at_ms, 3'000);
  EXPECT_EQ((*live)[1].id, "opk_mm");
  EXPECT_EQ((*live)[1].label, "Ana's laptop");
}

// A taken id is refused, a revoked one too (it is never handed out again); revoking an unknown
// or an already revoked key is operator_key_not_found and changes nothing.
TEST_P(OperatorKeyStoreConformance, IdsAreUniqueAndRevocationHappensOnce) {
  std::unique_ptr<Ledger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(InsertKeyAndWait(*ledger, {"opk_1", "viewer", "", 1}).ok());
  Status taken = InsertKeyAndWait(*ledger, {"opk_1", "viewer", "again", 2});
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(taken.error().code, "operator_key_exists");

  Status unknown = RevokeKeyAndWait(*ledger, "opk_nope", 3);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(unknown.error().code, "operator_key_not_found");

  ASSERT_TRUE(RevokeKeyAndWait(*ledger, "opk_1", 4).ok());
  Status twice = RevokeKeyAndWait(*ledger, "opk_1", 5);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "operator_key_not_found");
  Status reused = InsertKeyAndWait(*ledger, {"opk_1", "viewer", "", 6});
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, "operator_key_exists");
  EXPECT_TRUE(LiveIds(*ledger).empty());
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
