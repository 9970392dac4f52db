#include "tools/onsale_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace boxoffice::tools::onsale {
namespace {

namespace json = boost::json;

// Time in queue histogram bounds, seconds.
constexpr double kQueueTimeBounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
// The report's steps: the schema's seven always, in its order, then the others that were used.
constexpr Step kReportSteps[] = {Step::kSession, Step::kTelemetry, Step::kJoin,   Step::kStatus,
                                 Step::kHold,    Step::kOrder,     Step::kTickets};
constexpr Step kOtherSteps[] = {Step::kEvent, Step::kStream, Step::kLeave, Step::kRelease};

template <typename T>
json::value Optional(const std::optional<T>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

json::value Rounded(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return json::value(std::round(value * scale) / scale);
}

json::value OptionalRounded(const std::optional<double>& value, int digits) {
  return value ? Rounded(*value, digits) : json::value(nullptr);
}

json::object SummaryJson(const Summary& summary, int digits) {
  if (summary.count == 0) {
    return json::object{
        {"count", 0}, {"p50", nullptr}, {"p95", nullptr}, {"p99", nullptr}, {"max", nullptr}};
  }
  return json::object{{"count", summary.count},
                      {"p50", Rounded(summary.p50, digits)},
                      {"p95", Rounded(summary.p95, digits)},
                      {"p99", Rounded(summary.p99, digits)},
                      {"max", Rounded(summary.max, digits)}};
}

// A cumulative value's rate between the samples that have it.
class RateOf {
 public:
  std::optional<double> Next(double t_s, const std::optional<double>& value) {
    std::optional<double> rate;
    if (value && last_) {
      const double dt = t_s - last_t_s_;
      if (dt > 0) rate = std::max(0.0, (*value - *last_) / dt);
    }
    if (value) {
      last_ = value;
      last_t_s_ = t_s;
    }
    return rate;
  }

 private:
  std::optional<double> last_;
  double last_t_s_ = 0;
};

std::string Fixed(double value, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

double NumberOr(const json::object& object, std::string_view name, double otherwise) {
  const json::value* value = object.if_contains(name);
  return value != nullptr && value->is_number() ? value->to_number<double>() : otherwise;
}

const json::object& ObjectOr(const json::object& object, std::string_view name) {
  static const json::object kEmpty;
  const json::value* value = object.if_contains(name);
  return value != nullptr && value->is_object() ? value->get_object() : kEmpty;
}

}  // namespace

json::object SeriesJson(const std::vector<RunSecond>& run, const std::vector<ServerSample>& server,
                        std::size_t seconds) {
  std::vector<const ServerSample*> sample_at(seconds, nullptr);
  for (const ServerSample& sample : server) {
    const auto index = static_cast<std::size_t>(std::llround(sample.t_s));
    if (index < seconds) sample_at[index] = &sample;
  }
  json::array t, arrivals, waiting, admitted_per_s, rate, active, held, sold, orders, requests,
      errors, rss, server_cpu, sim_cpu, lag;
  RateOf admitted_rate, server_cpu_rate, sim_cpu_rate;
  for (std::size_t i = 0; i < seconds; ++i) {
    const RunSecond* second = i < run.size() ? &run[i] : nullptr;
    const ServerSample* sample = sample_at[i];
    const double t_s = static_cast<double>(i);
    t.push_back(i);
    arrivals.push_back(second ? second->arrivals : 0);
    requests.push_back(second ? second->requests : 0);
    errors.push_back(second ? second->errors : 0);
    orders.push_back(second ? second->orders : 0);
    lag.push_back(second ? OptionalRounded(second->send_lag_p99_ms, 3) : json::value(nullptr));
    if (sample == nullptr) {
      for (json::array* gauge :
           {&waiting, &admitted_per_s, &rate, &active, &held, &sold, &rss, &server_cpu, &sim_cpu}) {
        gauge->push_back(nullptr);
      }
      continue;
    }
    waiting.push_back(Optional(sample->queue_waiting));
    admitted_per_s.push_back(Optional(admitted_rate.Next(t_s, sample->queue_admitted)));
    rate.push_back(Optional(sample->admission_rate_per_s));
    active.push_back(Optional(sample->queue_active));
    held.push_back(Optional(sample->held));
    sold.push_back(Optional(sample->sold));
    rss.push_back(Optional(sample->rss_bytes));
    server_cpu.push_back(OptionalRounded(server_cpu_rate.Next(t_s, sample->cpu_seconds), 3));
    sim_cpu.push_back(OptionalRounded(sim_cpu_rate.Next(t_s, sample->sim_cpu_s), 3));
  }
  return json::object{{"t", std::move(t)},
                      {"arrivals", std::move(arrivals)},
                      {"queue_waiting", std::move(waiting)},
                      {"admitted_per_s", std::move(admitted_per_s)},
                      {"admission_rate_per_s", std::move(rate)},
                      {"active", std::move(active)},
                      {"held", std::move(held)},
                      {"sold", std::move(sold)},
                      {"orders_per_s", std::move(orders)},
                      {"requests_per_s", std::move(requests)},
                      {"errors_per_s", std::move(errors)},
                      {"server_rss_bytes", std::move(rss)},
                      {"server_cpu_per_s", std::move(server_cpu)},
                      {"sim_cpu_per_s", std::move(sim_cpu)},
                      {"send_lag_ms_p99", std::move(lag)}};
}

json::object LatencyJson(const RunMetrics& metrics, std::size_t seconds) {
  json::object latency;
  const auto add = [&](Step step) {
    const std::size_t index = StepIndex(step);
    json::array p50, p95, p99;
    const std::vector<RunSecond>& run = metrics.seconds();
    for (std::size_t i = 0; i < seconds; ++i) {
      const StepSecond* at = i < run.size() ? &run[i].latency[index] : nullptr;
      p50.push_back(at ? OptionalRounded(at->p50_ms, 3) : json::value(nullptr));
      p95.push_back(at ? OptionalRounded(at->p95_ms, 3) : json::value(nullptr));
      p99.push_back(at ? OptionalRounded(at->p99_ms, 3) : json::value(nullptr));
    }
    latency[StepName(step)] =
        json::object{{"p50", std::move(p50)},
                     {"p95", std::move(p95)},
                     {"p99", std::move(p99)},
                     {"all", SummaryJson(metrics.latency(step).Summarize(), 3)}};
  };
  for (Step step : kReportSteps) add(step);
  for (Step step : kOtherSteps) {
    if (metrics.latency(step).count() > 0) add(step);
  }
  return latency;
}

json::object TimeInQueueJson(std::vector<double> samples) {
  const std::vector<std::uint64_t> counts = BucketCounts(samples, kQueueTimeBounds);
  json::object out = SummaryJson(Summarize(samples), 3);
  json::array bounds(std::begin(kQueueTimeBounds), std::end(kQueueTimeBounds));
  out["histogram"] = json::object{{"bounds", std::move(bounds)},
                                  {"counts", json::array(counts.begin(), counts.end())}};
  return out;
}

std::vector<PhaseBounds> Phases(double open_s, double spike_end_s, double last_arrival_s,
                                double duration_s) {
  std::vector<PhaseBounds> phases;
  const auto add = [&](std::string name, double from_s, double to_s) {
    if (from_s > duration_s) return;
    phases.push_back(PhaseBounds{std::move(name), from_s, std::clamp(to_s, from_s, duration_s)});
  };
  const double tail_end_s = std::max(last_arrival_s, spike_end_s);
  if (open_s > 0) add("prequeue", 0, open_s);
  add("spike", open_s, spike_end_s);
  add("tail", spike_end_s, tail_end_s);
  add("drain", tail_end_s, duration_s);
  return phases;
}

json::array PhasesJson(const std::vector<PhaseBounds>& phases,
                       const std::vector<ServerSample>& server) {
  json::array out;
  for (const PhaseBounds& phase : phases) {
    std::optional<double> rss_max;
    const ServerSample* first = nullptr;
    const ServerSample* last = nullptr;
    for (const ServerSample& sample : server) {
      if (sample.t_s < phase.from_s || sample.t_s > phase.to_s) continue;
      if (sample.rss_bytes) rss_max = std::max(rss_max.value_or(0), *sample.rss_bytes);
      if (first == nullptr) first = &sample;
      last = &sample;
    }
    std::optional<double> server_cpu_s;
    std::optional<double> sim_cpu_s;
    if (first != nullptr && last != first) {
      if (first->cpu_seconds && last->cpu_seconds) {
        server_cpu_s = std::max(0.0, *last->cpu_seconds - *first->cpu_seconds);
      }
      sim_cpu_s = last->sim_cpu_s - first->sim_cpu_s;
    }
    out.push_back(json::object{{"name", phase.name},
                               {"from_s", Rounded(phase.from_s, 3)},
                               {"to_s", Rounded(phase.to_s, 3)},
                               {"server_rss_max_bytes", Optional(rss_max)},
                               {"server_cpu_s", OptionalRounded(server_cpu_s, 3)},
                               {"sim_cpu_s", OptionalRounded(sim_cpu_s, 3)}});
  }
  return out;
}

std::string BottleneckReason(const std::vector<ServerSample>& server,
                             const std::vector<RunSecond>& run,
                             const std::vector<std::pair<double, double>>& outages,
                             std::uint64_t borrowers_waiting_max, std::size_t connections) {
  int streak = 0;
  int longest = 0;
  double busiest = 0;
  RateOf rate;
  for (const ServerSample& sample : server) {
    const std::optional<double> cores = rate.Next(sample.t_s, sample.sim_cpu_s);
    if (cores && *cores >= kBottleneckCores) {
      longest = std::max(longest, ++streak);
      busiest = std::max(busiest, *cores);
    } else if (cores) {
      streak = 0;
    }
  }
  std::string reason;
  if (longest >= kBottleneckSecondsMin) {
    reason = "its CPU stayed near a core (up to " + Fixed(busiest, 2) + " cores, " +
             std::to_string(longest) + " s in a row)";
  }
  // Late sends while the server was down, and while the backlog it left drains, are the
  // outage's (the pool holds requests back on purpose), not the simulator's.
  const auto in_outage = [&outages](double t_s) {
    return std::any_of(outages.begin(), outages.end(), [t_s](const auto& span) {
      return t_s + 1 >= span.first && t_s <= span.second + kOutageRecoveryS;
    });
  };
  int late_seconds = 0;
  double latest_ms = 0;
  for (std::size_t i = 0; i < run.size(); ++i) {
    const std::optional<float>& lag = run[i].send_lag_p99_ms;
    if (!lag || *lag <= kBottleneckLagMs || in_outage(static_cast<double>(i))) continue;
    ++late_seconds;
    latest_ms = std::max(latest_ms, static_cast<double>(*lag));
  }
  if (late_seconds >= kBottleneckSecondsMin) {
    if (!reason.empty()) reason += "; ";
    reason += "requests left late (send lag p99 above " + Fixed(kBottleneckLagMs, 0) + " ms in " +
              std::to_string(late_seconds) + " seconds, up to " + Fixed(latest_ms, 0) + " ms)";
    if (borrowers_waiting_max > 0) {
      reason += ": all " + std::to_string(connections) + " connections were busy at times (up to " +
                std::to_string(borrowers_waiting_max) +
                " fans waiting for one), so the server answered too slowly for the pool or the "
                "pool is too small (--connections)";
    }
  }
  return reason;
}

bool AuditResult::passed() const {
  return std::all_of(checks.begin(), checks.end(), [](const Check& check) { return check.passed; });
}

json::object BuildReport(const ReportInput& input) {
  const OnsaleOptions& options = input.options;
  const Crowd& crowd = input.crowd;
  const RunMetrics& metrics = crowd.metrics();
  const std::vector<ServerSample>& samples = crowd.monitor().samples();
  const auto seconds = static_cast<std::size_t>(std::max(1.0, std::ceil(crowd.duration_s())));
  const auto outcome = [&](Outcome o) { return crowd.outcomes()[static_cast<std::size_t>(o)]; };

  json::object report;
  report["version"] = kReportVersion;
  report["started_at"] = input.started_at;
  report["url"] = options.url;
  report["event_id"] = input.event.id;
  report["options"] =
      json::object{{"fans", options.fans},
                   {"seats", input.event.seat_count},
                   {"admission_rate_per_s", Optional(input.event.admission_rate_per_s)},
                   {"max_active", options.max_active},
                   {"arrival", options.arrival},
                   {"prequeue_share", options.prequeue_share},
                   {"spike_s", options.spike_s},
                   {"tail_s", options.tail_s},
                   {"stream_share", options.stream_share},
                   {"abandon_share", options.abandon_share},
                   {"decline_share", options.decline_share},
                   {"bot_share", options.bot_share},
                   {"connections", options.connections},
                   {"seed", options.seed},
                   {"prequeue_s", options.prequeue_s},
                   {"per_order", input.event.per_order},
                   {"policy", input.event.policy},
                   {"challenge", options.challenge},
                   {"hold_ttl_s", options.hold_ttl_s},
                   {"idle_release_s", options.idle_release_s},
                   {"poll_budget_per_s", options.poll_budget_per_s},
                   {"think_scale", options.think_scale},
                   {"duration_max_s", options.duration_max_s},
                   {"existing_event", !options.event_id.empty()}};

  json::object outcomes;
  for (std::size_t i = 1; i < kOutcomeCount; ++i) {
    outcomes[OutcomeName(static_cast<Outcome>(i))] = crowd.outcomes()[i];
  }
  std::uint64_t distinct_seats = 0;
  for (const ConfirmedOrder& order : crowd.orders()) distinct_seats += order.seats.size();
  report["summary"] =
      json::object{{"fans", options.fans},
                   {"seats", input.event.seat_count},
                   {"admitted", crowd.admitted()},
                   {"bought", outcome(Outcome::kBought)},
                   {"orders_confirmed", crowd.orders().size()},
                   {"seats_sold", input.seats_sold ? *input.seats_sold : distinct_seats},
                   {"gave_up", outcome(Outcome::kGaveUp)},
                   {"sold_out_after_s", OptionalRounded(input.sold_out_after_s, 3)},
                   {"all_knew_after_s", OptionalRounded(input.all_knew_after_s, 3)},
                   {"duration_s", Rounded(crowd.duration_s(), 3)},
                   {"requests", metrics.requests()},
                   {"errors", metrics.errors()},
                   {"requests_per_s_max", metrics.requests_per_s_max()},
                   {"outcomes", std::move(outcomes)},
                   {"ended", crowd.cut() ? "duration_max" : "all_done"}};

  json::array checks;
  for (const Check& check : input.audit.checks) checks.push_back(CheckJson(check));
  report["audit"] = json::object{{"passed", input.audit.passed()},
                                 {"checks", std::move(checks)},
                                 {"kendall_tau", OptionalRounded(input.audit.kendall_tau, 6)}};

  report["series"] = SeriesJson(metrics.seconds(), samples, seconds);
  report["latency_ms"] = LatencyJson(metrics, seconds);
  json::object errors;
  for (const auto& [code, count] : metrics.errors_by_code()) errors[code] = count;
  report["errors_by_code"] = std::move(errors);

  std::vector<double> in_queue;
  for (const Fan& fan : crowd.fans()) {
    if (fan.joined_s >= 0 && fan.admitted_s >= 0) in_queue.push_back(fan.admitted_s - fan.joined_s);
  }
  report["time_in_queue_s"] = TimeInQueueJson(std::move(in_queue));

  const ArrivalSchedule& schedule = crowd.schedule();
  const double last_arrival_s = schedule.fans() > 0 ? schedule.At(schedule.fans() - 1) : 0;
  report["phases"] = PhasesJson(
      Phases(schedule.open_s(), schedule.spike_end_s(), last_arrival_s, crowd.duration_s()),
      samples);

  const Summary lag = metrics.send_lag().Summarize();
  const Summary service = metrics.service().Summarize();
  const std::string reason = BottleneckReason(samples, metrics.seconds(), metrics.outage_spans(),
                                              crowd.borrowers_waiting_max(), options.connections);
  const double requests = static_cast<double>(std::max<std::uint64_t>(1, metrics.requests()));
  report["simulator"] = json::object{
      {"cpu_s", Rounded(input.sim_cpu_s, 3)},
      {"connections", options.connections},
      {"fans_in_flight_max", crowd.in_flight_max()},
      {"send_lag_ms", json::object{{"p50", Rounded(lag.p50, 3)},
                                   {"p99", Rounded(lag.p99, 3)},
                                   {"max", Rounded(lag.max, 3)}}},
      {"service_ms", json::object{{"p50", Rounded(service.p50, 3)},
                                  {"p99", Rounded(service.p99, 3)},
                                  {"max", Rounded(service.max, 3)}}},
      {"bottleneck", !reason.empty()},
      {"bottleneck_reason", reason},
      {"cpu_us_per_request", Rounded(input.sim_cpu_s / requests * 1e6, 2)},
      // Proofs of work are the fans' browsers' work, done here on another thread: apart.
      {"proof_of_work_cpu_s", Rounded(crowd.solver_cpu_s(), 3)},
      {"cpu_us_per_request_without_proofs_of_work",
       Rounded(std::max(0.0, input.sim_cpu_s - crowd.solver_cpu_s()) / requests * 1e6, 2)},
      {"memory_bytes", Rounded(input.sim_memory_bytes, 0)},
      {"memory_bytes_per_fan",
       Rounded(input.sim_memory_bytes / std::max<double>(1, static_cast<double>(options.fans)), 1)},
      {"borrowers_waiting_max", crowd.borrowers_waiting_max()},
      {"streams_opened", crowd.streams_opened()},
      {"proofs_of_work", crowd.solves()}};

  // Restarts as the server's own start time tells them, or the outages the fans saw when it
  // does not publish one; a quick restart may leave no outage long enough to count.
  const std::size_t restarts =
      std::max<std::size_t>(metrics.outages(), ServerRestarts(crowd.monitor().samples()).size());
  if (restarts > 0) {
    report["chaos"] = json::object{{"outage_s", Rounded(metrics.outage_s(), 3)},
                                   {"transport_errors", metrics.transport_errors()},
                                   {"restarts", restarts}};
  } else {
    report["chaos"] = nullptr;
  }
  report["bots"] = crowd.bots() > 0 ? json::value(crowd.BotsJson()) : json::value(nullptr);
  return report;
}

std::string SummaryText(const json::object& report) {
  const json::object& summary = ObjectOr(report, "summary");
  const json::object& audit = ObjectOr(report, "audit");
  const json::object& simulator = ObjectOr(report, "simulator");
  const auto count = [&](std::string_view name) {
    return std::to_string(static_cast<long long>(NumberOr(summary, name, 0)));
  };
  std::string text = "onsale: " + count("fans") + " fans, " + count("seats") +
                     " seats: " + count("bought") + " bought (" + count("orders_confirmed") +
                     " orders, " + count("seats_sold") + " seats sold), " + count("gave_up") +
                     " gave up";
  const double sold_out_s = NumberOr(summary, "sold_out_after_s", -1);
  if (sold_out_s >= 0) {
    text += "; sold out after " + Fixed(sold_out_s, 1) + " s";
    const double knew_s = NumberOr(summary, "all_knew_after_s", -1);
    if (knew_s >= 0) text += ", every waiting fan knew " + Fixed(knew_s, 1) + " s later";
  } else {
    text += "; not sold out";
  }
  text += "\n  " + Fixed(NumberOr(summary, "duration_s", 0), 1) + " s, " + count("requests") +
          " requests (max " + count("requests_per_s_max") + "/s), " + count("errors") +
          " errors; simulator " + Fixed(NumberOr(simulator, "cpu_s", 0), 1) + " s CPU (" +
          Fixed(NumberOr(simulator, "cpu_us_per_request", 0), 1) + " us per request, " +
          Fixed(NumberOr(simulator, "cpu_us_per_request_without_proofs_of_work", 0), 1) +
          " without proofs of work), " +
          Fixed(NumberOr(simulator, "memory_bytes", 0) / (1 << 20), 0) + " MiB";
  const json::value* bottleneck = simulator.if_contains("bottleneck_reason");
  if (bottleneck != nullptr && bottleneck->is_string() && !bottleneck->get_string().empty()) {
    text += "\n  the simulator held the run back (its latencies are not the server's alone): " +
            std::string(bottleneck->get_string());
  }
  const json::value* passed = audit.if_contains("passed");
  text += std::string("\n  audit ") +
          (passed != nullptr && passed->is_bool() && passed->get_bool() ? "passed" : "FAILED") +
          ":";
  if (const json::value* checks = audit.if_contains("checks"); checks && checks->is_array()) {
    for (const json::value& item : checks->get_array()) {
      if (!item.is_object()) continue;
      const json::object& check = item.get_object();
      const json::value* ok = check.if_contains("passed");
      const json::value* skipped = check.if_contains("skipped");
      const char* mark = skipped != nullptr && skipped->is_bool() && skipped->get_bool() ? "skip"
                         : ok != nullptr && ok->is_bool() && ok->get_bool()              ? "ok  "
                                                                                         : "FAIL";
      const auto text_of = [&](std::string_view name) {
        const json::value* value = check.if_contains(name);
        return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
      };
      text += std::string("\n    ") + mark + " " + text_of("name") + ": " + text_of("detail");
    }
  }
  return text + "\n";
}

}  // namespace boxoffice::tools::onsale
