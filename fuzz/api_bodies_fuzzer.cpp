// The API's handlers in process, with the real domain behind them on the in-memory ledger (as
// the route tests of src/api/ run them): every JSON body the API takes (events, holds, orders,
// telemetry, sessions, customers, operator keys, queue settings, block and allow lists,
// check-ins), every path parameter and query, through the real route handlers of
// src/api/*_routes.cpp. The stats, system and web routes are left out: they take no body, and the
// stats history does not build with clang 14 (src/common/sample_ring.cpp uses ranges it lacks).
//
// Input: a request in a small text form, "METHOD TARGET" on the first line, then "name: value"
// header lines, an empty line and the body (line ends are "\n"). Placeholders anywhere in it name
// what a client would have been handed: @ADMIN@ the operator key, @VIEWER@ a viewer key,
// @SESSION@ a session token, @EVENT@ an event on sale and @QEVENT@ one with a waiting room,
// @TICKET@ and @ACCESS@ the queue ticket and access token of the session for @QEVENT@, @HOLD@ a
// fresh hold of the session on @EVENT@, @CODE@ a ticket code signed for @EVENT@.
//
// Every request must be answered, once, with a status below 500 and a JSON body (an error body
// with its code when the status is 4xx). The world is made again every kInputsPerWorld inputs
// and after an input that created an event, so that memory stays bounded and an input sees much
// the same world as when it was found.
#include <boost/json/parse.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "api/api.hpp"
#include "api/routes.hpp"
#include "common/crypto.hpp"
#include "common/worker_pool.hpp"
#include "fuzz_input.hpp"
#include "fuzz_logging.hpp"
#include "http/request_target.hpp"
#include "store/memory/memory_ledger.hpp"
#include "store/memory/memory_queue_store.hpp"
#include "support/fake_gateway.hpp"

namespace {

using namespace boxoffice;
namespace json = boost::json;

constexpr std::string_view kSecret = "fuzz secret, the same on every run";
constexpr std::string_view kAdminKey = "fuzz-admin-key";
constexpr std::size_t kInputsPerWorld = 2'000;

// One clock for every world: time never runs, but admissions need it moved a little.
FakeClock& Clock() {
  static FakeClock* clock = new FakeClock();
  return *clock;
}

// Accounts hash a password when they are made (Argon2id, a fifth of a second under the
// sanitizers), so one serves every world, on a customer store of its own.
struct Customers {
  MemoryLedger ledger;
  WorkerPool pool{1, 16};
  Accounts accounts{ledger, Clock(), kSecret, std::chrono::hours(24), pool};
};

Customers& TheCustomers() {
  static Customers* customers = new Customers();
  return *customers;
}

http::Response Call(const http::Router& router, http::Request request) {
  std::string_view encoded_path;
  if (!http::ParseRequestTarget(request.target, request.path, request.query, &encoded_path)) {
    http::Response malformed;
    malformed.status = 400;
    return malformed;
  }
  http::RouteMatch match = router.Match(request.method, encoded_path);
  if (match.outcome != http::RouteMatch::Outcome::kFound) {
    http::Response missing;
    missing.status = 404;
    return missing;
  }
  request.path_params = std::move(match.params);
  auto answered = std::make_shared<std::promise<http::Response>>();
  std::future<http::Response> answer = answered->get_future();
  (*match.handler)(request, [answered](http::Response response) {
    // A second answer to one request would throw here (promise_already_satisfied): a bug.
    answered->set_value(std::move(response));
  });
  return answer.get();
}

std::string Field(std::string_view body, std::string_view name) {
  std::error_code error;
  const json::value value = json::parse(body, error);
  const json::object* object = error ? nullptr : value.if_object();
  const json::value* field = object ? object->if_contains(name) : nullptr;
  return field && field->is_string() ? std::string(field->get_string()) : std::string();
}

http::Request MakeRequest(http::Method method, std::string target, std::string body,
                          std::vector<std::pair<std::string, std::string>> headers) {
  http::Request request;
  request.method = method;
  request.target = std::move(target);
  request.body = std::move(body);
  request.headers = std::move(headers);
  request.client_address = "198.51.100.7";
  request.request_id = "fuzz";
  return request;
}

// The domain and the routes, on fresh in-memory state; destroyed in the reverse order.
struct World {
  MemoryLedger ledger;
  Catalog catalog{ledger, Clock()};
  HoldService holds{catalog, ledger, Clock()};
  Defense defense{ledger, Clock(),
                  DefenseOptions{1024, CidrList{}, /*rate_limits=*/false, {std::string(kSecret)}}};
  MetricsRegistry metrics;
  MemoryQueueStore queue_store;
  WaitingRoom room{queue_store, Clock(), kSecret};
  TicketSigner tickets{std::string(kSecret)};
  test_support::FakeGateway gateway;
  OrderService orders{catalog,
                      holds,
                      ledger,
                      &gateway,
                      &room,
                      Clock(),
                      metrics,
                      api::MakeOrderRendering(),
                      OrderServiceOptions{2, 64}};
  CheckInService check_in{ledger, tickets, Clock()};
  OperatorKeys operator_keys{ledger, Clock(), kSecret};
  AuditTrail audit{ledger, Clock(), metrics};
  api::ApiContext context{.catalog = catalog,
                          .accounts = TheCustomers().accounts,
                          .defense = defense,
                          .metrics = metrics,
                          .admin_keys = {std::string(kAdminKey)},
                          .ready = [] { return true; },
                          .openapi_yaml = "",
                          .holds = &holds,
                          .admission = &room,
                          .waiting_room = &room,
                          .orders = &orders,
                          .tickets = &tickets,
                          .check_in = &check_in,
                          .operator_keys = &operator_keys,
                          .audit = &audit};
  http::Router router;

  // What the placeholders stand for.
  std::string session;
  std::string event_id;
  std::string queue_event_id;
  std::string queue_ticket;
  std::string access_token;
  std::string viewer_key;
  std::string code;
  std::size_t inputs = 0;

  World() {
    FUZZ_EXPECT(operator_keys.Load().ok());
    api::RegisterEventRoutes(router, context);
    api::RegisterSessionRoutes(router, context);
    api::RegisterDefenseRoutes(router, context);
    api::RegisterHoldRoutes(router, context);
    api::RegisterQueueRoutes(router, context);
    api::RegisterOrderRoutes(router, context);
    api::RegisterCheckInRoutes(router, context);
    api::RegisterOperatorRoutes(router, context);
    room.SetPublicChangeHook(
        [this](const std::string& event) { api::RefreshEventJson(context, event); });

    const std::vector<std::pair<std::string, std::string>> admin = {
        {"authorization", "Bearer " + std::string(kAdminKey)}};
    event_id = Field(Call(router, MakeRequest(http::Method::kPost, "/v1/events", R"({
        "name": "Fuzz night", "currency": "EUR", "defense": {"challenge": "off"},
        "price_tiers": [{"id": "A", "price_cents": 1500}, {"id": "B", "price_cents": 900}],
        "sections": [{"id": "S", "tier": "A", "rows": [{"label": "A", "seats": 40,
                      "accessible": [1, 2]}, {"label": "B", "seats": 40}]},
                     {"id": "T", "tier": "B", "rows": [{"label": "A", "seats": 40}]}]})",
                                              admin))
                         .body,
                     "id");
    queue_event_id = Field(Call(router, MakeRequest(http::Method::kPost, "/v1/events", R"({
        "name": "Fuzz queue", "price_tiers": [{"id": "A", "price_cents": 100}],
        "sections": [{"id": "S", "tier": "A", "rows": [{"label": "A", "seats": 20}]}],
        "queue": {"enabled": true, "admission_rate_per_s": 1000, "max_active": 1000}})",
                                                    admin))
                               .body,
                           "id");
    FUZZ_EXPECT(!event_id.empty() && !queue_event_id.empty());
    session = TheCustomers().accounts.CreateGuestSession().token;
    const std::vector<std::pair<std::string, std::string>> fan = {
        {"authorization", "Bearer " + session}};
    queue_ticket = Field(
        Call(router,
             MakeRequest(http::Method::kPost, "/v1/events/" + queue_event_id + "/queue", "", fan))
            .body,
        "queue_ticket");
    Clock().Advance(std::chrono::milliseconds(200));
    room.Tick();
    std::vector<std::pair<std::string, std::string>> polling = fan;
    polling.emplace_back("x-queue-ticket", queue_ticket);
    access_token = Field(
        Call(router, MakeRequest(http::Method::kGet,
                                 "/v1/events/" + queue_event_id + "/queue/status", "", polling))
            .body,
        "access_token");
    viewer_key = Field(Call(router, MakeRequest(http::Method::kPost, "/v1/operator-keys",
                                                R"({"scope": "viewer", "label": "wall"})", admin))
                           .body,
                       "key");
    code = *tickets.Sign(TicketClaims{event_id, "tkt_fuzz", "S-A-1", "ord_fuzz"});
  }

  // Writes the ledger still has queued may call back into the members: let them all land first
  // (its one writer applies writes in order, so a write's answer means the earlier ones are in).
  ~World() {
    std::promise<void> applied;
    ledger.PutSetting("fuzz.barrier", "", [&applied](Status) { applied.set_value(); });
    applied.get_future().wait();
  }

  // A new hold of the session's on the event on sale; empty when no seat is left.
  std::string Hold() {
    return Field(Call(router, MakeRequest(http::Method::kPost, "/v1/events/" + event_id + "/holds",
                                          R"({"best_available": {"quantity": 1}})",
                                          {{"authorization", "Bearer " + session}}))
                     .body,
                 "hold_id");
  }
};

World* the_world = nullptr;

void Replace(std::string& text, std::string_view placeholder, const std::string& value) {
  for (std::size_t at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
}

std::optional<http::Method> ParseMethod(std::string_view name) {
  constexpr std::pair<std::string_view, http::Method> kMethods[] = {
      {"GET", http::Method::kGet},        {"HEAD", http::Method::kHead},
      {"POST", http::Method::kPost},      {"PUT", http::Method::kPut},
      {"PATCH", http::Method::kPatch},    {"DELETE", http::Method::kDelete},
      {"OPTIONS", http::Method::kOptions}};
  for (const auto& [text, method] : kMethods) {
    if (name == text) return method;
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  InitCrypto();
  fuzz::DropLogs();
  TheCustomers();
  the_world = new World();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (the_world->inputs++ == kInputsPerWorld) {
    delete the_world;
    the_world = new World();
  }
  World& world = *the_world;
  std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find("@HOLD@") != std::string::npos) {
    const std::string hold = world.Hold();
    if (hold.empty()) {  // sold out: the next input gets a new world
      world.inputs = kInputsPerWorld;
      return 0;
    }
    Replace(text, "@HOLD@", hold);
  }
  Replace(text, "@ADMIN@", std::string(kAdminKey));
  Replace(text, "@VIEWER@", world.viewer_key);
  Replace(text, "@SESSION@", world.session);
  Replace(text, "@QEVENT@", world.queue_event_id);
  Replace(text, "@EVENT@", world.event_id);
  Replace(text, "@TICKET@", world.queue_ticket);
  Replace(text, "@ACCESS@", world.access_token);
  Replace(text, "@CODE@", world.code);

  // "METHOD TARGET\nname: value\n...\n\nbody"
  const std::size_t line_end = text.find('\n');
  const std::string_view request_line = std::string_view(text).substr(0, line_end);
  const std::size_t space = request_line.find(' ');
  if (space == std::string_view::npos) return 0;
  const std::optional<http::Method> method = ParseMethod(request_line.substr(0, space));
  if (!method) return 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view rest = line_end == std::string::npos
                              ? std::string_view()
                              : std::string_view(text).substr(line_end + 1);
  while (!rest.empty() && rest.front() != '\n') {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers.emplace_back(std::move(name), std::string(value));
  }
  if (!rest.empty()) rest.remove_prefix(1);  // the empty line
  const std::size_t events_before = world.catalog.size();

  const http::Response response =
      Call(world.router, MakeRequest(*method, std::string(request_line.substr(space + 1)),
                                     std::string(rest), std::move(headers)));
  FUZZ_EXPECT(response.status >= 200 && response.status < 500);
  if (!response.stream && !response.body.empty() && response.content_type == "application/json") {
    std::error_code error;
    const json::value body = json::parse(response.body, error);
    FUZZ_EXPECT(!error);
    if (response.status >= 400) {
      FUZZ_EXPECT(body.is_object() && body.as_object().contains("error"));
      FUZZ_EXPECT(body.at("error").is_object() && body.at("error").as_object().contains("code"));
    }
  }
  // A created event costs memory for its seats: start the next input on a new world.
  if (world.catalog.size() != events_before) world.inputs = kInputsPerWorld;
  return 0;
}
