#include "catalog/catalog.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <future>

#include "store/memory/memory_ledger.hpp"

namespace boxoffice {
namespace {

EventDefinition SmallEvent(std::string name) {
  Result<EventDefinition> event = ParseEventDefinition(boost::json::parse(
      R"({"name": "x", "price_tiers": [{"id": "A", "price_cents": 100}],
          "sections": [{"id": "1", "tier": "A", "rows": [{"label": "A", "seats": 3}]}]})"));
  event->name = std::move(name);
  return std::move(event).value();
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void TearDown() override {
    catalog_.reset();
    ledger_.reset();
  }
  void Reopen() {
    catalog_.reset();
    ledger_.reset();
    ledger_ = std::make_unique<MemoryLedger>(data_);
    catalog_ = std::make_unique<Catalog>(*ledger_, clock_);
    ASSERT_TRUE(catalog_->Load().ok());
  }
  std::shared_ptr<Event> Create(std::string name) {
    std::promise<Result<std::shared_ptr<Event>>> done;
    catalog_->Create(SmallEvent(std::move(name)), [&](Result<std::shared_ptr<Event>> event) {
      done.set_value(std::move(event));
    });
    Result<std::shared_ptr<Event>> event = done.get_future().get();
    EXPECT_TRUE(event);
    return event ? *event : nullptr;
  }

  FakeClock clock_;
  std::unique_ptr<MemoryLedger> ledger_;
  // Outlives each ledger, so Reopen() is a restart on the same data.
  std::shared_ptr<MemoryLedgerData> data_ = MemoryLedger::NewData();
  std::unique_ptr<Catalog> catalog_;
};

// A created event is findable at once and, after a reopen, identical.
TEST_F(CatalogTest, CreatedEventsSurviveReopen) {
  std::shared_ptr<Event> event = Create("Night 1");
  ASSERT_TRUE(event);
  EXPECT_EQ(catalog_->Find(event->definition().id), event);
  EXPECT_EQ(event->seat_map().size(), 3u);
  const std::string json = event->json();
  Reopen();
  std::shared_ptr<Event> loaded = catalog_->Find(event->definition().id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->json(), json);
  EXPECT_EQ(loaded->seat_map().size(), 3u);
}

// Pages walk all events oldest first; a bad cursor is refused.
TEST_F(CatalogTest, ListPaginatesInCreationOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Create("Night " + std::to_string(i))->definition().id);
  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  do {
    Result<EventPage> page = catalog_->List(2, cursor);
    ASSERT_TRUE(page);
    for (const auto& event : page->items) seen.push_back(event->definition().id);
    cursor = page->next_cursor;
  } while (cursor);
  EXPECT_EQ(seen, ids);
  EXPECT_FALSE(catalog_->List(2, std::string("nonsense!")));
}

}  // namespace
}  // namespace boxoffice
