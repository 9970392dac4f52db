#include "catalog/event.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "catalog/seat_map.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;

// The example from API.md, a valid definition the tests then break one rule at a time.
json::value ValidEvent() {
  return json::parse(R"({
    "name": "Night 1", "starts_at": "2027-05-01T19:00:00Z", "onsale_at": "2026-12-01T10:00:00Z",
    "currency": "USD",
    "price_tiers": [{"id": "A", "name": "Floor", "price_cents": 25000},
                    {"id": "B", "name": "Balcony", "price_cents": 9000}],
    "sections": [{"id": "101", "name": "Section 101", "tier": "A",
                  "rows": [{"label": "A", "seats": 20, "accessible": [1, 2]},
                           {"label": "B", "seats": 10}]},
                 {"id": "201", "tier": "B", "rows": [{"label": "A", "seats": 5}]}],
    "limits": {"per_order": 8, "per_customer": 8},
    "hold_ttl_s": 600,
    "queue": {"enabled": true, "policy": "fifo", "admission_rate_per_s": 100,
              "max_active": 5000, "access_ttl_s": 600},
    "defense": {"challenge": "risk"} })");
}

// Parses `body` and returns the first field the validator blamed, or "" when it passed.
std::string FirstProblem(const json::value& body) {
  Result<EventDefinition> event = ParseEventDefinition(body);
  if (event) return "";
  EXPECT_EQ(event.error().kind, ErrorKind::kUnprocessable);
  EXPECT_EQ(event.error().code, "validation_failed");
  return std::string(event.error().details.at("field").as_string());
}

// The API.md example is accepted with every field read as written.
TEST(EventDefinitionTest, AcceptsTheApiExample) {
  Result<EventDefinition> event = ParseEventDefinition(ValidEvent());
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->name, "Night 1");
  EXPECT_EQ(event->seat_count, 35u);
  EXPECT_EQ(event->sections[0].rows[0].accessible, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_TRUE(event->queue.enabled);
  EXPECT_EQ(event->queue.admission_rate_per_s, 100u);
  EXPECT_EQ(event->challenge, ChallengeMode::kRisk);
  EXPECT_TRUE(event->onsale_at.has_value());
}

// Each broken rule is a 422 naming the offending field's path.
TEST(EventDefinitionTest, RejectsBrokenRulesWithFieldPath) {
  struct Case {
    const char* what;
    std::function<void(json::object&)> mutate;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"missing name", [](json::object& e) { e.erase("name"); }, "name"},
      {"empty name", [](json::object& e) { e["name"] = ""; }, "name"},
      {"unknown price tier",
       [](json::object& e) { e["sections"].as_array()[1].as_object()["tier"] = "Z"; },
       "sections[1].tier"},
      {"duplicate section id",
       [](json::object& e) { e["sections"].as_array()[1].as_object()["id"] = "101"; },
       "sections[1].id"},
      {"row with no seats",
       [](json::object& e) {
         e["sections"].as_array()[0].as_object()["rows"].as_array()[1].as_object()["seats"] = 0;
       },
       "sections[0].rows[1].seats"},
      {"accessible seat out of range",
       [](json::object& e) {
         e["sections"].as_array()[0].as_object()["rows"].as_array()[0].as_object()["accessible"] =
             json::array{1, 21};
       },
       "sections[0].rows[0].accessible[1]"},
      {"section without rows",
       [](json::object& e) { e["sections"].as_array()[0].as_object()["rows"] = json::array{}; },
       "sections[0].rows"},
      {"dash in a section id",
       [](json::object& e) { e["sections"].as_array()[0].as_object()["id"] = "1-01"; },
       "sections[0].id"},
      {"bad time", [](json::object& e) { e["starts_at"] = "tomorrow"; }, "starts_at"},
      // A TimePoint would wrap these round to another instant (2262-04-12 to 1677: on sale now).
      {"onsale_at past 2261", [](json::object& e) { e["onsale_at"] = "2262-04-12T00:00:00Z"; },
       "onsale_at"},
      {"onsale_at in year 9999", [](json::object& e) { e["onsale_at"] = "9999-12-31T23:59:59Z"; },
       "onsale_at"},
      {"starts_at in year 0", [](json::object& e) { e["starts_at"] = "0000-01-01T00:00:00Z"; },
       "starts_at"},
      {"starts_at before 1970", [](json::object& e) { e["starts_at"] = "1500-06-01T00:00:00Z"; },
       "starts_at"},
      {"bad currency", [](json::object& e) { e["currency"] = "usd"; }, "currency"},
      {"venue not a string", [](json::object& e) { e["venue"] = 7; }, "venue"},
      {"venue too long", [](json::object& e) { e["venue"] = std::string(201, 'v'); }, "venue"},
      {"per_order above 8", [](json::object& e) { e["limits"].as_object()["per_order"] = 9; },
       "limits.per_order"},
      {"unknown queue policy",
       [](json::object& e) { e["queue"].as_object()["policy"] = "lottery"; }, "queue.policy"},
      {"negative price",
       [](json::object& e) { e["price_tiers"].as_array()[0].as_object()["price_cents"] = -1; },
       "price_tiers[0].price_cents"},
      {"duplicate tier",
       [](json::object& e) { e["price_tiers"].as_array()[1].as_object()["id"] = "A"; },
       "price_tiers[1].id"},
      {"wrong type", [](json::object& e) { e["hold_ttl_s"] = "600"; }, "hold_ttl_s"},
      {"unknown challenge",
       [](json::object& e) { e["defense"].as_object()["challenge"] = "captcha"; },
       "defense.challenge"},
  };
  for (const Case& test : cases) {
    json::value body = ValidEvent();
    test.mutate(body.as_object());
    EXPECT_EQ(FirstProblem(body), test.field) << test.what;
  }
  EXPECT_EQ(FirstProblem(json::array{}), "");  // not an object: details.field is the root
}

// More than 200,000 seats is refused, 200,000 exactly is accepted.
TEST(EventDefinitionTest, BoundsTheSeatCount) {
  auto with_rows = [](int rows, int seats) {
    json::value body = ValidEvent();
    json::array row_list;
    for (int r = 0; r < rows; ++r) {
      row_list.push_back(json::object{{"label", "R" + std::to_string(r)}, {"seats", seats}});
    }
    json::array sections;
    for (int s = 0; s < 100; ++s) {
      sections.push_back(
          json::object{{"id", "S" + std::to_string(s)}, {"tier", "A"}, {"rows", row_list}});
    }
    body.as_object()["sections"] = std::move(sections);
    return body;
  };
  EXPECT_EQ(FirstProblem(with_rows(100, 20)), "");          // 200,000
  EXPECT_EQ(FirstProblem(with_rows(100, 21)), "sections");  // 210,000
}

// Every problem is listed, not only the first.
TEST(EventDefinitionTest, ListsEveryProblem) {
  json::value body = ValidEvent();
  body.as_object().erase("name");
  body.as_object()["currency"] = "dollars";
  Result<EventDefinition> event = ParseEventDefinition(body);
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().details.at("errors").as_array().size(), 2u);
}

// What EventToJson writes reads back to the same definition.
TEST(EventDefinitionTest, StoredJsonRoundTrips) {
  Result<EventDefinition> event = ParseEventDefinition(ValidEvent());
  ASSERT_TRUE(event);
  event->id = "evt_test";
  event->created_at = TimePoint(std::chrono::seconds(1800000000));
  const json::object stored = EventToJson(*event);
  Result<EventDefinition> loaded = EventFromStoredJson(stored);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(json::serialize(EventToJson(*loaded)), json::serialize(stored));
}

// The venue is optional: kept as written when given, answered as null when absent or empty.
TEST(EventDefinitionTest, VenueIsOptional) {
  json::value body = ValidEvent();
  body.as_object()["venue"] = "Olympia, Paris";
  Result<EventDefinition> event = ParseEventDefinition(body);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->venue, "Olympia, Paris");
  EXPECT_EQ(EventToJson(*event).at("venue"), "Olympia, Paris");
  for (const json::value& nothing : {json::value(nullptr), json::value("")}) {
    body.as_object()["venue"] = nothing;
    event = ParseEventDefinition(body);
    ASSERT_TRUE(event);
    EXPECT_EQ(event->venue, std::nullopt);
    EXPECT_TRUE(EventToJson(*event).at("venue").is_null());
  }
  body.as_object().erase("venue");
  EXPECT_TRUE(EventToJson(*ParseEventDefinition(body)).at("venue").is_null());
}

// An integer field given a double is read only when the double is a whole number that an int64
// holds: 1e300, -1e300, 2^63 and the inf Boost.JSON reads "2E5000" as are refused, where the cast
// that tested them was undefined behaviour (found by fuzz/json_documents_fuzzer.cpp under clang's
// UBSan; its corpus keeps the input, fuzz/corpus/json_documents/price-inf).
TEST(EventDefinitionTest, DoublesOutsideInt64AreNotIntegers) {
  for (const char* price : {"1e300", "-1e300", "2E5000", "9223372036854775808.0", "1500.5"}) {
    json::value event = ValidEvent();
    std::string text = json::serialize(event);
    const std::string tier = "\"price_cents\":25000";
    text.replace(text.find(tier), tier.size(), std::string("\"price_cents\":") + price);
    Result<EventDefinition> parsed = ParseEventDefinition(json::parse(text));
    ASSERT_FALSE(parsed) << price;
    EXPECT_EQ(parsed.error().details.at("field").as_string(), "price_tiers[0].price_cents");
  }
  json::value event = ValidEvent();
  event.as_object()["price_tiers"].as_array()[0].as_object()["price_cents"] = 1500.0;
  Result<EventDefinition> whole = ParseEventDefinition(event);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->price_tiers[0].price_cents, 1500);
}

// A stored row whose seat count is no whole unsigned number is an internal error, not an
// exception out of the catalog's load (found by fuzz/json_documents_fuzzer.cpp).
TEST(EventDefinitionTest, StoredJsonWithAnImpossibleSeatCountIsAnError) {
  Result<EventDefinition> event = ParseEventDefinition(ValidEvent());
  ASSERT_TRUE(event);
  event->id = "evt_test";
  event->created_at = TimePoint(std::chrono::seconds(1800000000));
  for (const json::value& count : {json::value(-1), json::value(35.5), json::value(1e300),
                                   json::value(-35.0), json::value("35")}) {
    json::object stored = EventToJson(*event);
    stored["seat_count"] = count;
    Result<EventDefinition> loaded = EventFromStoredJson(stored);
    ASSERT_FALSE(loaded) << json::serialize(count);
    EXPECT_EQ(loaded.error().kind, ErrorKind::kInternal);
  }
  json::object stored = EventToJson(*event);
  stored["seat_count"] = 35.0;  // a whole number written as a double still counts
  EXPECT_TRUE(EventFromStoredJson(stored));
}

// Seat ids map to indices and back; malformed or unknown ids are not found.
TEST(SeatMapTest, FindsSeatsById) {
  Result<EventDefinition> event = ParseEventDefinition(ValidEvent());
  ASSERT_TRUE(event);
  const SeatMap map(*event);
  ASSERT_EQ(map.size(), 35u);
  for (std::uint32_t i = 0; i < map.size(); ++i) EXPECT_EQ(map.Find(map.SeatId(i)), i);
  EXPECT_EQ(map.Find("101-A-1"), 0u);
  EXPECT_EQ(map.Find("101-B-1"), 20u);
  EXPECT_EQ(map.Find("201-A-5"), 34u);
  EXPECT_TRUE(map.Seat(1).accessible);
  EXPECT_FALSE(map.Seat(2).accessible);
  EXPECT_EQ(map.TierOf(34).id, "B");
  for (const char* id : {"101-A-0", "101-A-21", "101-C-1", "999-A-1", "101-A", "101-A-01",
                         "101-A-1x", "", "---", "101-A--1"}) {
    EXPECT_EQ(map.Find(id), std::nullopt) << id;
  }
  EXPECT_EQ(map.SectionRange("201"), std::make_pair(30u, 35u));
  EXPECT_EQ(map.SectionRange("nope"), std::nullopt);
}

}  // namespace
}  // namespace boxoffice
