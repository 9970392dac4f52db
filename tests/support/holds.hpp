// Blocking steps the tests of holds share: create an event through the catalog, journal a hold
// the table granted, release one. Each waits for the durable `done`, as a request would.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "catalog/catalog.hpp"
#include "inventory/hold_service.hpp"

namespace boxoffice::test_support {

// A 40-seat event in two rows of one section, 4 seats per order, holds of a minute.
inline constexpr std::string_view kHoldEventJson = R"({
  "name": "Service", "price_tiers": [{"id": "A", "price_cents": 1000}],
  "sections": [{"id": "S", "tier": "A", "rows": [{"label": "A", "seats": 20},
                                                 {"label": "B", "seats": 20}]}],
  "limits": {"per_order": 4, "per_customer": 8}, "hold_ttl_s": 60})";

inline std::shared_ptr<Event> CreateEvent(Catalog& catalog,
                                          std::string_view json = kHoldEventJson) {
  Result<EventDefinition> definition = ParseEventDefinition(boost::json::parse(json));
  EXPECT_TRUE(definition.ok());
  if (!definition.ok()) return nullptr;
  std::promise<Result<std::shared_ptr<Event>>> created;
  catalog.Create(std::move(definition).value(), [&created](Result<std::shared_ptr<Event>> event) {
    created.set_value(std::move(event));
  });
  Result<std::shared_ptr<Event>> event = created.get_future().get();
  EXPECT_TRUE(event.ok());
  return event.ok() ? *event : nullptr;
}

inline Result<Hold> AcknowledgeAndWait(HoldService& service, SeatInventory& table,
                                       Result<Hold> held) {
  if (!held) return held;
  std::promise<Result<Hold>> done;
  service.Acknowledge(table, std::move(held).value(),
                      [&done](Result<Hold> hold) { done.set_value(std::move(hold)); });
  return done.get_future().get();
}

inline Status ReleaseAndWait(HoldService& service, const std::string& id,
                             const std::string& session) {
  std::promise<Status> done;
  service.Release(id, session, [&done](Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

}  // namespace boxoffice::test_support
