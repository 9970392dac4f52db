#include "tools/onsale_fan.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cmath>

#include "common/json_text.hpp"

namespace boxoffice::tools::onsale {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;

// Bounds on retries of one request. Transport errors are retried for as long as the run lasts
// (the benchmark restarts the server under the fans' feet), on a backoff from 100 ms doubling to
// 5 s; answers that ask to come back later (429, 503) are obeyed this many times.
constexpr double kBackoffMinS = 0.1;
constexpr double kBackoffMaxS = 5;
constexpr int kBackoffDoublingsMax = 16;
constexpr int kRetriesMax = 120;            // 429s and 503s on one request
constexpr int kServerErrorRetriesMax = 10;  // other 5xx
constexpr int kSolvesMax = 3;               // proofs of work per request
constexpr int kConflictsMax = 5;            // seat conflicts before a fan gives up
constexpr int kConflictsBeforeFewerSeats = 2;
constexpr int kDeclinesMax = 3;  // payments declined before a fan gives up
constexpr int kOrderPollsMax = 40;
constexpr int kAccessLostMax = 2;
// A queue view's retry_after_s is obeyed exactly, but never below this (a 0 would spin).
constexpr double kPollIntervalMinS = 0.5;
constexpr double kOrderPollFirstS = 0.5;
constexpr double kOrderPollMaxS = 5;
constexpr double kThinkSigma = 0.5;

std::string ToString(const json::value* value) {
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

std::uint64_t ToCount(const json::value* value) {
  if (value == nullptr) return 0;
  if (value->is_uint64()) return value->get_uint64();
  if (value->is_int64() && value->get_int64() > 0)
    return static_cast<std::uint64_t>(value->get_int64());
  return 0;
}

// When to poll next: the body's retry_after_s, else the Retry-After header, else a second.
double RetryAfterS(const Reply& reply) {
  if (const json::object* object = reply.Object()) {
    if (const json::value* value = object->if_contains("retry_after_s");
        value != nullptr && value->is_number()) {
      return value->to_number<double>();
    }
  }
  return reply.retry_after_s > 0 ? reply.retry_after_s : 1;
}

// A `details` field of an error answer.
const json::value* ErrorDetail(const Reply& reply, std::string_view name) {
  const json::object* object = reply.Object();
  const json::value* error = object ? object->if_contains("error") : nullptr;
  if (error == nullptr || !error->is_object()) return nullptr;
  const json::value* details = error->get_object().if_contains("details");
  if (details == nullptr || !details->is_object()) return nullptr;
  return details->get_object().if_contains(name);
}

bool OwnReasons(Outcome outcome) {
  return outcome == Outcome::kBought || outcome == Outcome::kGaveUp ||
         outcome == Outcome::kFailed || outcome == Outcome::kBlocked ||
         outcome == Outcome::kNoSeats;
}

void Forget(std::string& text) { std::string().swap(text); }

}  // namespace

std::size_t StepIndex(Step step) {
  return static_cast<std::size_t>(step) - static_cast<std::size_t>(Step::kSession);
}

Step StepAt(std::size_t index) {
  return static_cast<Step>(index + static_cast<std::size_t>(Step::kSession));
}

std::string_view StepName(Step step) {
  switch (step) {
    case Step::kArrive:
      return "arrive";
    case Step::kSession:
      return "session";
    case Step::kEvent:
      return "event";
    case Step::kTelemetry:
      return "telemetry";
    case Step::kJoin:
      return "join";
    case Step::kStatus:
      return "status";
    case Step::kStream:
      return "stream";
    case Step::kLeave:
      return "leave";
    case Step::kHold:
      return "hold";
    case Step::kRelease:
      return "release";
    case Step::kOrder:
      return "order";
    case Step::kTickets:
      return "tickets";
    case Step::kDone:
      return "done";
  }
  return "done";
}

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kNone:
      return "none";
    case Outcome::kBought:
      return "bought";
    case Outcome::kSoldOut:
      return "sold_out";
    case Outcome::kClosed:
      return "closed";
    case Outcome::kNoSeats:
      return "no_seats";
    case Outcome::kGaveUp:
      return "gave_up";
    case Outcome::kBlocked:
      return "blocked";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kCut:
      return "cut";
  }
  return "none";
}

Journey::Journey(JourneyOptions options, std::span<const Persona> personas,
                 JourneyObserver& observer)
    : options_(std::move(options)),
      event_path_("/v1/events/" + options_.event_id),
      personas_(personas),
      observer_(observer) {}

Decision Journey::Arrive(Fan& fan, std::uint32_t index, double now_s) {
  const FanDice dice = RollFan(options_.seed, index, options_.shares);
  fan.index = index;
  fan.persona = dice.persona % static_cast<std::uint32_t>(personas_.size());
  fan.abandon = dice.abandon;
  fan.streams = dice.streams;
  fan.declines_first = dice.declines_first;
  fan.quantity = static_cast<std::uint8_t>(dice.quantity);
  fan.patience_s = static_cast<float>(dice.patience_s);
  fan.dice = dice.seed;
  fan.arrived_s = static_cast<float>(now_s);
  SetPhase(fan, Phase::kBrowsing);
  return Advance(fan, Step::kSession, now_s);
}

FanRequest Journey::Request(const Fan& fan) const {
  FanRequest request;
  Headers& headers = request.headers;
  headers.reserve(12);
  const Persona& persona = personas_[fan.persona];
  headers.emplace_back("X-Forwarded-For", FanAddress(fan.index));
  if (!persona.user_agent.empty()) headers.emplace_back("User-Agent", persona.user_agent);
  if (!persona.accept_language.empty()) {
    headers.emplace_back("Accept-Language", persona.accept_language);
  }
  if (!persona.sec_ch_ua.empty()) headers.emplace_back("Sec-CH-UA", persona.sec_ch_ua);
  if (!persona.sec_ch_ua_mobile.empty()) {
    headers.emplace_back("Sec-CH-UA-Mobile", persona.sec_ch_ua_mobile);
  }
  if (!persona.sec_ch_ua_platform.empty()) {
    headers.emplace_back("Sec-CH-UA-Platform", persona.sec_ch_ua_platform);
  }
  headers.emplace_back("X-Device-Id", FanDeviceId(options_.seed, fan.index));
  if (!fan.session_token.empty()) {
    headers.emplace_back("Authorization", "Bearer " + fan.session_token);
  }
  if (!fan.altcha.empty()) headers.emplace_back("X-Altcha", fan.altcha);
  switch (fan.step) {
    case Step::kSession:
      request.method = bhttp::verb::post;
      request.target = "/v1/sessions";
      request.body = "{}";
      break;
    case Step::kEvent:
      request.target = event_path_;
      break;
    case Step::kTelemetry:
      request.method = bhttp::verb::post;
      request.target = "/v1/telemetry";
      request.body = persona.telemetry_body;
      break;
    case Step::kJoin:
      request.method = bhttp::verb::post;
      request.target = event_path_ + "/queue";
      request.body = "{}";
      break;
    case Step::kStatus:
      request.target = event_path_ + "/queue/status";
      headers.emplace_back("X-Queue-Ticket", fan.queue_ticket);
      break;
    case Step::kStream:
      request.target = event_path_ + "/queue/stream";
      headers.emplace_back("X-Queue-Ticket", fan.queue_ticket);
      headers.emplace_back("Accept", "text/event-stream");
      break;
    case Step::kLeave:
      request.method = bhttp::verb::delete_;
      request.target = event_path_ + "/queue";
      headers.emplace_back("X-Queue-Ticket", fan.queue_ticket);
      break;
    case Step::kHold:
      request.method = bhttp::verb::post;
      request.target = event_path_ + "/holds";
      request.body =
          "{\"best_available\":{\"quantity\":" + std::to_string(int{fan.quantity}) + "}}";
      headers.emplace_back("X-Access-Token", fan.access_token);
      break;
    case Step::kRelease:
      request.method = bhttp::verb::delete_;
      request.target = "/v1/holds/" + fan.hold_id;
      break;
    case Step::kOrder: {
      request.method = bhttp::verb::post;
      request.target = "/v1/orders";
      const char* token = fan.declines_first && fan.declines == 0 ? "tok_declined" : "tok_visa";
      request.body =
          SerializeJson(json::object{{"hold_id", fan.hold_id},
                                     {"email", "fan" + std::to_string(fan.index) + "@example.com"},
                                     {"payment", json::object{{"token", token}}}});
      headers.emplace_back("X-Access-Token", fan.access_token);
      // One key per intent to pay: the same on a retry of the same request (after a transport
      // error or a 5xx), a new one after a decline.
      headers.emplace_back("Idempotency-Key", "fan" + std::to_string(fan.index) + "-pay" +
                                                  std::to_string(int{fan.declines}));
      break;
    }
    case Step::kTickets:
      request.target = "/v1/orders/" + fan.order_id;
      break;
    case Step::kArrive:
    case Step::kDone:
      break;
  }
  return request;
}

Decision Journey::OnReply(Fan& fan, const Reply& reply, double now_s) {
  fan.altcha.clear();  // a solution is good once
  if (reply.status == 0) return Backoff(fan, now_s);
  // The bound on proofs of work is on challenges in a row: a hold retried after a conflict may
  // be challenged afresh, which is no sign of a solution refused.
  if (reply.status != 403 || reply.error != "challenge_required") fan.solves = 0;
  if (reply.status == 429 || reply.status == 503) {
    fan.transport_failures = 0;
    if (++fan.tries > kRetriesMax) return Fail(fan, now_s);
    return Send(now_s + std::max(1, reply.retry_after_s), true);
  }
  if (reply.status >= 500) {
    if (++fan.tries > kServerErrorRetriesMax) return Fail(fan, now_s);
    return Backoff(fan, now_s);
  }
  fan.transport_failures = 0;
  if (reply.status == 403 && reply.error == "challenge_required") {
    if (++fan.solves > kSolvesMax) return Finish(fan, Outcome::kBlocked, now_s, true);
    std::optional<Challenge> challenge = ChallengeOf(reply);
    if (!challenge) return Fail(fan, now_s);
    Decision decision;
    decision.kind = Decision::Kind::kSolve;
    decision.challenge = std::move(challenge);
    return decision;
  }
  if (reply.status == 403 && reply.error == "blocked") {
    return Finish(fan, Outcome::kBlocked, now_s, true);
  }
  switch (fan.step) {
    case Step::kSession:
      return OnSession(fan, reply, now_s);
    case Step::kEvent:
      return OnEvent(fan, reply, now_s);
    case Step::kTelemetry: {
      const bool posted = reply.status / 100 == 2;
      Decision next = Advance(fan, Step::kJoin, now_s + Think(fan, 0.3, 0.1, 1));
      next.error = !posted;
      return next;
    }
    case Step::kJoin:
    case Step::kStatus:
    case Step::kStream:
      return OnQueueView(fan, reply, now_s);
    case Step::kLeave:
    case Step::kRelease:
      // A fan who found no seats left gave their slot back on the way out (LeaveWith).
      return Finish(fan, fan.outcome == Outcome::kNoSeats ? Outcome::kNoSeats : Outcome::kGaveUp,
                    now_s, reply.status / 100 != 2);
    case Step::kHold:
      return OnHold(fan, reply, now_s);
    case Step::kOrder:
      return OnOrder(fan, reply, now_s);
    case Step::kTickets:
      return OnTickets(fan, reply, now_s);
    case Step::kArrive:
    case Step::kDone:
      break;
  }
  return Fail(fan, now_s);
}

Decision Journey::OnSolved(Fan& fan, std::optional<std::string> altcha, double now_s) {
  if (fan.step == Step::kDone) return Decision{};
  if (!altcha) return Finish(fan, Outcome::kBlocked, now_s, true);
  fan.altcha = std::move(*altcha);
  return Send(now_s);
}

Decision Journey::OnSession(Fan& fan, const Reply& reply, double now_s) {
  if (reply.status != 201) return Fail(fan, now_s);
  fan.session_token = reply.String("session_token");
  if (fan.session_token.empty()) return Fail(fan, now_s);
  return Advance(fan, Step::kEvent, now_s + Think(fan, 0.1, 0.02, 0.5));
}

Decision Journey::OnEvent(Fan& fan, const Reply& reply, double now_s) {
  if (reply.status != 200) return Fail(fan, now_s);
  if (fan.abandon == AbandonAt::kEventPage) return Finish(fan, Outcome::kGaveUp, now_s);
  const Step next = personas_[fan.persona].telemetry_body.empty() ? Step::kJoin : Step::kTelemetry;
  return Advance(fan, next, now_s + Think(fan, 2, 0.5, 8));
}

Journey::Seen Journey::ReadView(Fan& fan, const json::object& view, double now_s) {
  if (const std::uint64_t sequence = ToCount(view.if_contains("sequence")); sequence > 0) {
    fan.sequence = sequence;
  }
  const std::string state = ToString(view.if_contains("state"));
  if (state == "prequeue" || state == "waiting") {
    SetPhase(fan, Phase::kWaiting);
    return Seen::kWaiting;
  }
  if (state == "admitted") {
    std::string token = ToString(view.if_contains("access_token"));
    if (token.empty()) return Seen::kMalformed;
    fan.access_token = std::move(token);
    if (const std::uint64_t ordinal = ToCount(view.if_contains("admitted_as")); ordinal > 0) {
      fan.admitted_as = ordinal;
    }
    if (fan.admitted_s < 0) fan.admitted_s = static_cast<float>(now_s);
    SetPhase(fan, Phase::kAdmitted);
    return Seen::kAdmitted;
  }
  if (state == "sold_out" || state == "closed") {
    if (fan.told_s < 0) {
      fan.told_s = static_cast<float>(now_s);
      if (state == "sold_out") observer_.SoldOutSeen(fan, now_s);
    }
    fan.outcome = state == "sold_out" ? Outcome::kSoldOut : Outcome::kClosed;
    return Seen::kTold;
  }
  return Seen::kMalformed;
}

Decision Journey::AfterView(Fan& fan, Seen seen, double retry_after_s, double now_s) {
  switch (seen) {
    case Seen::kTold:
      return Finish(fan, fan.outcome, now_s);
    case Seen::kAdmitted:
      return AfterAdmitted(fan, now_s);
    case Seen::kMalformed:
      return Fail(fan, now_s);
    case Seen::kWaiting:
      break;
  }
  if (fan.step == Step::kJoin && fan.streams) return Advance(fan, Step::kStream, now_s);
  const double next_s = now_s + std::max(kPollIntervalMinS, retry_after_s);
  if (const double leave_s = LeaveAt(fan); leave_s >= 0 && next_s >= leave_s) {
    return Advance(fan, Step::kLeave, std::max(now_s, leave_s));
  }
  return Advance(fan, Step::kStatus, next_s);
}

Decision Journey::AfterAdmitted(Fan& fan, double now_s) {
  if (fan.abandon == AbandonAt::kAdmitted) return Finish(fan, Outcome::kGaveUp, now_s);
  return Advance(fan, Step::kHold, now_s + Think(fan, 3, 1, 15));
}

Decision Journey::OnQueueView(Fan& fan, const Reply& reply, double now_s) {
  const bool joining = fan.step == Step::kJoin;
  if (reply.status != 200 && !(joining && reply.status == 201)) return Fail(fan, now_s);
  const json::object* view = reply.Object();
  if (view == nullptr) return Fail(fan, now_s);
  if (joining) {
    fan.joined_s = static_cast<float>(now_s);
    fan.queue_ticket = ToString(view->if_contains("queue_ticket"));
  }
  const Seen seen = ReadView(fan, *view, now_s);
  if (fan.step == Step::kStream) PollInstead(fan);  // a 200 that was not a stream
  return AfterView(fan, seen, RetryAfterS(reply), now_s);
}

Decision Journey::OnHold(Fan& fan, const Reply& reply, double now_s) {
  if (reply.status == 201) {
    fan.hold_id = reply.String("hold_id");
    if (fan.hold_id.empty()) return Fail(fan, now_s);
    SetPhase(fan, Phase::kHolding);
    switch (fan.abandon) {
      case AbandonAt::kHold:
        return Advance(fan, Step::kRelease, now_s + Think(fan, 2, 0.5, 10));
      case AbandonAt::kPayment:
        return Finish(fan, Outcome::kGaveUp, now_s);  // the hold lingers until it expires
      default:
        return Advance(fan, Step::kOrder, now_s + Think(fan, 8, 3, 30));
    }
  }
  if (reply.status == 409 && reply.error == "seat_conflict") {
    // Someone took a seat between the pick and the hold: try again, asking for fewer seats
    // after a couple of conflicts.
    if (++fan.conflicts > kConflictsMax) return LeaveWithoutSeats(fan, now_s);
    if (fan.conflicts >= kConflictsBeforeFewerSeats && fan.quantity > 1) --fan.quantity;
    return Send(now_s + Think(fan, 0.5, 0.2, 2));
  }
  if (reply.status == 409 && reply.error == "not_enough_seats") {
    if (fan.quantity <= 1) return LeaveWithoutSeats(fan, now_s);
    --fan.quantity;
    return Send(now_s + Think(fan, 0.5, 0.2, 2));
  }
  if (reply.status == 422 && reply.error == "limit_exceeded") {
    const std::uint64_t max = ToCount(ErrorDetail(reply, "max"));
    if (max == 0 || max >= fan.quantity) return Fail(fan, now_s);
    fan.quantity = static_cast<std::uint8_t>(max);
    return Send(now_s, true);
  }
  if (reply.status == 401) {
    // The access token no longer admits the fan: its status says why (closed, or admitted
    // anew after a restart).
    if (++fan.access_lost > kAccessLostMax) return Fail(fan, now_s);
    Forget(fan.access_token);
    SetPhase(fan, Phase::kWaiting);
    Decision next = Advance(fan, Step::kStatus, now_s);
    next.error = true;
    return next;
  }
  if (reply.status == 403 && reply.error == "not_on_sale") {
    if (++fan.tries > kRetriesMax) return Fail(fan, now_s);
    return Send(now_s + 1, true);
  }
  return Fail(fan, now_s);
}

Decision Journey::OnOrder(Fan& fan, const Reply& reply, double now_s) {
  if (reply.status == 201 || reply.status == 200) {
    const json::object* order = reply.Object();
    fan.order_id = reply.String("order_id");
    if (order == nullptr || fan.order_id.empty()) return Fail(fan, now_s);
    observer_.OrderConfirmed(fan, *order, now_s);
    SetPhase(fan, Phase::kOrdered);
    fan.order_polls = 0;
    return Advance(fan, Step::kTickets, now_s + kOrderPollFirstS);
  }
  if (reply.status == 402) {
    const bool meant = fan.declines_first && fan.declines == 0;
    if (++fan.declines >= kDeclinesMax && !meant) return Fail(fan, now_s);
    Decision next = Advance(fan, Step::kOrder, now_s + Think(fan, 4, 1.5, 15));
    next.error = !meant;
    return next;
  }
  if (reply.status == 409 && reply.error == "idempotency_in_flight") {
    if (++fan.tries > kRetriesMax) return Fail(fan, now_s);
    return Send(now_s + 1, true);
  }
  return Fail(fan, now_s);
}

Decision Journey::OnTickets(Fan& fan, const Reply& reply, double now_s) {
  const json::object* order = reply.Object();
  if (reply.status != 200 || order == nullptr) return Fail(fan, now_s);
  const std::string status = ToString(order->if_contains("status"));
  if (status == "completed") {
    observer_.OrderCompleted(fan, *order, now_s);
    return Finish(fan, Outcome::kBought, now_s);
  }
  if (status != "confirmed") return Fail(fan, now_s);
  // The tickets come once the outbox has captured the payment: poll with a backoff, and stop
  // after a while (the audit waits for the rest).
  if (++fan.order_polls > kOrderPollsMax) return Finish(fan, Outcome::kBought, now_s);
  const double wait_s =
      std::min(kOrderPollMaxS, kOrderPollFirstS * std::pow(2.0, fan.order_polls - 1));
  return Send(now_s + wait_s);
}

void Journey::PollInstead(Fan& fan) const {
  fan.streams = false;
  if (fan.step == Step::kStream) fan.step = Step::kStatus;
}

bool Journey::OnStreamEvent(Fan& fan, std::string_view data, double now_s) {
  std::error_code error;
  const json::value view = json::parse(data, error);
  if (error || !view.is_object()) return false;
  return ReadView(fan, view.get_object(), now_s) != Seen::kMalformed;
}

Decision Journey::OnStreamEnd(Fan& fan, const StreamResult& result, double now_s) {
  // What the stream told the fan comes first: the end of a stream after its last event is no
  // news.
  if (fan.phase == Phase::kAdmitted && !fan.access_token.empty()) {
    fan.transport_failures = 0;
    return AfterAdmitted(fan, now_s);
  }
  if (fan.outcome == Outcome::kSoldOut || fan.outcome == Outcome::kClosed) {
    return Finish(fan, fan.outcome, now_s);
  }
  switch (result.end) {
    case StreamEnd::kNotStream:
      if (result.reply.status == 503 && result.reply.error == "overloaded") {
        PollInstead(fan);  // the server's stream cap: pages fall back to polling
        return Advance(fan, Step::kStatus, now_s);
      }
      return OnReply(fan, result.reply, now_s);
    case StreamEnd::kDeadline:
      return Advance(fan, Step::kLeave, now_s);
    case StreamEnd::kBroken:
      if (result.reply.status != 200) return Backoff(fan, now_s);  // could not open: again
      PollInstead(fan);
      return Backoff(fan, now_s);
    case StreamEnd::kServerEnded:
    case StreamEnd::kStopped:
      break;
  }
  PollInstead(fan);
  return Advance(fan, Step::kStatus, now_s);
}

Decision Journey::LeaveWithoutSeats(Fan& fan, double now_s) {
  // As a page would on "no seats left": leave the queue, so the active slot goes to the next fan
  // at once rather than after idle_release_s.
  fan.outcome = Outcome::kNoSeats;
  return Advance(fan, Step::kLeave, now_s);
}

double Journey::LeaveAt(const Fan& fan) const {
  if (fan.abandon != AbandonAt::kQueue || fan.joined_s < 0) return -1;
  return fan.joined_s + fan.patience_s;
}

void Journey::Cut(Fan& fan) {
  if (fan.step == Step::kDone || fan.step == Step::kArrive) return;
  fan.outcome = Outcome::kCut;
  fan.step = Step::kDone;
  SetPhase(fan, Phase::kDone);
}

Decision Journey::Send(double at_s, bool error) const {
  Decision decision;
  decision.kind = Decision::Kind::kSend;
  decision.at_s = at_s;
  decision.error = error;
  return decision;
}

Decision Journey::Advance(Fan& fan, Step step, double at_s) const {
  fan.step = step;
  fan.tries = 0;
  fan.solves = 0;
  return Send(at_s);
}

Decision Journey::Backoff(Fan& fan, double now_s) const {
  fan.transport_failures =
      static_cast<std::uint8_t>(std::min<int>(fan.transport_failures + 1, kBackoffDoublingsMax));
  const double full_s =
      std::min(kBackoffMaxS, kBackoffMinS * std::pow(2.0, fan.transport_failures - 1));
  // Half fixed, half jitter: fans that failed together do not all come back together.
  return Send(now_s + full_s * (0.5 + 0.5 * NextUniform(fan.dice)), true);
}

Decision Journey::Finish(Fan& fan, Outcome outcome, double now_s, bool error) {
  fan.outcome = outcome;
  fan.step = Step::kDone;
  if (OwnReasons(outcome)) fan.ended_s = static_cast<float>(now_s);
  SetPhase(fan, Phase::kDone);
  // What a done fan no longer needs; a buyer keeps its session for the audit's reads.
  Forget(fan.queue_ticket);
  Forget(fan.access_token);
  Forget(fan.altcha);
  if (outcome != Outcome::kBought) {
    Forget(fan.session_token);
    Forget(fan.hold_id);
  }
  Decision decision;
  decision.error = error;
  return decision;
}

void Journey::SetPhase(Fan& fan, Phase phase) {
  if (fan.phase == phase) return;
  const Phase from = fan.phase;
  fan.phase = phase;
  observer_.PhaseChanged(fan, from, phase);
}

double Journey::Think(Fan& fan, double median_s, double min_s, double max_s) const {
  if (options_.think_scale <= 0) return 0;
  return options_.think_scale * ThinkS(fan.dice, median_s, kThinkSigma, min_s, max_s);
}

}  // namespace boxoffice::tools::onsale
