#include "tools/botsim_agent.hpp"

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <cmath>
#include <exception>
#include <optional>
#include <random>
#include <utility>

#include "common/json_text.hpp"
#include "defense/challenge.hpp"
#include "tools/coroutine_frame_warning.hpp"
#include "tools/http_client.hpp"

namespace boxoffice::tools::botsim {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;

constexpr int kRateLimitRetriesMax = 3;  // 429s an agent waits out per request before it gives up
constexpr int kChallengeSolvesMax = 3;   // proofs of work an agent solves per request
// Queue polls go no faster than the per-session limit allows (2/s, docs/defense.md).
constexpr double kPollIntervalMinS = 0.55;

std::string TelemetryBody(const TelemetryPlan& telemetry) {
  json::object body{{"pointer_events", telemetry.pointer_events},
                    {"key_events", telemetry.key_events}};
  body["first_interaction_ms"] = telemetry.first_interaction_ms
                                     ? json::value(*telemetry.first_interaction_ms)
                                     : json::value(nullptr);
  return SerializeJson(body);
}

}  // namespace

Agent::Agent(Shared& shared, const AgentPlan& plan, AgentOutcome& outcome,
             asio::any_io_executor executor)
    : shared_(shared),
      plan_(plan),
      outcome_(outcome),
      connection_(executor, shared.endpoints),
      random_(plan.seed),
      deadline_(SteadyClock::now() + std::chrono::microseconds(static_cast<std::int64_t>(
                                         shared.options.agent_timeout_s * 1e6))) {}

awaitable<void> Agent::Run() {
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
      Reply posted =
          co_await Call(bhttp::verb::post, "/v1/telemetry", TelemetryBody(*plan_.telemetry), false);
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
  std::string hold_body = "{\"best_available\":{\"quantity\":" + std::to_string(plan_.seats) + "}}";
  Reply hold = co_await Call(bhttp::verb::post, event_path + "/holds", std::move(hold_body), true,
                             std::move(hold_headers));
  if (hold.status == 409) {
    outcome_.stop = Stop::kSoldOut;
    co_return;
  }
  if (!Ok(hold, 201)) co_return;
  outcome_.held = true;
}

int Agent::RetryAfter(const Reply& reply) {
  const json::object* object = reply.Object();
  const json::value* value = object ? object->if_contains("retry_after_s") : nullptr;
  return value && value->is_int64() ? static_cast<int>(value->get_int64()) : 1;
}

bool Agent::Expired(double wait_s) const {
  return SteadyClock::now() + Seconds(wait_s) > deadline_;
}

bool Agent::Ok(const Reply& reply, int status) {
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

awaitable<void> Agent::Think() {
  const Rhythm& rhythm = plan_.rhythm;
  double seconds = rhythm.median_s;
  if (rhythm.shape == Rhythm::Shape::kLogNormal) {
    seconds =
        std::lognormal_distribution<double>(std::log(rhythm.median_s), rhythm.spread)(random_);
  } else if (rhythm.spread > 0) {
    seconds =
        std::normal_distribution<double>(rhythm.median_s, rhythm.median_s * rhythm.spread)(random_);
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

Headers Agent::BaseHeaders() {
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

awaitable<Reply> Agent::Call(bhttp::verb method, std::string target, std::string body, bool gated,
                             Headers extra) {
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

}  // namespace boxoffice::tools::botsim
