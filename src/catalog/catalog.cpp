#include "catalog/catalog.hpp"

#include <boost/json/parse.hpp>
#include <charconv>
#include <mutex>

#include "common/card_digits.hpp"
#include "common/crypto.hpp"
#include "common/json_text.hpp"
#include "common/time.hpp"

namespace boxoffice {

Event::Event(EventDefinition definition)
    : definition_(std::move(definition)),
      seat_map_(definition_),
      json_(SerializeJson(EventToJson(definition_))) {}

Status Catalog::Load() {
  Result<std::vector<EventRecord>> records = store_.LoadEvents();
  if (!records) return records.error();
  for (const EventRecord& record : *records) {
    boost::system::error_code parse_error;
    const boost::json::value stored = boost::json::parse(record.definition_json, parse_error);
    if (parse_error) return Error::Internal("stored event " + record.id + " is not JSON");
    Result<EventDefinition> definition = EventFromStoredJson(stored);
    if (!definition) {
      return Error::Internal("stored event " + record.id +
                             " no longer validates: " + definition.error().message);
    }
    if (definition->id != record.id) {
      return Error::Internal("stored event " + record.id + " names another id");
    }
    Publish(std::make_shared<Event>(std::move(definition).value()));
  }
  return {};
}

void Catalog::Create(EventDefinition definition, CreateDone done) {
  // Count creations in flight too, so that a burst cannot overshoot the bound.
  if (pending_creates_.fetch_add(1) + size() >= kEventsMax) {
    pending_creates_.fetch_sub(1);
    done(Error::Make(
        ErrorKind::kUnprocessable, "too_many_events",
        "This server holds the most events it may (" + std::to_string(kEventsMax) + ")."));
    return;
  }
  // The id goes into every hold id of the event, which fans send back in order bodies, and the
  // API refuses a body holding a card number: an id with a Luhn-valid run of 13 digits (about one
  // in 10^8) would make the event unbuyable, so such an id is drawn again.
  do {
    definition.id = "evt_" + RandomToken(16);
  } while (ContainsCardNumber(definition.id));
  definition.created_at = std::chrono::floor<std::chrono::seconds>(clock_.Now());
  auto event = std::make_shared<Event>(std::move(definition));
  EventRecord record{event->definition().id, event->definition().name,
                     ToUnixMillis(event->definition().created_at), event->json()};
  store_.InsertEvent(std::move(record),
                     [this, event, done = std::move(done)](Status status) mutable {
                       if (status.ok()) Publish(event);
                       pending_creates_.fetch_sub(1);
                       if (!status.ok()) {
                         done(std::move(status).error());
                         return;
                       }
                       done(std::move(event));
                     });
}

void Catalog::Publish(std::shared_ptr<Event> event) {
  std::unique_lock lock(mutex_);
  by_id_.emplace(event->definition().id, event);
  in_order_.push_back(std::move(event));
}

std::shared_ptr<Event> Catalog::Find(std::string_view id) const {
  std::shared_lock lock(mutex_);
  const auto found = by_id_.find(id);
  return found == by_id_.end() ? nullptr : found->second;
}

std::size_t Catalog::size() const {
  std::shared_lock lock(mutex_);
  return in_order_.size();
}

Result<EventPage> Catalog::List(std::size_t limit, std::optional<std::string_view> cursor) const {
  // The cursor is the position in creation order; events are never removed, so it is stable.
  std::size_t start = 0;
  if (cursor) {
    const std::optional<std::string> decoded = Base64UrlDecode(*cursor);
    const auto parsed =
        decoded ? std::from_chars(decoded->data(), decoded->data() + decoded->size(), start)
                : std::from_chars_result{nullptr, std::errc::invalid_argument};
    if (!decoded || parsed.ec != std::errc() || parsed.ptr != decoded->data() + decoded->size()) {
      return Error::Make(ErrorKind::kMalformed, "invalid_cursor",
                         "The cursor is not one this server handed out.");
    }
  }
  EventPage page;
  std::shared_lock lock(mutex_);
  for (std::size_t i = start; i < in_order_.size() && page.items.size() < limit; ++i) {
    page.items.push_back(in_order_[i]);
  }
  if (start + page.items.size() < in_order_.size()) {
    page.next_cursor = Base64UrlEncode(std::to_string(start + page.items.size()));
  }
  return page;
}

}  // namespace boxoffice
