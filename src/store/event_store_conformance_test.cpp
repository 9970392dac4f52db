// The conformance suite of The EventStore port (ports/event_store.hpp). Every ledger adapter runs
// it (BOXOFFICE_LEDGER_CONFORMANCE in ledger_conformance.hpp). A *_test.cpp, so the build puts it
// into the test binary.
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

// Inserted events come back in insertion order, not ordered by id or by timestamp ties.
TEST_P(EventStoreConformance, InsertedEventsLoadOldestFirst) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  const std::vector<std::string> ids = {"evt_c", "evt_a", "evt_d", "evt_b"};
  for (const std::string& id : ids) {
    ASSERT_TRUE(InsertEventAndWait(*ledger, MakeEvent(id)).ok()) << id;
  }
  auto events = ledger->LoadEvents();
  ASSERT_TRUE(events.ok()) << events.error().message;
  ASSERT_EQ(events->size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ((*events)[i].id, ids[i]);
    EXPECT_EQ((*events)[i].name, "Event " + ids[i]);
    EXPECT_EQ((*events)[i].created_at_ms, 1'700'000'000'000);
  }
}

// Event names and definitions come back byte for byte: unicode, escapes, whitespace, large.
TEST_P(EventStoreConformance, DefinitionJsonRoundTripsExactly) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  // Non-ASCII text, a JSON-escaped NUL, escaped quotes and backslashes, a newline and a tab.
  const std::string unicode =
      std::string(R"({"name": "Café Tacvba — 東京ドーム 🎟️",)") + "\n\t" +
      R"("note": "\u0000 \"q\" \\"  })";
  std::string large = "{\"seats\":[";
  for (int i = 0; i < 20'000; ++i) {
    if (i > 0) large += ',';
    large += std::to_string(i);
  }
  large += "]}";
  const std::vector<EventRecord> events = {
      {"evt_unicode", "Ñandú ☂ 🎫", -5, unicode},
      {"evt_large", "", 0, large},
      {"evt_empty", "empty", 9'007'199'254'740'993, ""},
  };
  for (const EventRecord& event : events) {
    ASSERT_TRUE(InsertEventAndWait(*ledger, event).ok()) << event.id;
  }
  auto loaded = ledger->LoadEvents();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ((*loaded)[i].id, events[i].id);
    EXPECT_EQ((*loaded)[i].name, events[i].name);
    EXPECT_EQ((*loaded)[i].created_at_ms, events[i].created_at_ms);
    EXPECT_EQ((*loaded)[i].definition_json, events[i].definition_json);
  }
}

// A second event with a taken id fails with kConflict "event_exists" and changes nothing.
TEST_P(EventStoreConformance, DuplicateEventIdIsEventExists) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(InsertEventAndWait(*ledger, MakeEvent("evt_1")).ok());
  EventRecord duplicate = MakeEvent("evt_1");
  duplicate.name = "Impostor";
  Status status = InsertEventAndWait(*ledger, duplicate);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(status.error().code, "event_exists");
  auto events = ledger->LoadEvents();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].name, "Event evt_1");
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
