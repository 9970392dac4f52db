#include "tools/botsim.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "defense/challenge.hpp"
#include "defense/risk.hpp"
#include "defense/risk_training.hpp"
#include "tools/botsim_population.hpp"

namespace boxoffice::tools {
namespace {

using botsim::AgentPlan;
using botsim::Kind;
using botsim::KindName;
using botsim::kKinds;
using botsim::PlanAgents;
using botsim::Rhythm;
using botsim::TelemetryPlan;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Bounds.
constexpr std::size_t kResponseBodyMaxBytes = 16 << 20;
constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr int kRateLimitRetriesMax = 3;  // 429s an agent waits out per request before it gives up
constexpr int kChallengeSolvesMax = 3;   // proofs of work an agent solves per request
constexpr std::int64_t kDecisionsPage = 1'000;
constexpr unsigned kAgentsMax = 1'000'000;
// Queue polls go no faster than the per-session limit allows (2/s, docs/defense.md).
constexpr double kPollIntervalMinS = 0.55;
constexpr int kEventSections = 100;  // of the event botsim creates
constexpr double kRampStepS = 0.01;  // between the starts of two workers

// The targets of issue 6.
constexpr double kTargetBotsStoppedMin = 0.99;  // naive and header-spoofing
constexpr double kTargetHumansChallengedMax = 0.02;

// ---------------------------------------------------------------------------------------------
// HTTP: one keep-alive connection per agent.

struct Reply {
  int status = 0;  // 0: no answer (transport error)
  std::string body;
  std::string error;  // transport error, or the API's error code
  int retry_after_s = 0;

  // The body parsed as a JSON object, on first use (null when it is not one). Agents read most
  // answers (seat maps, the event) for their status only, and parsing every one of them cost
  // more CPU than the rest of the simulator: a starved simulator sends late and blurs the rhythm
  // the server measures.
  const json::object* Object() const {
    if (!parsed_) {
      std::error_code error;
      json_ = json::parse(body, error);
      if (error) json_ = nullptr;
      parsed_ = true;
    }
    return json_.if_object();
  }
  std::string String(std::string_view key) const {
    const json::object* object = Object();
    const json::value* value = object ? object->if_contains(key) : nullptr;
    return value && value->is_string() ? std::string(value->get_string()) : std::string();
  }

 private:
  mutable json::value json_;
  mutable bool parsed_ = false;
};

struct Target {
  std::string host;
  std::string port;
};

class Connection {
 public:
  Connection(asio::any_io_executor executor, const tcp::resolver::results_type& endpoints)
      : stream_(executor), endpoints_(endpoints) {}

  awaitable<Reply> Send(bhttp::verb method, std::string target, std::string body,
                        const Headers& headers) {
    // A kept-alive connection the server closed meanwhile fails at once; that, and only that,
    // is worth one retry on a fresh connection (a request that failed on a fresh connection
    // may have taken effect, and a hold must not be asked for twice).
    const bool reused = open_;
    Reply reply = co_await SendOnce(method, target, body, headers);
    if (reply.status == 0 && reused) reply = co_await SendOnce(method, target, body, headers);
    co_return reply;
  }

 private:
  awaitable<Reply> SendOnce(bhttp::verb method, const std::string& target, const std::string& body,
                            const Headers& headers) {
    Reply reply;
    try {
      if (!open_) {
        stream_.expires_after(kRequestTimeout);
        co_await stream_.async_connect(endpoints_, use_awaitable);
        stream_.socket().set_option(tcp::no_delay(true));
        open_ = true;
      }
      bhttp::request<bhttp::string_body> request{method, target, 11};
      request.set(bhttp::field::host, "botsim");
      for (const auto& [name, value] : headers) request.set(name, value);
      if (method != bhttp::verb::get) {
        request.set(bhttp::field::content_type, "application/json");
        request.body() = body;
        request.prepare_payload();
      }
      request.keep_alive(true);
      stream_.expires_after(kRequestTimeout);
      co_await bhttp::async_write(stream_, request, use_awaitable);
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(kResponseBodyMaxBytes);
      co_await bhttp::async_read(stream_, buffer_, parser, use_awaitable);
      bhttp::response<bhttp::string_body> response = parser.release();
      reply.status = static_cast<int>(response.result_int());
      reply.body = std::move(response.body());
      if (auto retry = response.find(bhttp::field::retry_after); retry != response.end()) {
        reply.retry_after_s = std::atoi(std::string(retry->value()).c_str());
      }
      if (!response.keep_alive()) {
        open_ = false;
        beast::error_code ignored;
        stream_.socket().close(ignored);
      }
    } catch (const std::exception& error) {
      reply.status = 0;
      reply.error = error.what();
      open_ = false;
      beast::error_code ignored;
      stream_.socket().close(ignored);
      co_return reply;
    }
    if (reply.status < 400) co_return reply;
    if (const json::object* object = reply.Object()) {
      if (const json::value* error = object->if_contains("error"); error && error->is_object()) {
        if (const json::value* code = error->get_object().if_contains("code");
            code && code->is_string()) {
          reply.error = std::string(code->get_string());
        }
      }
    }
    co_return reply;
  }

  beast::tcp_stream stream_;
  tcp::resolver::results_type endpoints_;
  beast::flat_buffer buffer_;
  bool open_ = false;
};

std::string TelemetryBody(const TelemetryPlan& telemetry) {
  json::object body{{"pointer_events", telemetry.pointer_events},
                    {"key_events", telemetry.key_events}};
  body["first_interaction_ms"] = telemetry.first_interaction_ms
                                     ? json::value(*telemetry.first_interaction_ms)
                                     : json::value(nullptr);
  return json::serialize(body);
}

SteadyClock::duration Seconds(double seconds) {
  return std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6));
}

awaitable<void> SleepUntil(SteadyClock::time_point deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(deadline);
  co_await timer.async_wait(use_awaitable);
}

awaitable<void> Sleep(double seconds) {
  co_await SleepUntil(SteadyClock::now() + Seconds(seconds));
}

// Solves a proof of work on `pool` and resumes the awaiting coroutine on its own executor.
// (A plain completion, not a coroutine on the pool: GCC 12 miscompiles that one.)
awaitable<std::optional<std::string>> SolveOn(asio::thread_pool& pool, Challenge challenge) {
  return asio::async_initiate<decltype(use_awaitable), void(std::optional<std::string>)>(
      [&pool](auto handler, Challenge challenge) {
        asio::post(
            pool, [handler = std::move(handler), challenge = std::move(challenge)]() mutable {
              std::optional<std::string> solution = SolveChallenge(challenge);
              const auto executor = asio::get_associated_executor(handler);
              asio::post(executor,
                         [handler = std::move(handler), solution = std::move(solution)]() mutable {
                           std::move(handler)(std::move(solution));
                         });
            });
      },
      use_awaitable, std::move(challenge));
}

// ---------------------------------------------------------------------------------------------
// One agent's run.

enum class Stop { kNone, kBlocked, kChallenge, kRateLimited, kNotAdmitted, kSoldOut, kError };

std::string_view StopName(Stop stop) {
  switch (stop) {
    case Stop::kNone:
      return "none";
    case Stop::kBlocked:
      return "blocked";
    case Stop::kChallenge:
      return "challenge";
    case Stop::kRateLimited:
      return "rate_limited";
    case Stop::kNotAdmitted:
      return "not_admitted";
    case Stop::kSoldOut:
      return "sold_out";
    case Stop::kError:
      return "error";
  }
  return "none";
}

struct AgentOutcome {
  bool held = false;
  bool challenged = false;  // at least one challenge_required
  bool solved = false;      // passed at least one challenge with a solution
  bool blocked = false;     // at least one 403 blocked
  int rate_limited = 0;     // 429s met
  Stop stop = Stop::kNone;  // why it ended without a hold
  std::string error;        // for kError
  int requests = 0;
  double seconds = 0;  // from its first request to its end
};

struct Shared {
  const BotsimOptions& options;
  tcp::resolver::results_type endpoints;
  std::string event_id;
  std::string run_id;  // prefix of every request id: "bs<seed>"
  asio::thread_pool& solver;
};

class Agent {
 public:
  Agent(Shared& shared, const AgentPlan& plan, AgentOutcome& outcome,
        asio::any_io_executor executor)
      : shared_(shared),
        plan_(plan),
        outcome_(outcome),
        connection_(executor, shared.endpoints),
        random_(plan.seed),
        deadline_(SteadyClock::now() + std::chrono::microseconds(static_cast<std::int64_t>(
                                           shared.options.agent_timeout_s * 1e6))) {}

  awaitable<void> Run() {
    const std::string event_path = "/v1/events/" + shared_.event_id;
    Reply session = co_await Call(bhttp::verb::post, "/v1/sessions", "{}", false);
    if (!Ok(session, 201)) co_return;
    session_token_ = session.String("session_token");

    // The event page, then browsing: seat maps and the event again, with the page's telemetry
    // posted once the visitor has interacted.
    if (!Ok(co_await Call(bhttp::verb::get, event_path, "", false), 200)) co_return;
    for (int read = 0; read < plan_.reads_before_join; ++read) {
      co_await Think();
      if (read == 0 && plan_.telemetry) {
        Reply posted = co_await Call(bhttp::verb::post, "/v1/telemetry",
                                     TelemetryBody(*plan_.telemetry), false);
        if (!Ok(posted, 204)) co_return;
        continue;
      }
      const std::string target =
          read % 2 == 0
              ? event_path + "/seats?section=S" +
                    std::to_string(std::uniform_int_distribution<int>(1, kEventSections)(random_))
              : event_path;
      if (!Ok(co_await Call(bhttp::verb::get, target, "", false), 200)) co_return;
    }

    co_await Think();
    Reply joined = co_await Call(bhttp::verb::post, event_path + "/queue", "{}", true);
    if (joined.status != 200 && !Ok(joined, 201)) co_return;
    const std::string ticket = joined.String("queue_ticket");
    std::string access_token = joined.String("access_token");
    std::string state = joined.String("state");
    int retry_after_s = RetryAfter(joined);
    while (access_token.empty()) {
      if (state == "sold_out" || state == "closed") {
        outcome_.stop = Stop::kSoldOut;
        co_return;
      }
      const double wait_s = std::max(kPollIntervalMinS, retry_after_s * shared_.options.time_scale);
      if (Expired(wait_s)) {
        outcome_.stop = Stop::kNotAdmitted;
        co_return;
      }
      co_await Sleep(wait_s);
      Headers poll_headers;  // named: GCC 12 miscompiles braced lists in co_await expressions
      poll_headers.emplace_back("X-Queue-Ticket", ticket);
      Reply status = co_await Call(bhttp::verb::get, event_path + "/queue/status", "", false,
                                   std::move(poll_headers));
      if (!Ok(status, 200)) co_return;
      access_token = status.String("access_token");
      state = status.String("state");
      retry_after_s = RetryAfter(status);
    }

    co_await Think();
    Headers hold_headers;
    hold_headers.emplace_back("X-Access-Token", access_token);
    std::string hold_body =
        "{\"best_available\":{\"quantity\":" + std::to_string(plan_.seats) + "}}";
    Reply hold = co_await Call(bhttp::verb::post, event_path + "/holds", std::move(hold_body), true,
                               std::move(hold_headers));
    if (hold.status == 409) {
      outcome_.stop = Stop::kSoldOut;
      co_return;
    }
    if (!Ok(hold, 201)) co_return;
    outcome_.held = true;
  }

 private:
  static int RetryAfter(const Reply& reply) {
    const json::object* object = reply.Object();
    const json::value* value = object ? object->if_contains("retry_after_s") : nullptr;
    return value && value->is_int64() ? static_cast<int>(value->get_int64()) : 1;
  }

  bool Expired(double wait_s = 0) const { return SteadyClock::now() + Seconds(wait_s) > deadline_; }

  // Whether the reply has the status wanted; if not (and `final`), records why the agent stops.
  bool Ok(const Reply& reply, int status) {
    if (reply.status == status) return true;
    if (outcome_.stop != Stop::kNone) return false;  // Call() already said why
    if (reply.status == 0) {
      outcome_.stop = Stop::kError;
      outcome_.error = "transport: " + reply.error;
    } else {
      outcome_.stop = Stop::kError;
      outcome_.error = std::to_string(reply.status) + " " + reply.error;
    }
    return false;
  }

  awaitable<void> Think() {
    const Rhythm& rhythm = plan_.rhythm;
    double seconds = rhythm.median_s;
    if (rhythm.shape == Rhythm::Shape::kLogNormal) {
      seconds =
          std::lognormal_distribution<double>(std::log(rhythm.median_s), rhythm.spread)(random_);
    } else if (rhythm.spread > 0) {
      seconds = std::normal_distribution<double>(rhythm.median_s,
                                                 rhythm.median_s * rhythm.spread)(random_);
    }
    seconds = std::clamp(seconds, rhythm.min_s, rhythm.max_s) * shared_.options.time_scale;
    // The pause runs from when the previous request was sent, not from when its answer came:
    // `--time-scale` shrinks an agent's pauses but not the server's latency, so counting the
    // latency in would make the rhythm the server sees depend on how busy the machine is (a
    // 100 ms metronome plus a loaded server's 5-50 ms answers no longer looks like one). Sent on
    // its plan, an agent shows the server the rhythm it would have in real time, where latency
    // is small beside its pauses. An answer later than the plan sends the next request at once.
    co_await SleepUntil(last_sent_ + Seconds(seconds));
  }

  Headers BaseHeaders() {
    Headers headers;
    headers.emplace_back("X-Forwarded-For", plan_.address);
    headers.emplace_back("X-Request-Id", shared_.run_id + "-" + std::to_string(plan_.index) + "-" +
                                             std::to_string(outcome_.requests));
    if (plan_.user_agent) headers.emplace_back("User-Agent", *plan_.user_agent);
    if (plan_.accept_language) headers.emplace_back("Accept-Language", *plan_.accept_language);
    if (plan_.sec_ch_ua) headers.emplace_back("Sec-CH-UA", *plan_.sec_ch_ua);
    if (plan_.sec_ch_ua_mobile) headers.emplace_back("Sec-CH-UA-Mobile", *plan_.sec_ch_ua_mobile);
    if (plan_.sec_ch_ua_platform) {
      headers.emplace_back("Sec-CH-UA-Platform", *plan_.sec_ch_ua_platform);
    }
    if (!plan_.device_id.empty()) headers.emplace_back("X-Device-Id", plan_.device_id);
    if (!session_token_.empty()) headers.emplace_back("Authorization", "Bearer " + session_token_);
    return headers;
  }

  // Sends a request as the agent would: waits out 429s (a few times), and on a gated route
  // answers a challenge when it can solve one. Sets outcome_.stop when it gives up.
  awaitable<Reply> Call(bhttp::verb method, std::string target, std::string body, bool gated,
                        Headers extra = {}) {
    int limited = 0;
    int solved = 0;
    std::optional<std::string> altcha;
    for (;;) {
      Headers headers = BaseHeaders();
      headers.insert(headers.end(), extra.begin(), extra.end());
      if (altcha) headers.emplace_back("X-Altcha", *altcha);
      ++outcome_.requests;
      last_sent_ = SteadyClock::now();
      Reply reply = co_await connection_.Send(method, target, body, headers);
      if (altcha && reply.status / 100 == 2) outcome_.solved = true;
      altcha.reset();
      if (reply.status == 429) {
        ++outcome_.rate_limited;
        const double wait_s = std::max(1, reply.retry_after_s);
        if (++limited > kRateLimitRetriesMax || Expired(wait_s)) {
          outcome_.stop = Stop::kRateLimited;
          co_return reply;
        }
        co_await Sleep(wait_s);
        continue;
      }
      if (reply.status == 403 && reply.error == "blocked") {
        outcome_.blocked = true;
        outcome_.stop = Stop::kBlocked;
        co_return reply;
      }
      if (gated && reply.status == 403 && reply.error == "challenge_required") {
        outcome_.challenged = true;
        const json::value* challenge = nullptr;
        if (const json::object* object = reply.Object()) {
          const json::value* details = object->at("error").get_object().if_contains("details");
          if (details && details->is_object()) {
            challenge = details->get_object().if_contains("challenge");
          }
        }
        if (!plan_.solves_challenges || challenge == nullptr || !challenge->is_object() ||
            ++solved > kChallengeSolvesMax) {
          outcome_.stop = Stop::kChallenge;
          co_return reply;
        }
        Challenge parsed;
        const json::object& fields = challenge->get_object();
        try {
          parsed.algorithm = std::string(fields.at("algorithm").as_string());
          parsed.challenge = std::string(fields.at("challenge").as_string());
          parsed.salt = std::string(fields.at("salt").as_string());
          parsed.signature = std::string(fields.at("signature").as_string());
          parsed.maxnumber = fields.at("maxnumber").to_number<std::uint64_t>();
        } catch (const std::exception&) {
          outcome_.stop = Stop::kChallenge;
          co_return reply;
        }
        // The search runs on the solver's thread, so the other agents' timers stay on time.
        altcha = co_await SolveOn(shared_.solver, std::move(parsed));
        if (!altcha) {
          outcome_.stop = Stop::kChallenge;
          co_return reply;
        }
        continue;
      }
      co_return reply;
    }
  }

  Shared& shared_;
  const AgentPlan& plan_;
  AgentOutcome& outcome_;
  Connection connection_;
  std::mt19937_64 random_;
  SteadyClock::time_point deadline_;
  SteadyClock::time_point last_sent_;  // when Call() last sent a request: Think() counts from it
  std::string session_token_;
};

// ---------------------------------------------------------------------------------------------
// The operator's side: the event, the decision log.

struct Operator {
  Connection& connection;
  std::string key;

  awaitable<Reply> Call(bhttp::verb method, std::string target, std::string body = "") {
    Headers headers;
    headers.emplace_back("Authorization", "Bearer " + key);
    co_return co_await connection.Send(method, std::move(target), std::move(body), headers);
  }
};

// Seats for every agent to hold up to four: 100 sections of 4 rows of 60 (a section's seat map,
// which fans read, stays small).
json::object EventDefinition(const BotsimOptions& options) {
  json::array sections;
  for (int s = 1; s <= kEventSections; ++s) {
    json::array rows;
    for (const char* label : {"A", "B", "C", "D"}) {
      rows.push_back(json::object{{"label", label}, {"seats", 60}});
    }
    sections.push_back(
        json::object{{"id", "S" + std::to_string(s)}, {"tier", "A"}, {"rows", std::move(rows)}});
  }
  return json::object{
      {"name", "botsim seed " + std::to_string(options.seed)},
      {"price_tiers", json::array{json::object{{"id", "A"}, {"price_cents", 5000}}}},
      {"sections", std::move(sections)},
      {"hold_ttl_s", 600},
      {"queue", json::object{{"enabled", true},
                             {"admission_rate_per_s", 1000},
                             {"max_active", 1'000'000},
                             {"access_ttl_s", 600}}},
      {"defense", json::object{{"challenge", "risk"}}}};
}

struct Decisions {
  std::vector<json::object> items;
  std::string model_version;
  std::uint64_t latest = 0;
  bool lost = false;  // the ring overwrote entries before they were read
};

awaitable<std::optional<Decisions>> FetchDecisions(Operator& op, std::uint64_t after,
                                                   bool everything) {
  Decisions out;
  out.latest = after;
  for (;;) {
    const std::int64_t limit = everything ? kDecisionsPage : 1;
    Reply page = co_await op.Call(bhttp::verb::get,
                                  "/v1/defense/decisions?after=" + std::to_string(out.latest) +
                                      "&limit=" + std::to_string(limit));
    if (page.status != 200 || !page.Object()) {
      std::cerr << "botsim: GET /v1/defense/decisions answered " << page.status << " " << page.error
                << "\n";
      co_return std::nullopt;
    }
    const json::object& body = *page.Object();
    out.model_version = std::string(body.at("model_version").as_string());
    const std::uint64_t oldest = body.at("oldest").to_number<std::uint64_t>();
    if (!everything) {
      out.latest = body.at("latest").to_number<std::uint64_t>();
      co_return out;
    }
    if (oldest > out.latest + 1) out.lost = true;
    const json::array& items = body.at("items").as_array();
    if (items.empty()) co_return out;
    for (const json::value& item : items) out.items.push_back(item.as_object());
    out.latest = body.at("next_after").to_number<std::uint64_t>();
  }
}

// ---------------------------------------------------------------------------------------------
// Reports.

struct KindTally {
  std::size_t agents = 0, let_through = 0, challenged = 0, solved = 0, blocked = 0,
              rate_limited = 0, stopped = 0, requests = 0;
  std::map<std::string, std::size_t> stopped_by;
  std::map<std::string, std::size_t> errors;
  std::vector<double> seconds;
};

// The q-quantile (nearest rank) of `values`, sorted in place; 0 when empty.
double Quantile(std::vector<double>& values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

double Share(std::size_t part, std::size_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// The kinds of bot in the run, in kKinds order.
json::array BotKindNames(const std::vector<AgentPlan>& plans) {
  json::array names;
  for (Kind kind : kKinds) {
    const bool present = std::any_of(plans.begin(), plans.end(),
                                     [&](const AgentPlan& plan) { return plan.kind == kind; });
    if (kind != Kind::kHuman && present) names.emplace_back(KindName(kind));
  }
  return names;
}

json::object Report(const BotsimOptions& options, const std::vector<AgentPlan>& plans,
                    const std::vector<AgentOutcome>& outcomes, const std::string& event_id,
                    const std::string& model_version, double duration_s) {
  std::map<Kind, KindTally> tallies;
  for (Kind kind : kKinds) tallies[kind];
  for (std::size_t i = 0; i < plans.size(); ++i) {
    KindTally& tally = tallies[plans[i].kind];
    const AgentOutcome& outcome = outcomes[i];
    ++tally.agents;
    tally.requests += static_cast<std::size_t>(outcome.requests);
    tally.let_through += outcome.held;
    tally.challenged += outcome.challenged;
    tally.solved += outcome.solved;
    tally.blocked += outcome.blocked;
    tally.rate_limited += outcome.rate_limited > 0;
    tally.seconds.push_back(outcome.seconds);
    if (!outcome.held) {
      ++tally.stopped;
      ++tally.stopped_by[std::string(StopName(outcome.stop))];
      if (outcome.stop == Stop::kError && tally.errors.size() < 20) ++tally.errors[outcome.error];
    }
  }
  json::object kinds;
  for (auto& [kind, tally] : tallies) {
    if (tally.agents == 0) continue;
    json::object stopped_by;
    for (const auto& [why, count] : tally.stopped_by) stopped_by[why] = count;
    json::object errors;
    for (const auto& [what, count] : tally.errors) errors[what] = count;
    kinds[KindName(kind)] =
        json::object{{"agents", tally.agents},
                     {"stopped", tally.stopped},
                     {"challenged", tally.challenged},
                     {"let_through", tally.let_through},
                     {"blocked", tally.blocked},
                     {"rate_limited", tally.rate_limited},
                     {"solved_challenge", tally.solved},
                     {"stopped_by", std::move(stopped_by)},
                     {"errors", std::move(errors)},
                     {"requests", tally.requests},
                     {"agent_seconds", json::object{{"p50", Quantile(tally.seconds, 0.5)},
                                                    {"p95", Quantile(tally.seconds, 0.95)},
                                                    {"max", Quantile(tally.seconds, 1.0)}}},
                     {"rates", json::object{{"stopped", Share(tally.stopped, tally.agents)},
                                            {"challenged", Share(tally.challenged, tally.agents)},
                                            {"let_through", Share(tally.let_through, tally.agents)},
                                            {"blocked", Share(tally.blocked, tally.agents)}}}};
  }
  const KindTally& humans = tallies[Kind::kHuman];
  json::object targets;
  const auto stopped_target = [&](Kind kind) {
    const KindTally& tally = tallies[kind];
    const double rate = Share(tally.stopped, tally.agents);
    return json::object{{"target", ">= 0.99 stopped"},
                        {"value", rate},
                        {"met", tally.agents > 0 && rate >= kTargetBotsStoppedMin}};
  };
  // A kind left out of the run (--kinds) has no target to meet.
  if (tallies[Kind::kNaive].agents > 0) targets["naive_stopped"] = stopped_target(Kind::kNaive);
  if (tallies[Kind::kSpoofing].agents > 0) {
    targets["header_spoofing_stopped"] = stopped_target(Kind::kSpoofing);
  }
  const double challenged = Share(humans.challenged, humans.agents);
  targets["humans_challenged"] =
      json::object{{"target", "<= 0.02 challenged"},
                   {"value", challenged},
                   {"met", humans.agents > 0 && challenged <= kTargetHumansChallengedMax}};
  targets["humans_blocked"] = json::object{
      {"target", "0 blocked"}, {"value", humans.blocked}, {"met", humans.blocked == 0}};
  return json::object{{"run", json::object{{"url", options.url},
                                           {"seed", options.seed},
                                           {"humans", options.humans},
                                           {"bots_per_kind", options.bots},
                                           {"bot_kinds", BotKindNames(plans)},
                                           {"time_scale", options.time_scale},
                                           {"concurrency", options.concurrency},
                                           {"agent_timeout_s", options.agent_timeout_s},
                                           {"event_id", event_id},
                                           {"model_version", model_version},
                                           {"duration_s", duration_s}}},
                      {"kinds", std::move(kinds)},
                      {"targets", std::move(targets)}};
}

void PrintSummary(const json::object& report) {
  const json::object& run = report.at("run").as_object();
  std::printf("botsim: seed %s, model %s, %.1f s\n", json::serialize(run.at("seed")).c_str(),
              std::string(run.at("model_version").as_string()).c_str(),
              run.at("duration_s").to_number<double>());
  std::printf("  %-16s %7s %8s %11s %12s %8s %13s\n", "kind", "agents", "stopped", "challenged",
              "let through", "blocked", "rate limited");
  for (const auto& [kind, value] : report.at("kinds").as_object()) {
    const json::object& tally = value.as_object();
    const auto count = [&](const char* key) { return tally.at(key).to_number<std::size_t>(); };
    const std::size_t agents = count("agents");
    const auto cell = [&](const char* key) {
      char text[32];
      std::snprintf(text, sizeof text, "%zu (%.1f%%)", count(key), 100 * Share(count(key), agents));
      return std::string(text);
    };
    std::printf("  %-16s %7zu %8s %11s %12s %8zu %13zu\n", std::string(kind).c_str(), agents,
                cell("stopped").c_str(), cell("challenged").c_str(), cell("let_through").c_str(),
                count("blocked"), count("rate_limited"));
  }
  for (const auto& [name, value] : report.at("targets").as_object()) {
    const json::object& target = value.as_object();
    std::printf("  target %-24s %-18s %-7s (%.4g)\n", std::string(name).c_str(),
                std::string(target.at("target").as_string()).c_str(),
                target.at("met").as_bool() ? "met" : "NOT met",
                target.at("value").to_number<double>());
  }
}

bool WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text << "\n";
    if (!out.flush()) return false;
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  return !error;
}

std::optional<std::string> ReadOperatorKey(const BotsimOptions& options) {
  if (!options.operator_key_file.empty()) {
    std::ifstream file(options.operator_key_file);
    std::string key;
    if (!file || !std::getline(file, key)) return std::nullopt;
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
    return key.empty() ? std::nullopt : std::optional<std::string>(key);
  }
  const char* key = std::getenv(options.operator_key_env.c_str());
  if (key == nullptr || *key == '\0') return std::nullopt;
  return std::string(key);
}

std::string Today() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[16];
  std::strftime(text, sizeof text, "%Y%m%d", &utc);
  return text;
}

// Runs `body` as a coroutine on `io` until it finishes; rethrows what it threw.
template <typename T>
T RunToEnd(asio::io_context& io, awaitable<T> body) {
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr error, T value) {
    failure = error;
    if (!error) result = std::move(value);
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

int Train(const BotsimOptions& options, const std::vector<AgentPlan>& plans,
          const Decisions& decisions, const std::string& event_id, const json::object& report) {
  const std::string prefix = "bs" + std::to_string(options.seed) + "-";
  std::vector<TrainingSample> samples;
  std::map<std::string, std::size_t> per_kind;
  for (const json::object& item : decisions.items) {
    const json::value* event = item.if_contains("event_id");
    if (event == nullptr || !event->is_string() || event->get_string() != event_id) continue;
    const std::string_view request_id = item.at("request_id").as_string();
    if (!request_id.starts_with(prefix)) continue;
    const std::string_view rest = request_id.substr(prefix.size());
    const std::size_t index = std::strtoull(std::string(rest).c_str(), nullptr, 10);
    if (index >= plans.size()) continue;
    TrainingSample sample;
    const json::object& features = item.at("features").as_object();
    for (std::size_t f = 0; f < kRiskFeatureCount; ++f) {
      sample.features[f] = features.at(RiskFeatureName(f)).to_number<double>();
    }
    sample.bot = plans[index].kind != Kind::kHuman;
    sample.sender = index + 1;
    samples.push_back(sample);
    ++per_kind[std::string(KindName(plans[index].kind))];
  }
  TrainingOptions training;
  training.version = "botsim-" + Today() + "-" + std::to_string(options.seed);
  training.prior_weights = RiskModel::Default().weights();
  Result<TrainedRiskModel> model = TrainRiskModel(samples, training);
  if (!model) {
    std::cerr << "botsim: training failed: " << model.error().message << "\n";
    return 1;
  }
  json::object samples_per_kind;
  for (const auto& [kind, count] : per_kind) samples_per_kind[kind] = count;
  const json::object about{{"by", "boxoffice botsim --train"},
                           {"seed", options.seed},
                           {"humans", options.humans},
                           {"bots_per_kind", options.bots},
                           {"bot_kinds", BotKindNames(plans)},
                           {"time_scale", options.time_scale},
                           {"collected_with_model", decisions.model_version},
                           {"samples_per_kind", std::move(samples_per_kind)},
                           {"decisions_lost", decisions.lost},
                           {"run", report.at("kinds")}};
  const std::string text = TrainedRiskModelJson(*model, training, about);
  if (Result<RiskModel> parsed = RiskModel::Parse(text); !parsed) {
    std::cerr << "botsim: the trained model does not parse: " << parsed.error().message << "\n";
    return 1;
  }
  const std::string path = options.data_dir + "/risk-model.json";
  if (!WriteFileAtomically(path, text)) {
    std::cerr << "botsim: cannot write " << path << "\n";
    return 1;
  }
  const TrainingRates& rates = model->rates;
  std::printf(
      "botsim: trained %s on %zu samples (%zu human, %zu bot); thresholds challenge %.4g, "
      "block %.6g; on its training set %zu of %zu humans challenged, %zu blocked, %zu of %zu bot "
      "samples stopped; wrote %s\n",
      training.version.c_str(), samples.size(), rates.humans, rates.bots,
      model->challenge_threshold, model->block_threshold, rates.human_senders_challenged,
      rates.human_senders, rates.humans_blocked, rates.bots_challenged + rates.bots_blocked,
      rates.bots, path.c_str());
  std::printf("  weights: bias %.3f", model->bias);
  for (std::size_t f = 0; f < kRiskFeatureCount; ++f) {
    std::printf(", %s %.3f", std::string(RiskFeatureName(f)).c_str(), model->weights[f]);
  }
  std::printf("\n");
  return 0;
}

}  // namespace

void AddBotsimOptions(CLI::App& command, BotsimOptions& options) {
  command.footer(
      "Drives a running server with labelled traffic and reports, per kind of client, how many\n"
      "were stopped (blocked, stopped at a challenge they cannot solve, rate limited for good,\n"
      "never admitted), challenged, and let through (got a hold). Kinds: human (browser headers,\n"
      "jittered think times, telemetry; solves a challenge as the ALTCHA widget would), naive\n"
      "(HTTP library, fixed sleep), header_spoofing (copied Chrome headers that contradict or\n"
      "lack client hints), fast_address (one address hammering), rotating (many slow addresses),\n"
      "headless (a stealthy browser that solves proofs of work).\n\n"
      "The server must trust the simulator's address for X-Forwarded-For, e.g.\n"
      "  boxoffice serve --trusted-proxies 127.0.0.1/32 --data-dir DIR\n"
      "  BOXOFFICE_ADMIN_KEY=... boxoffice botsim --url http://127.0.0.1:8080 --report out.json\n"
      "With --train --data-dir DIR it fits the risk model to the run's scored requests and writes\n"
      "DIR/risk-model.json, which the server loads at its next start (docs/defense.md).");
  command.add_option("--url", options.url, "Base URL of the server")->capture_default_str();
  command
      .add_option("--operator-key-env", options.operator_key_env,
                  "Environment variable holding the operator key")
      ->capture_default_str();
  command.add_option("--operator-key-file", options.operator_key_file,
                     "File holding the operator key (e.g. <data-dir>/admin.key); beats the env");
  command.add_option("--humans", options.humans, "Simulated fans")
      ->capture_default_str()
      ->check(CLI::Range(0u, kAgentsMax));
  command.add_option("--bots", options.bots, "Bots of each kind (five kinds)")
      ->capture_default_str()
      ->check(CLI::Range(0u, kAgentsMax));
  command
      .add_option("--kinds", options.bot_kinds,
                  "Only these kinds of bot, comma-separated (default: all five); each agent is "
                  "the one a full run has")
      ->delimiter(',');
  command.add_option("--seed", options.seed, "Seeds the population and every agent's dice")
      ->capture_default_str();
  command
      .add_option("--time-scale", options.time_scale,
                  "Multiplies think times and sleeps (1 = real time)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 10.0));
  command.add_option("--concurrency", options.concurrency, "Agents running at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, 10'000u));
  command
      .add_option("--agent-timeout-s", options.agent_timeout_s,
                  "An agent without a hold by then counts as stopped (not admitted)")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  command.add_option("--report", options.report, "Write the JSON report to this file");
  command.add_flag("--train", options.train,
                   "Fit the risk model to this run and write <data-dir>/risk-model.json");
  command.add_option("--data-dir", options.data_dir,
                     "With --train: the server's data dir, where the model is written");
  command.add_flag("--quiet", options.quiet, "Print only the summary");
}

int RunBotsim(const BotsimOptions& options) {
  if (options.train && options.data_dir.empty()) {
    std::cerr << "botsim: --train needs --data-dir\n";
    return 2;
  }
  if (options.train && (options.humans == 0 || options.bots == 0)) {
    std::cerr << "botsim: --train needs humans and bots\n";
    return 2;
  }
  std::vector<Kind> bot_kinds;
  for (const std::string& name : options.bot_kinds) {
    const std::optional<Kind> kind = botsim::ParseKind(name);
    if (!kind || *kind == Kind::kHuman) {
      std::cerr << "botsim: --kinds: unknown kind of bot '" << name << "'\n";
      return 2;
    }
    bot_kinds.push_back(*kind);
  }
  if (bot_kinds.empty()) bot_kinds.assign(kKinds.begin() + 1, kKinds.end());
  const std::optional<std::string> key = ReadOperatorKey(options);
  if (!key) {
    std::cerr << "botsim: no operator key (set " << options.operator_key_env
              << " or --operator-key-file)\n";
    return 2;
  }
  boost::system::result<boost::urls::url_view> url = boost::urls::parse_uri(options.url);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    std::cerr << "botsim: --url must be http://host:port\n";
    return 2;
  }
  const std::string host = url->host();
  const std::string port = url->has_port() ? std::string(url->port()) : "80";

  asio::io_context io(1);
  asio::thread_pool solver(1);
  tcp::resolver::results_type endpoints;
  try {
    endpoints = tcp::resolver(io).resolve(host, port);
  } catch (const std::exception& error) {
    std::cerr << "botsim: cannot resolve " << host << ": " << error.what() << "\n";
    return 1;
  }
  Connection operator_connection(io.get_executor(), endpoints);
  Operator op{operator_connection, *key};

  // The event, and where the decision log stands before the run.
  const json::object definition = EventDefinition(options);
  Reply created =
      RunToEnd(io, op.Call(bhttp::verb::post, "/v1/events", json::serialize(definition)));
  if (created.status != 201) {
    std::cerr << "botsim: POST /v1/events answered " << created.status << " " << created.body
              << "\n";
    return 1;
  }
  const std::string event_id = created.String("id");
  std::optional<Decisions> before = RunToEnd(io, FetchDecisions(op, 0, false));
  if (!before) return 1;

  const std::vector<AgentPlan> plans =
      PlanAgents(options.humans, options.bots, options.seed, bot_kinds);
  std::vector<AgentOutcome> outcomes(plans.size());
  Shared shared{options, endpoints, event_id, "bs" + std::to_string(options.seed), solver};
  if (!options.quiet) {
    std::printf(
        "botsim: event %s, %zu agents (%u humans, %u bots of each of %zu kinds), model %s\n",
        event_id.c_str(), plans.size(), options.humans, options.bots, bot_kinds.size(),
        before->model_version.c_str());
    std::fflush(stdout);
  }
  const auto started = SteadyClock::now();
  std::size_t next = 0;
  const unsigned workers = std::min<unsigned>(options.concurrency, plans.size());
  for (unsigned w = 0; w < workers; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> awaitable<void> {
          // Arrivals ramp up rather than all at once: a simultaneous start would slow the
          // server's first answers and make every first agent's rhythm look irregular.
          co_await Sleep(w * kRampStepS);
          while (next < plans.size()) {
            const std::size_t index = next++;
            Agent agent(shared, plans[index], outcomes[index], io.get_executor());
            const auto agent_started = SteadyClock::now();
            co_await agent.Run();
            outcomes[index].seconds =
                std::chrono::duration<double>(SteadyClock::now() - agent_started).count();
          }
        },
        asio::detached);
  }
  io.restart();
  io.run();
  const double duration_s = std::chrono::duration<double>(SteadyClock::now() - started).count();

  std::optional<Decisions> decisions = RunToEnd(io, FetchDecisions(op, before->latest, true));
  if (!decisions) return 1;
  json::object report =
      Report(options, plans, outcomes, event_id, decisions->model_version, duration_s);
  report["run"].as_object()["scored_decisions"] = decisions->items.size();
  PrintSummary(report);
  if (!options.report.empty() && !WriteFileAtomically(options.report, json::serialize(report))) {
    std::cerr << "botsim: cannot write " << options.report << "\n";
    return 1;
  }
  if (decisions->lost) {
    std::cerr << "botsim: the server's decision log overflowed during the run; training sees "
                 "only the latest entries\n";
  }
  if (options.train) return Train(options, plans, *decisions, event_id, report);
  return 0;
}

}  // namespace boxoffice::tools
