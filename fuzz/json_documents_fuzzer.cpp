// The JSON every request body and stored event passes through, below the route handlers (which
// api_bodies_fuzzer calls whole): the body checks of src/api/support.cpp (one JSON value of
// bounded depth, no card number anywhere in it), the card-number search of
// src/payments/card_number.cpp, and the event definition of src/catalog/event.cpp with the round
// trip the ledger makes of it.
//
// Input: a selector byte, then the text.
//   'a' ParseJsonBody and ParseJsonObjectBody on a request with this body
//   'b' ParseEventDefinition; a definition it accepts must survive EventToJson and
//       EventFromStoredJson unchanged, and lay out a seat map whose every id finds its seat
//   'c' EventFromStoredJson on this text as the ledger's row (a row altered on disk)
//   'd' FindCardNumber against a plain walk over every key and string
//   'e' the waiting room's settings as its store keeps them (what PATCH .../queue wrote), read
//       back when the room restores an event's queue at start
//   'f' SerializeJson, the project's JSON writer (src/common/json_text.cpp): what it writes parses
//       back to the same value, and is Boost.JSON's own text for a value that holds no double
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/support.hpp"
#include "catalog/event.hpp"
#include "catalog/seat_map.hpp"
#include "common/card_digits.hpp"
#include "common/json_text.hpp"
#include "fuzz_input.hpp"
#include "fuzz_logging.hpp"
#include "payments/card_number.hpp"
#include "store/memory/memory_queue_store.hpp"
#include "waitingroom/waiting_room.hpp"

namespace {

namespace json = boost::json;

std::optional<json::value> Parse(std::string_view text) {
  json::parse_options options;
  options.max_depth = 32;  // as ParseJsonBody
  std::error_code error;
  json::value value = json::parse(text, error, {}, options);
  if (error) return std::nullopt;
  return value;
}

bool AnyCardNumber(const json::value& value) {
  if (const json::string* text = value.if_string()) return boxoffice::ContainsCardNumber(*text);
  if (const json::array* array = value.if_array()) {
    for (const json::value& item : *array) {
      if (AnyCardNumber(item)) return true;
    }
  }
  if (const json::object* object = value.if_object()) {
    for (const auto& field : *object) {
      if (boxoffice::ContainsCardNumber(field.key()) || AnyCardNumber(field.value())) return true;
    }
  }
  return false;
}

void Body(std::string_view text) {
  boxoffice::http::Request request;
  request.method = boxoffice::http::Method::kPost;
  request.path = "/v1/orders";
  request.body = std::string(text);
  boxoffice::Result<json::value> body = boxoffice::api::ParseJsonBody(request);
  if (body) {
    FUZZ_EXPECT(!boxoffice::FindCardNumber(*body));
  } else {
    FUZZ_EXPECT(!body.error().code.empty());
  }
  boxoffice::Result<json::object> object = boxoffice::api::ParseJsonObjectBody(request);
  FUZZ_EXPECT(!object || (body && body->is_object()));
}

void Definition(std::string_view text) {
  const std::optional<json::value> body = Parse(text);
  if (!body) return;
  boxoffice::Result<boxoffice::EventDefinition> definition = boxoffice::ParseEventDefinition(*body);
  if (!definition) {
    FUZZ_EXPECT(definition.error().details.contains("field"));
    return;
  }
  FUZZ_EXPECT(definition->seat_count <= boxoffice::kEventSeatsMax);
  // What the catalog stores, read back as the catalog loads it at start.
  definition->id = "evt_fuzz";
  definition->created_at = boxoffice::TimePoint(std::chrono::seconds(1'800'000'000));
  const json::object stored = boxoffice::EventToJson(*definition);
  boxoffice::Result<boxoffice::EventDefinition> loaded = boxoffice::EventFromStoredJson(stored);
  FUZZ_EXPECT(loaded.ok());
  FUZZ_EXPECT(json::serialize(boxoffice::EventToJson(*loaded)) == json::serialize(stored));

  // The seat map of a large venue costs time, not coverage: small ones are enough.
  if (definition->seat_count > 5'000) return;
  const boxoffice::SeatMap map(*definition);
  FUZZ_EXPECT(map.size() == definition->seat_count);
  for (std::uint32_t index = 0; index < map.size(); ++index) {
    const std::optional<std::uint32_t> found = map.Find(map.SeatId(index));
    FUZZ_EXPECT(found && *found == index);
  }
}

void Stored(std::string_view text) {
  const std::optional<json::value> stored = Parse(text);
  if (!stored) return;
  boxoffice::Result<boxoffice::EventDefinition> loaded = boxoffice::EventFromStoredJson(*stored);
  if (loaded) FUZZ_EXPECT(!loaded->id.empty());
}

void CardNumbers(std::string_view text) {
  const std::optional<json::value> value = Parse(text);
  if (!value) return;
  const std::optional<std::string> field = boxoffice::FindCardNumber(*value);
  FUZZ_EXPECT(field.has_value() == AnyCardNumber(*value));
  // Only the path is ever reported or logged, so the path itself must not carry the number.
  if (field) FUZZ_EXPECT(!boxoffice::ContainsCardNumber(*field));
}

void StoredQueueSettings(std::string_view text) {
  boxoffice::FakeClock clock;
  boxoffice::MemoryQueueStore store;
  store.Put("evt_fuzz", "settings", std::string(text), nullptr);
  boxoffice::WaitingRoom room(store, clock, "fuzz secret",
                              boxoffice::WaitingRoomOptions{.sequence_block = 16});
  boxoffice::EventDefinition event;
  event.id = "evt_fuzz";
  event.queue.enabled = true;
  const boxoffice::InventoryProbe inventory = [] { return boxoffice::InventoryLevel{10, 0}; };
  room.Attach(event, inventory, /*restore=*/true);
  FUZZ_EXPECT(room.Settings("evt_fuzz").ok());
  FUZZ_EXPECT(room.PublicQueueJson("evt_fuzz").ok());
  // A queue the operator had closed turns new fans away; any other takes them in.
  boxoffice::Result<boxoffice::FanView> joined =
      room.Join("evt_fuzz", boxoffice::FanIdentity{"ses_fuzz", "", ""});
  FUZZ_EXPECT(joined.ok() ||
              (room.Settings("evt_fuzz")->closed && joined.error().code == "queue_closed"));
  for (int tick = 0; tick < 3; ++tick) {
    clock.Advance(std::chrono::milliseconds(100));
    room.Tick();
  }
}

// Whether `value` holds a number of kind double anywhere.
bool HoldsDouble(const json::value& value) {
  if (value.is_double()) return true;
  if (const json::array* array = value.if_array()) {
    for (const json::value& item : *array) {
      if (HoldsDouble(item)) return true;
    }
  }
  if (const json::object* object = value.if_object()) {
    for (const auto& field : *object) {
      if (HoldsDouble(field.value())) return true;
    }
  }
  return false;
}

// The same JSON, but for doubles within two units in the last place: Boost.JSON 1.81's parser
// does not always round a number's text to the nearest double, so the shortest text of a double
// may read back one step off.
bool SameJson(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double();
    const double y = b.get_double();
    if (!std::isfinite(x) || !std::isfinite(y)) return true;  // written as null: not comparable
    return y >= std::nextafter(std::nextafter(x, -INFINITY), -INFINITY) &&
           y <= std::nextafter(std::nextafter(x, INFINITY), INFINITY);
  }
  if (a.is_double() && !std::isfinite(a.get_double())) return b.is_null();
  if (a.kind() != b.kind()) return false;
  if (const json::array* left = a.if_array()) {
    const json::array& right = b.get_array();
    if (left->size() != right.size()) return false;
    for (std::size_t i = 0; i < left->size(); ++i) {
      if (!SameJson((*left)[i], right[i])) return false;
    }
    return true;
  }
  if (const json::object* left = a.if_object()) {
    const json::object& right = b.get_object();
    if (left->size() != right.size()) return false;
    auto other = right.begin();
    for (const auto& field : *left) {
      if (field.key() != other->key() || !SameJson(field.value(), other->value())) return false;
      ++other;
    }
    return true;
  }
  return a == b;
}

void Serialized(std::string_view text) {
  const std::optional<json::value> value = Parse(text);
  if (!value) return;
  const std::string written = boxoffice::SerializeJson(*value);
  const std::optional<json::value> back = Parse(written);
  FUZZ_EXPECT(back.has_value() && SameJson(*value, *back));
  if (!HoldsDouble(*value)) FUZZ_EXPECT(written == json::serialize(*value));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  boxoffice::fuzz::DropLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boxoffice::fuzz::FuzzInput input(data, size);
  switch (input.Select(6)) {
    case 0:
      Body(input.rest());
      break;
    case 1:
      Definition(input.rest());
      break;
    case 2:
      Stored(input.rest());
      break;
    case 3:
      CardNumbers(input.rest());
      break;
    case 4:
      StoredQueueSettings(input.rest());
      break;
    default:
      Serialized(input.rest());
      break;
  }
  return 0;
}
