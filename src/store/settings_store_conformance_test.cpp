// The conformance suite of The SettingsStore port (ports/settings_store.hpp). Every ledger adapter
// runs it (BOXOFFICE_LEDGER_CONFORMANCE in ledger_conformance.hpp). A *_test.cpp, so the build puts
// it into the test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/ledger_conformance.hpp"

namespace boxoffice::ledger_conformance {
namespace {

// PutSetting inserts, then replaces; the empty string is a value, not an absence.
TEST_P(SettingsStoreConformance, SettingsPutReplaceGet) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(PutSettingAndWait(*ledger, "serving_counter", "10").ok());
  auto first = ledger->GetSetting("serving_counter");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, std::optional<std::string>("10"));
  ASSERT_TRUE(PutSettingAndWait(*ledger, "serving_counter", "11").ok());
  auto replaced = ledger->GetSetting("serving_counter");
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, std::optional<std::string>("11"));
  ASSERT_TRUE(PutSettingAndWait(*ledger, "empty", "").ok());
  auto empty = ledger->GetSetting("empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, std::optional<std::string>(""));
}

// Reads of what was never written succeed with nothing: no setting, no customer, no events.
TEST_P(SettingsStoreConformance, MissingKeysReadAsNothing) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto setting = ledger->GetSetting("never_written");
  ASSERT_TRUE(setting.ok());
  EXPECT_EQ(*setting, std::nullopt);
  auto customer = ledger->FindCustomerByEmail("nobody@example.com");
  ASSERT_TRUE(customer.ok());
  EXPECT_EQ(*customer, std::nullopt);
  auto events = ledger->LoadEvents();
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
