#include "tools/onsale_run.hpp"
#include "tools/coroutine_frame_warning.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <cstdio>
#include <future>
#include <map>

#include "common/json_text.hpp"

namespace boxoffice::tools::onsale {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

// After the end, bots and proofs of work still under way get this long before the I/O stops.
constexpr auto kDrainGrace = std::chrono::seconds(35);
// A bot gives up after this long, or at the run's end if that comes first.
constexpr double kBotTimeoutMaxS = 300;
// Session answers seen before judging whether the server limits every fan as one client.
constexpr std::uint64_t kLimitedAsOneSample = 50;

std::vector<Persona> BuildPersonas(std::uint64_t seed) {
  std::vector<Persona> personas;
  for (const botsim::AgentPlan& plan : botsim::PlanAgents(kPersonas, 0, seed)) {
    Persona persona;
    persona.user_agent = plan.user_agent.value_or("");
    persona.accept_language = plan.accept_language.value_or("");
    persona.sec_ch_ua = plan.sec_ch_ua.value_or("");
    persona.sec_ch_ua_mobile = plan.sec_ch_ua_mobile.value_or("");
    persona.sec_ch_ua_platform = plan.sec_ch_ua_platform.value_or("");
    if (plan.telemetry) {
      json::object body{{"pointer_events", plan.telemetry->pointer_events},
                        {"key_events", plan.telemetry->key_events}};
      body["first_interaction_ms"] = plan.telemetry->first_interaction_ms
                                         ? json::value(*plan.telemetry->first_interaction_ms)
                                         : json::value(nullptr);
      persona.telemetry_body = SerializeJson(body);
    }
    personas.push_back(std::move(persona));
  }
  return personas;
}

ArrivalCurve CurveOf(const OnsaleOptions& options, double open_s) {
  return ArrivalCurve{
      options.fans,   options.prequeue_share,
      open_s,         options.spike_s,
      options.tail_s, ParseArrivalShape(options.arrival).value_or(ArrivalShape::kSpike)};
}

JourneyOptions JourneyOf(const OnsaleOptions& options, const EventFacts& event) {
  JourneyOptions journey;
  journey.event_id = event.id;
  journey.seed = options.seed;
  journey.think_scale = options.think_scale;
  journey.shares.stream = options.stream_share;
  journey.shares.decline = options.decline_share;
  journey.shares.abandon = options.abandon_share;
  journey.shares.per_order = std::clamp(event.per_order, 1, 8);
  journey.shares.personas = kPersonas;
  return journey;
}

}  // namespace

Crowd::Crowd(asio::io_context& io, CrowdSetup setup)
    : io_(io),
      options_(setup.options),
      setup_(std::move(setup)),
      schedule_(CurveOf(options_, setup_.open_s)),
      personas_(BuildPersonas(options_.seed)),
      journey_(JourneyOf(options_, setup_.event), personas_, *this),
      fans_(options_.fans),
      pool_(io.get_executor(), setup_.endpoints, options_.connections),
      monitor_(io.get_executor(), setup_.endpoints, setup_.operator_key, setup_.event.id,
               setup_.start),
      deadline_timer_(io),
      progress_timer_(io),
      drain_timer_(io) {
  phases_[static_cast<std::size_t>(Phase::kNotArrived)] = fans_.size();
  std::promise<clockid_t> solver_clock;
  asio::post(solver_, [&solver_clock] {
    clockid_t clock{};
    pthread_getcpuclockid(pthread_self(), &clock);
    solver_clock.set_value(clock);
  });
  solver_clock_ = solver_clock.get_future().get();
  // Streams hold a connection for their whole life: at most half the pool, so polls always
  // find connections.
  streams_max_ = options_.connections / 2;
  progress_tty_ = isatty(STDERR_FILENO) == 1;
  const auto bots = static_cast<std::uint64_t>(std::llround(options_.fans * options_.bot_share));
  if (bots > 0) {
    bot_plans_ = botsim::PlanAgents(0, static_cast<unsigned>((bots + 4) / 5), options_.seed);
    bot_plans_.resize(bots);
    bot_outcomes_.resize(bots);
    bot_options_.agent_timeout_s = std::min(kBotTimeoutMaxS, options_.duration_max_s);
    bot_shared_ = std::make_unique<botsim::Shared>(
        botsim::Shared{bot_options_, setup_.endpoints, setup_.event.id,
                       "os" + std::to_string(options_.seed), solver_});
    bots_at_once_ = std::max<std::size_t>(1, options_.connections / 4);
  }
}

Crowd::~Crowd() {
  solver_.stop();
  solver_.join();
}

double Crowd::solver_cpu_s() const {
  timespec used{};
  if (clock_gettime(solver_clock_, &used) != 0) return 0;
  return used.tv_sec + used.tv_nsec * 1e-9;
}

void Crowd::Run() {
  pool_.SetArrivals(static_cast<FanId>(fans_.size()),
                    [this](FanId id) { return setup_.start + Seconds(schedule_.At(id)); });
  pool_.Start([this](Connection& connection, FanId id) { return Serve(connection, id); });
  asio::co_spawn(io_, monitor_.Run(), asio::detached);
  if (!options_.quiet) asio::co_spawn(io_, Progress(), asio::detached);
  deadline_timer_.expires_at(setup_.start + Seconds(options_.duration_max_s));
  deadline_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || finished_) return;
    cut_ = true;
    for (Fan& fan : fans_) journey_.Cut(fan);
    Finish(true);
  });
  io_.restart();
  io_.run();
  metrics_.Flush(std::ceil(duration_s_));
}

double Crowd::Now() const {
  return std::chrono::duration<double>(SteadyClock::now() - setup_.start).count();
}

awaitable<void> Crowd::Serve(Connection& connection, FanId id) {
  if (finished_) co_return;
  Fan& fan = fans_[id];
  if (fan.step == Step::kArrive) {
    if (BotOrdinal(id, fans_.size(), bot_plans_.size())) {
      StartBot(id);
      co_return;
    }
    metrics_.Arrived(Now());
    fan.intended_s = journey_.Arrive(fan, id, schedule_.At(id)).at_s;
  }
  if (fan.step == Step::kDone) co_return;
  if (fan.step == Step::kStream) {
    if (streams_open_ < streams_max_) {
      co_await ServeStream(connection, id);
      co_return;
    }
    journey_.PollInstead(fan);
  }
  FanRequest request = journey_.Request(fan);
  const Step step = fan.step;
  const double intended_s = fan.intended_s;
  const double sent_s = Now();
  metrics_.Sent(intended_s, sent_s);
  borrowers_waiting_max_ =
      std::max<std::uint64_t>(borrowers_waiting_max_, pool_.borrowers_waiting());
  Reply reply = co_await connection.Send(request.method, std::move(request.target),
                                         std::move(request.body), request.headers);
  if (finished_ || fan.step == Step::kDone) co_return;  // the run was cut meanwhile
  const double answered_s = Now();
  if (reply.connect_failed) pool_.ServerDown();
  if (reply.status > 0) metrics_.Served(answered_s - sent_s);
  if (step == Step::kSession) WarnIfLimitedAsOne(reply.status);
  Decision decision = journey_.OnReply(fan, reply, answered_s);
  metrics_.Answered(step, intended_s, answered_s, reply.status, reply.error, decision.error);
  Apply(id, std::move(decision));
}

awaitable<void> Crowd::ServeStream(Connection& connection, FanId id) {
  Fan& fan = fans_[id];
  ++streams_open_;
  ++streams_opened_;
  FanRequest request = journey_.Request(fan);
  const double intended_s = fan.intended_s;
  metrics_.Sent(intended_s, Now());
  const SteadyClock::time_point run_end = setup_.start + Seconds(options_.duration_max_s);
  const double leave_s = journey_.LeaveAt(fan);
  const SteadyClock::time_point deadline =
      leave_s >= 0 ? std::min(run_end, setup_.start + Seconds(leave_s)) : run_end;
  bool first = true;
  StreamEventHandler on_event = [this, &fan, &first, intended_s](std::string_view data) {
    const double now_s = Now();
    if (first) {
      first = false;  // the stream's latency is its first event's
      metrics_.Answered(Step::kStream, intended_s, now_s, 200, "", false);
    }
    return !finished_ && journey_.OnStreamEvent(fan, data, now_s);
  };
  StreamResult result = co_await connection.Stream(std::move(request.target), request.headers,
                                                   deadline, std::move(on_event));
  --streams_open_;
  if (finished_ || fan.step == Step::kDone) co_return;
  const double now_s = Now();
  if (result.reply.connect_failed) pool_.ServerDown();
  Decision decision = journey_.OnStreamEnd(fan, result, now_s);
  if (first) {
    metrics_.Answered(Step::kStream, intended_s, now_s, result.reply.status, result.reply.error,
                      decision.error);
  } else if (result.end == StreamEnd::kBroken) {
    metrics_.Answered(Step::kStream, intended_s, now_s, 0, "", true);
  }
  Apply(id, std::move(decision));
}

awaitable<void> Crowd::Solve(FanId id, Challenge challenge) {
  std::optional<std::string> altcha = co_await SolveOn(solver_, std::move(challenge));
  --solving_;
  if (finished_) {
    MaybeDrained();
    co_return;
  }
  Fan& fan = fans_[id];
  Apply(id, journey_.OnSolved(fan, std::move(altcha), Now()));
}

void Crowd::Apply(FanId id, Decision decision) {
  switch (decision.kind) {
    case Decision::Kind::kSend:
      fans_[id].intended_s = decision.at_s;
      pool_.At(setup_.start + Seconds(decision.at_s), id);
      return;
    case Decision::Kind::kSolve:
      ++solving_;
      ++solves_;
      asio::co_spawn(io_, Solve(id, std::move(*decision.challenge)), asio::detached);
      return;
    case Decision::Kind::kDone:
      return;  // counted when its phase became kDone
  }
}

void Crowd::PhaseChanged(const Fan& fan, Phase from, Phase to) {
  --phases_[static_cast<std::size_t>(from)];
  ++phases_[static_cast<std::size_t>(to)];
  if (to == Phase::kAdmitted && fan.access_lost == 0 && from != Phase::kAdmitted) ++admitted_;
  const std::uint64_t arrived =
      fans_.size() - phases_[static_cast<std::size_t>(Phase::kNotArrived)];
  in_flight_max_ =
      std::max(in_flight_max_, arrived - phases_[static_cast<std::size_t>(Phase::kDone)]);
  if (to != Phase::kDone) return;
  ++outcomes_[static_cast<std::size_t>(fan.outcome)];
  if (++done_ == fans_.size()) Finish(cut_);
}

void Crowd::SoldOutSeen(const Fan&, double now_s) {
  if (!first_sold_out_seen_s_) first_sold_out_seen_s_ = now_s;
}

void Crowd::OrderConfirmed(const Fan& fan, const json::object& order, double now_s) {
  metrics_.OrderConfirmed(now_s);
  ConfirmedOrder confirmed;
  confirmed.order_id = fan.order_id;
  confirmed.fan = fan.index;
  if (const json::value* tickets = order.if_contains("tickets"); tickets && tickets->is_array()) {
    for (const json::value& ticket : tickets->get_array()) {
      if (!ticket.is_object()) continue;
      const json::value* seat = ticket.get_object().if_contains("seat_id");
      if (seat != nullptr && seat->is_string()) confirmed.seats.emplace_back(seat->get_string());
    }
  }
  orders_.push_back(std::move(confirmed));
}

void Crowd::OrderCompleted(const Fan&, const json::object&, double) {}

void Crowd::StartBot(FanId id) {
  Fan& fan = fans_[id];
  fan.index = id;
  fan.step = Step::kDone;  // the pool never serves it again: its agent runs on its own
  fan.phase = Phase::kBrowsing;
  PhaseChanged(fan, Phase::kNotArrived, Phase::kBrowsing);
  metrics_.Arrived(Now());
  const std::uint64_t ordinal = *BotOrdinal(id, fans_.size(), bot_plans_.size());
  if (bots_running_ >= bots_at_once_) {
    bot_backlog_.emplace_back(id, ordinal);
    return;
  }
  ++bots_running_;
  asio::co_spawn(io_, RunBot(id, ordinal), asio::detached);
}

awaitable<void> Crowd::RunBot(FanId id, std::uint64_t ordinal) {
  for (;;) {
    {
      botsim::Agent agent(*bot_shared_, bot_plans_[ordinal], bot_outcomes_[ordinal],
                          io_.get_executor());
      co_await agent.Run();
    }
    if (finished_) break;
    Fan& fan = fans_[id];
    fan.phase = Phase::kDone;
    PhaseChanged(fan, Phase::kBrowsing, Phase::kDone);
    if (bot_backlog_.empty() || finished_) break;
    std::tie(id, ordinal) = bot_backlog_.front();
    bot_backlog_.pop_front();
  }
  --bots_running_;
  MaybeDrained();
}

awaitable<void> Crowd::Progress() {
  const double every_s = progress_tty_ ? 1 : 5;
  for (int tick = 1; !finished_; ++tick) {
    progress_timer_.expires_at(setup_.start + Seconds(tick * every_s));
    boost::system::error_code ignored;
    co_await progress_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (finished_) break;
    const std::string line = ProgressLine();
    if (progress_tty_) {
      std::fprintf(stderr, "\r%s\033[K", line.c_str());
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  }
  if (progress_tty_) std::fputs("\n", stderr);
}

std::string Crowd::ProgressLine() const {
  const auto phase = [this](Phase p) { return phases_[static_cast<std::size_t>(p)]; };
  const auto outcome = [this](Outcome o) { return outcomes_[static_cast<std::size_t>(o)]; };
  const double now_s = Now();
  const std::vector<RunSecond>& seconds = metrics_.seconds();
  const auto last = static_cast<std::size_t>(std::max(0.0, std::floor(now_s) - 1));
  const std::uint32_t per_s = last < seconds.size() ? seconds[last].requests : 0;
  char text[512];
  std::snprintf(text, sizeof text,
                "onsale %4.0fs: %llu arrived, %llu waiting, %llu admitted, %llu holding, %llu "
                "bought, %llu gave up, %llu done | %u req/s, %llu errors",
                now_s, static_cast<unsigned long long>(fans_.size() - phase(Phase::kNotArrived)),
                static_cast<unsigned long long>(phase(Phase::kWaiting)),
                static_cast<unsigned long long>(admitted_),
                static_cast<unsigned long long>(phase(Phase::kHolding)),
                static_cast<unsigned long long>(outcome(Outcome::kBought)),
                static_cast<unsigned long long>(outcome(Outcome::kGaveUp)),
                static_cast<unsigned long long>(done_), per_s,
                static_cast<unsigned long long>(metrics_.errors()));
  std::string line = text;
  if (const ServerSample* sample = monitor_.latest()) {
    const auto show = [](const std::optional<double>& value) {
      return value ? std::to_string(static_cast<long long>(*value)) : std::string("?");
    };
    line += " | server " + show(sample->queue_waiting) + " waiting, " + show(sample->queue_active) +
            " active, " + show(sample->sold) + " sold";
  }
  if (pool_.server_down()) line += " | server down";
  return line;
}

void Crowd::Finish(bool cut) {
  if (finished_) return;
  finished_ = true;
  cut_ = cut;
  duration_s_ = Now();
  pool_.Stop();
  monitor_.Stop();
  deadline_timer_.cancel();
  progress_timer_.cancel();
  if (bots_running_ > 0 || solving_ > 0) {
    drain_timer_.expires_after(kDrainGrace);
    drain_timer_.async_wait([this](const boost::system::error_code& error) {
      if (!error) io_.stop();
    });
  }
}

void Crowd::MaybeDrained() {
  if (finished_ && bots_running_ == 0 && solving_ == 0) drain_timer_.cancel();
}

void Crowd::WarnIfLimitedAsOne(int status) {
  ++session_answers_;
  if (status == 429) ++session_limited_;
  if (warned_limited_ || session_answers_ < kLimitedAsOneSample ||
      session_limited_ * 2 <= session_answers_) {
    return;
  }
  warned_limited_ = true;
  std::fprintf(stderr,
               "\nonsale: the server rate-limits most new sessions (%llu of %llu answered 429): it "
               "seems to see every fan as one client. Start it with --trusted-proxies "
               "127.0.0.1/32 (BOXOFFICE_TRUSTED_PROXIES) so that each fan's X-Forwarded-For "
               "names its own address.\n",
               static_cast<unsigned long long>(session_limited_),
               static_cast<unsigned long long>(session_answers_));
}

json::object Crowd::BotsJson() const {
  struct Tally {
    std::uint64_t bots = 0, held = 0, blocked = 0, challenged = 0, solved = 0;
    std::map<std::string, std::uint64_t> stopped;
  };
  std::map<std::string, Tally> kinds;
  for (std::size_t i = 0; i < bot_plans_.size(); ++i) {
    Tally& tally = kinds[std::string(botsim::KindName(bot_plans_[i].kind))];
    const botsim::AgentOutcome& outcome = bot_outcomes_[i];
    ++tally.bots;
    tally.held += outcome.held;
    tally.blocked += outcome.blocked;
    tally.challenged += outcome.challenged;
    tally.solved += outcome.solved;
    if (!outcome.held) ++tally.stopped[std::string(botsim::StopName(outcome.stop))];
  }
  json::object out;
  for (const auto& [kind, tally] : kinds) {
    json::object stopped;
    for (const auto& [why, count] : tally.stopped) stopped[why] = count;
    out[kind] = json::object{{"bots", tally.bots},       {"held", tally.held},
                             {"blocked", tally.blocked}, {"challenged", tally.challenged},
                             {"solved", tally.solved},   {"stopped", std::move(stopped)}};
  }
  return out;
}

Headers Crowd::BuyerHeaders(std::uint64_t index) const {
  // A done fan's request carries only who it is: address, browser, device, session.
  return journey_.Request(fans_[index]).headers;
}

}  // namespace boxoffice::tools::onsale
