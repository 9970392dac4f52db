// The conformance suite of the DefenseListStore port (ports/defense_list_store.hpp). Every ledger
// adapter runs it (BOXOFFICE_LEDGER_CONFORMANCE in ledger_conformance.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/ledger_conformance.hpp"

namespace boxoffice::ledger_conformance {
namespace {

Status SaveAndWait(Ledger& ledger, std::string list, std::vector<CidrListRecord> entries) {
  return WaitForDurable([&](Ledger::Done done) {
    ledger.SaveCidrList(std::move(list), std::move(entries), std::move(done));
  });
}

bool Same(const CidrListRecord& a, const CidrListRecord& b) {
  return a.cidr == b.cidr && a.reason == b.reason && a.created_at_ms == b.created_at_ms &&
         a.expires_at_ms == b.expires_at_ms;
}

// A list comes back as saved, in order, with and without expiry; a save replaces the whole
// list; lists are separate; a list never saved is empty; all of it survives a reopen.
TEST_P(DefenseListStoreConformance, ListsAreSavedWholeAndSurviveReopen) {
  const CidrListRecord forever{"203.0.113.0/24", "scraper farm", 1'700'000'000'000, 0};
  const CidrListRecord day{"2001:db8::/32", "", 1'700'000'001'000, 1'700'086'401'000};
  const CidrListRecord office{"198.51.100.7/32", "monitoring", 1'700'000'002'000, 0};
  {
    std::unique_ptr<Ledger> ledger = Open();
    ASSERT_NE(ledger, nullptr);
    auto empty = ledger->LoadCidrList("blocklist");
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->empty());
    ASSERT_TRUE(SaveAndWait(*ledger, "blocklist", {forever}).ok());
    ASSERT_TRUE(SaveAndWait(*ledger, "blocklist", {day, forever}).ok());
    ASSERT_TRUE(SaveAndWait(*ledger, "allowlist", {office}).ok());
  }
  std::unique_ptr<Ledger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto blocks = ledger->LoadCidrList("blocklist");
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  ASSERT_EQ(blocks->size(), 2u);
  EXPECT_TRUE(Same((*blocks)[0], day));
  EXPECT_TRUE(Same((*blocks)[1], forever));
  auto allows = ledger->LoadCidrList("allowlist");
  ASSERT_TRUE(allows.ok());
  ASSERT_EQ(allows->size(), 1u);
  EXPECT_TRUE(Same((*allows)[0], office));
  ASSERT_TRUE(SaveAndWait(*ledger, "allowlist", {}).ok());
  auto cleared = ledger->LoadCidrList("allowlist");
  ASSERT_TRUE(cleared.ok());
  EXPECT_TRUE(cleared->empty());
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
