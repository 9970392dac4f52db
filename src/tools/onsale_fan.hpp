// One fan's journey through an on-sale (tools/onsale.hpp), as a state machine without I/O: which
// request the fan sends next, and what it does with each answer — when it sends again (the
// INTENDED send time, which the run measures latency from), whether it solves a proof of work
// first, or whether it is done. The run (onsale_run.hpp) sends the requests on the connection
// pool and feeds the answers back; tests feed crafted answers.
//
// A fan is a small struct, not a coroutine: a million of them wait in a queue at once, and a
// coroutine frame per fan would cost several kilobytes where this costs a few hundred bytes
// (mostly its session token, queue ticket and access token).
#pragma once

#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "defense/challenge.hpp"
#include "tools/http_client.hpp"
#include "tools/onsale_plan.hpp"

namespace boxoffice::tools::onsale {

// What a fan is doing: the request it sends next (kArrive: not arrived yet; kDone: no more).
enum class Step : std::uint8_t {
  kArrive,
  kSession,    // POST /v1/sessions
  kEvent,      // GET /v1/events/{id}
  kTelemetry,  // POST /v1/telemetry
  kJoin,       // POST /v1/events/{id}/queue
  kStatus,     // GET /v1/events/{id}/queue/status
  kStream,     // GET /v1/events/{id}/queue/stream
  kLeave,      // DELETE /v1/events/{id}/queue
  kHold,       // POST /v1/events/{id}/holds
  kRelease,    // DELETE /v1/holds/{id}
  kOrder,      // POST /v1/orders
  kTickets,    // GET /v1/orders/{id}
  kDone,
};
// The steps that send a request, kSession..kTickets, numbered from 0 by StepIndex.
inline constexpr std::size_t kRequestStepCount = 11;
std::size_t StepIndex(Step step);
Step StepAt(std::size_t index);
// The report's name of a step ("session", "status", "tickets", ...).
std::string_view StepName(Step step);

// Where a fan is, as the progress line and the report count fans.
enum class Phase : std::uint8_t {
  kNotArrived,
  kBrowsing,  // session, event page, telemetry, joining
  kWaiting,   // in the queue
  kAdmitted,  // admitted, no hold yet
  kHolding,   // holds seats, not paid yet
  kOrdered,   // order confirmed, waiting for the tickets
  kDone,
};
inline constexpr std::size_t kPhaseCount = 7;

// How a fan's journey ended.
enum class Outcome : std::uint8_t {
  kNone,
  kBought,   // an order confirmed (and, unless the run ended first, its tickets issued)
  kSoldOut,  // told sold_out
  kClosed,   // told closed
  kNoSeats,  // admitted, but no seats were left to hold
  kGaveUp,   // abandoned at some step
  kBlocked,  // 403 blocked, or a challenge it could not solve
  kFailed,   // an answer it could not go on from, or too many retries
  kCut,      // the run ended first (--duration-max-s)
};
inline constexpr std::size_t kOutcomeCount = 9;
std::string_view OutcomeName(Outcome outcome);

// How a fan's browser presents itself: the headers and page telemetry of one of botsim's humans.
struct Persona {
  std::string user_agent;  // empty: header not sent (as the other four)
  std::string accept_language;
  std::string sec_ch_ua;
  std::string sec_ch_ua_mobile;
  std::string sec_ch_ua_platform;
  std::string telemetry_body;  // POST /v1/telemetry body; empty: its page posts none
};

struct Fan {
  // Who it is (from its dice, at arrival).
  std::uint32_t index = 0;
  std::uint32_t persona = 0;
  AbandonAt abandon = AbandonAt::kNever;
  bool streams = false;
  bool declines_first = false;
  std::uint8_t quantity = 0;  // seats it asks for now (fewer after conflicts)
  // Where it is.
  Step step = Step::kArrive;
  Phase phase = Phase::kNotArrived;
  Outcome outcome = Outcome::kNone;
  // Retries of the current request, reset on each new step.
  std::uint8_t transport_failures = 0;  // in a row, for the backoff
  std::uint8_t tries = 0;               // 429s, 503s and 5xx met
  std::uint8_t solves = 0;              // proofs of work solved
  std::uint8_t conflicts = 0;           // seat conflicts on holds
  std::uint8_t declines = 0;            // payments declined: numbers the Idempotency-Key
  std::uint8_t order_polls = 0;
  std::uint8_t access_lost = 0;  // holds refused for the access token
  float patience_s = 0;          // AbandonAt::kQueue: leaves after waiting this long
  // Seconds since the run started; negative: not yet.
  double intended_s = 0;  // when the current request is meant to leave
  float arrived_s = -1;
  float joined_s = -1;            // the join answered
  float admitted_s = -1;          // first saw admitted
  float told_s = -1;              // first saw sold_out or closed
  float ended_s = -1;             // done for its own reasons (bought, gave up, failed)
  std::uint64_t sequence = 0;     // its place in join order (0: the server did not say)
  std::uint64_t admitted_as = 0;  // the ordinal of its admission (0: not said)
  std::uint64_t dice = 0;         // its own random state
  std::string session_token;
  std::string queue_ticket;
  std::string access_token;
  std::string hold_id;
  std::string order_id;
  std::string altcha;  // a solved proof of work for the next request
};

// What to do after an answer.
struct Decision {
  enum class Kind : std::uint8_t { kSend, kSolve, kDone };
  Kind kind = Kind::kDone;
  double at_s = 0;                     // kSend: when the next request is meant to leave
  std::optional<Challenge> challenge;  // kSolve
  bool error = false;                  // the answer counts as an error in the report
};

struct FanRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;
  std::string body;
  Headers headers;
};

struct JourneyOptions {
  std::string event_id;
  std::uint64_t seed = 1;
  double think_scale = 1;  // multiplies the fans' pauses between pages (0: none)
  DiceShares shares;
};

// What the run wants to hear about as fans go.
class JourneyObserver {
 public:
  virtual ~JourneyObserver() = default;
  virtual void PhaseChanged(const Fan& fan, Phase from, Phase to) = 0;
  virtual void SoldOutSeen(const Fan& fan, double now_s) = 0;
  // The 201 of POST /v1/orders, and the order once completed with its tickets.
  virtual void OrderConfirmed(const Fan& fan, const boost::json::object& order, double now_s) = 0;
  virtual void OrderCompleted(const Fan& fan, const boost::json::object& order, double now_s) = 0;
};

class Journey {
 public:
  // `personas` must not be empty; both it and `observer` must outlive the journey.
  Journey(JourneyOptions options, std::span<const Persona> personas, JourneyObserver& observer);

  // The fan arrives at `now_s`: its dice are rolled, and it sends its first request at once.
  Decision Arrive(Fan& fan, std::uint32_t index, double now_s);
  // The fan's current request (for its step).
  FanRequest Request(const Fan& fan) const;
  Decision OnReply(Fan& fan, const Reply& reply, double now_s);
  // The proof of work for the current request was solved (or not: nullopt).
  Decision OnSolved(Fan& fan, std::optional<std::string> altcha, double now_s);

  // Streams: the pool has no connection to spare for a stream, so the fan polls instead.
  void PollInstead(Fan& fan) const;
  // One event of the fan's queue stream; returns whether to keep reading.
  bool OnStreamEvent(Fan& fan, std::string_view data, double now_s);
  Decision OnStreamEnd(Fan& fan, const StreamResult& result, double now_s);
  // No seats for the fan: leave the queue (freeing the active slot), then done.
  Decision LeaveWithoutSeats(Fan& fan, double now_s);
  // When a streaming fan's patience runs out (the stream's deadline); negative: never.
  double LeaveAt(const Fan& fan) const;

  // The run ended with the fan still on its way.
  void Cut(Fan& fan);

  const JourneyOptions& options() const { return options_; }

 private:
  enum class Seen { kWaiting, kAdmitted, kTold, kMalformed };

  Decision Send(double at_s, bool error = false) const;
  Decision Advance(Fan& fan, Step step, double at_s) const;
  Decision Backoff(Fan& fan, double now_s) const;
  Decision Finish(Fan& fan, Outcome outcome, double now_s, bool error = false);
  Decision Fail(Fan& fan, double now_s) { return Finish(fan, Outcome::kFailed, now_s, true); }
  void SetPhase(Fan& fan, Phase phase);
  double Think(Fan& fan, double median_s, double min_s, double max_s) const;
  // Reads a queue view (join, status, stream event) into the fan.
  Seen ReadView(Fan& fan, const boost::json::object& view, double now_s);
  // After a view: poll again, leave, hold or stop.
  Decision AfterView(Fan& fan, Seen seen, double retry_after_s, double now_s);
  Decision AfterAdmitted(Fan& fan, double now_s);

  Decision OnSession(Fan& fan, const Reply& reply, double now_s);
  Decision OnEvent(Fan& fan, const Reply& reply, double now_s);
  Decision OnQueueView(Fan& fan, const Reply& reply, double now_s);
  Decision OnHold(Fan& fan, const Reply& reply, double now_s);
  Decision OnOrder(Fan& fan, const Reply& reply, double now_s);
  Decision OnTickets(Fan& fan, const Reply& reply, double now_s);

  JourneyOptions options_;
  std::string event_path_;  // "/v1/events/{id}"
  std::span<const Persona> personas_;
  JourneyObserver& observer_;
};

}  // namespace boxoffice::tools::onsale
