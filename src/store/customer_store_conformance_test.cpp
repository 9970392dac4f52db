// The conformance suite of The CustomerStore port (ports/customer_store.hpp). Every ledger adapter
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

// A customer is found by its email with every field intact; another email finds nothing.
TEST_P(CustomerStoreConformance, CustomerIsFoundByEmail) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  const CustomerRecord customer{"cus_1", "fan@example.com", "$argon2id$secret", 1'700'000'000'123};
  ASSERT_TRUE(InsertCustomerAndWait(*ledger, customer).ok());
  auto found = ledger->FindCustomerByEmail("fan@example.com");
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, customer.id);
  EXPECT_EQ((*found)->email, customer.email);
  EXPECT_EQ((*found)->password_hash, customer.password_hash);
  EXPECT_EQ((*found)->created_at_ms, customer.created_at_ms);
  auto other = ledger->FindCustomerByEmail("other@example.com");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

// A taken email fails alone with "email_taken"; the writes queued around it still commit.
TEST_P(CustomerStoreConformance, DuplicateEmailFailsAloneAndTheRestCommit) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  StatusLog log(5);
  // Queued back to back without waiting, so they normally share one group.
  ledger->InsertCustomer(MakeCustomer("cus_a", "same@example.com"), log.At(0));
  ledger->InsertCustomer(MakeCustomer("cus_b", "same@example.com"), log.At(1));
  ledger->PutSetting("after_conflict", "yes", log.At(2));
  ledger->InsertEvent(MakeEvent("evt_after"), log.At(3));
  ledger->InsertCustomer(MakeCustomer("cus_c", "other@example.com"), log.At(4));
  ledger->Flush();

  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(log.calls(i), 1) << i;
  // Exactly one of the two claims on the email wins.
  const Status first = log.status(0);
  const Status second = log.status(1);
  ASSERT_NE(first.ok(), second.ok());
  const Status& loser = first.ok() ? second : first;
  EXPECT_EQ(loser.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(loser.error().code, "email_taken");
  for (std::size_t i = 2; i < 5; ++i) EXPECT_TRUE(log.status(i).ok()) << i;

  auto owner = ledger->FindCustomerByEmail("same@example.com");
  ASSERT_TRUE(owner.ok());
  ASSERT_TRUE(owner->has_value());
  EXPECT_EQ((*owner)->id, first.ok() ? "cus_a" : "cus_b");
  auto setting = ledger->GetSetting("after_conflict");
  ASSERT_TRUE(setting.ok());
  EXPECT_EQ(*setting, std::optional<std::string>("yes"));
  auto events = ledger->LoadEvents();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].id, "evt_after");
  auto other = ledger->FindCustomerByEmail("other@example.com");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->has_value());
}

// A taken customer id with a fresh email fails with "customer_exists", not "email_taken".
TEST_P(CustomerStoreConformance, DuplicateCustomerIdIsCustomerExists) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(InsertCustomerAndWait(*ledger, MakeCustomer("cus_1", "one@example.com")).ok());
  Status status = InsertCustomerAndWait(*ledger, MakeCustomer("cus_1", "two@example.com"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(status.error().code, "customer_exists");
  auto second = ledger->FindCustomerByEmail("two@example.com");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
