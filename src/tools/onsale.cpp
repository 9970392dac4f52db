#include "tools/onsale.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/url/parse.hpp>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/json_text.hpp"
#include "common/time.hpp"
#include "tools/coroutine_frame_warning.hpp"
#include "tools/http_client.hpp"
#include "tools/onsale_audit.hpp"
#include "tools/onsale_event.hpp"
#include "tools/onsale_html.hpp"
#include "tools/onsale_monitor.hpp"
#include "tools/onsale_plan.hpp"
#include "tools/onsale_readback.hpp"
#include "tools/onsale_report.hpp"
#include "tools/onsale_run.hpp"
#include "tools/report_file.hpp"

namespace boxoffice::tools {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;
using tcp = asio::ip::tcp;
using namespace onsale;

// Bounds of the options.
constexpr std::uint64_t kFansMax = 10'000'000;
constexpr std::uint32_t kSeatsMax = 200'000;  // the server's bound per event
constexpr unsigned kConnectionsMax = 10'000;
constexpr double kPhaseMaxS = 3'600;
// The audit waits this long for the outbox to capture and ticket the last orders.
constexpr double kOutboxWaitMaxS = 60;

struct Endpoint {
  std::string host;
  std::string port;
};

std::optional<Endpoint> ParseHttpUrl(const std::string& text) {
  boost::system::result<boost::urls::url_view> url = boost::urls::parse_uri(text);
  if (!url || url->scheme() != "http" || url->host().empty()) return std::nullopt;
  return Endpoint{url->host(), url->has_port() ? std::string(url->port()) : "80"};
}

// Says what is wrong with the options on stderr; false when they cannot make a run.
bool CheckOptions(const OnsaleOptions& options) {
  std::vector<std::string> problems;
  const auto share = [&](const char* flag, double value) {
    if (!(value >= 0 && value <= 1)) problems.push_back(std::string(flag) + " must be in [0, 1]");
  };
  const auto seconds = [&](const char* flag, double value) {
    if (!(value >= 0 && value <= kPhaseMaxS)) {
      problems.push_back(std::string(flag) + " must be in [0, 3600]");
    }
  };
  if (options.fans < 1 || options.fans > kFansMax) problems.push_back("--fans must be 1..10000000");
  if (options.seats < 1 || options.seats > kSeatsMax)
    problems.push_back("--seats must be 1..200000");
  if (options.per_order < 1 || options.per_order > 8)
    problems.push_back("--per-order must be 1..8");
  if (options.admission_rate_per_s < 1) problems.push_back("--admission-rate must be at least 1");
  if (options.max_active < 1) problems.push_back("--max-active must be at least 1");
  if (options.hold_ttl_s < 30 || options.hold_ttl_s > 3'600) {
    problems.push_back("--hold-ttl-s must be 30..3600");
  }
  if (options.idle_release_s < 10 || options.idle_release_s > 86'400) {
    problems.push_back("--idle-release-s must be 10..86400");
  }
  if (options.poll_budget_per_s < 10) problems.push_back("--poll-budget must be at least 10");
  if (options.policy != "fifo" && options.policy != "shuffle_prequeue") {
    problems.push_back("--policy must be fifo or shuffle_prequeue");
  }
  if (options.challenge != "risk" && options.challenge != "off" && options.challenge != "always") {
    problems.push_back("--challenge must be risk, off or always");
  }
  if (!ParseArrivalShape(options.arrival)) {
    problems.push_back("--arrival must be spike, uniform or ramp");
  }
  share("--prequeue-share", options.prequeue_share);
  share("--stream-share", options.stream_share);
  share("--abandon-share", options.abandon_share);
  share("--decline-share", options.decline_share);
  share("--bot-share", options.bot_share);
  seconds("--prequeue-s", options.prequeue_s);
  seconds("--spike-s", options.spike_s);
  seconds("--tail-s", options.tail_s);
  if (!(options.think_scale >= 0 && options.think_scale <= 10)) {
    problems.push_back("--think-scale must be in [0, 10]");
  }
  if (options.connections < 1 || options.connections > kConnectionsMax) {
    problems.push_back("--connections must be 1..10000");
  }
  if (!(options.duration_max_s > 0)) problems.push_back("--duration-max-s must be positive");
  if (!ParseHttpUrl(options.url)) problems.push_back("--url must be http://host:port");
  if (!options.gateway_sim.empty() && !ParseHttpUrl(options.gateway_sim)) {
    problems.push_back("--gateway-sim must be http://host:port");
  }
  for (const std::string& problem : problems) std::cerr << "onsale: " << problem << "\n";
  return problems.empty();
}

awaitable<Reply> Call(asio::any_io_executor executor, const tcp::resolver::results_type& endpoints,
                      bhttp::verb method, std::string target, std::string body, Headers headers) {
  Connection connection(executor, endpoints);
  co_return co_await connection.Send(method, std::move(target), std::move(body), headers);
}

// The simulator's resident memory now (from /proc), and at its peak (getrusage).
double ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  double pages_total = 0;
  double pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double PeakResidentBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024;
}

std::string Why(const Reply& reply) {
  if (reply.status == 0) return "no answer (" + reply.error + ")";
  return std::to_string(reply.status) + " " + (reply.error.empty() ? reply.body : reply.error);
}

// The on-sale's time: whole seconds (the API's RFC 3339 has no fraction), rounded up.
std::string OnsaleAt(double after_s) {
  const auto at = std::chrono::system_clock::now() + Seconds(after_s);
  return FormatRfc3339(std::chrono::ceil<std::chrono::seconds>(at));
}

// When sellout happened: the first of the monitor's samples showing nothing available and
// nothing held, and the first fan told sold_out.
std::optional<double> SoldOutAt(const Crowd& crowd) {
  std::optional<double> at = crowd.first_sold_out_seen_s();
  for (const ServerSample& sample : crowd.monitor().samples()) {
    if (sample.available && sample.held && *sample.available == 0 && *sample.held == 0 &&
        sample.capacity.value_or(1) > 0) {
      if (!at || sample.t_s < *at) at = sample.t_s;
      break;
    }
  }
  return at;
}

struct AuditInputs {
  std::optional<std::uint64_t> sold_before;
  std::vector<std::string> intents_before;
  std::optional<std::string> seed_sha256;  // seen before the opening
};

AuditResult Audit(asio::io_context& io, const OnsaleOptions& options,
                  const tcp::resolver::results_type& endpoints,
                  const std::optional<tcp::resolver::results_type>& gateway,
                  const std::string& operator_key, const EventFacts& event, const Crowd& crowd,
                  const AuditInputs& before, std::optional<double> sold_out_s,
                  std::optional<double>& all_knew_after_s,
                  std::optional<std::uint64_t>& seats_sold) {
  AuditResult audit;
  const asio::any_io_executor executor = io.get_executor();
  Headers operator_headers;
  operator_headers.emplace_back("Authorization", "Bearer " + operator_key);
  const Headers public_headers;
  const std::string event_path = "/v1/events/" + event.id;
  const std::vector<ConfirmedOrder>& orders = crowd.orders();

  // Orders first: the outbox may still be completing the last ones.
  if (!options.quiet) std::fprintf(stderr, "onsale: auditing %zu orders\n", orders.size());
  const OrderReads reads = RunToEnd(
      io, ReadOrders(
              executor, endpoints, operator_key, orders,
              [&crowd](std::uint64_t fan) { return crowd.BuyerHeaders(fan); }, kOutboxWaitMaxS));
  const std::optional<json::object> stats =
      RunToEnd(io, ReadObject(executor, endpoints, event_path + "/stats", operator_headers));
  ServerSample final_stats;
  if (stats) ReadStats(*stats, final_stats);
  const std::optional<json::object> sold_list = RunToEnd(
      io, ReadObject(executor, endpoints, event_path + "/seats?status=sold", public_headers));
  const std::optional<json::object> event_after =
      RunToEnd(io, ReadObject(executor, endpoints, event_path, public_headers));

  SoldSeats sold;
  sold.sold_before = before.sold_before;
  if (final_stats.sold) sold.sold_after = static_cast<std::uint64_t>(*final_stats.sold);
  sold.capacity = event.seat_count;
  if (sold_list) sold.sold_ids = SoldSeatIds(*sold_list);
  if (sold.sold_after)
    seats_sold = *sold.sold_after - std::min(*sold.sold_after, sold.sold_before.value_or(0));
  audit.checks.push_back(AuditSeatsSold(orders, sold));
  audit.checks.push_back(AuditLedger(orders, reads.orders));
  audit.checks.push_back(AuditTickets(orders, reads.orders, reads.waited_s));

  if (gateway) {
    const std::optional<json::object> records =
        RunToEnd(io, ReadObject(executor, *gateway, "/_sim/payment_intents", public_headers));
    std::uint64_t completed = 0;
    for (const LedgerOrder& read : reads.orders)
      completed += read.found && read.status == "completed";
    if (records) {
      audit.checks.push_back(
          AuditPayments(ParsePaymentIntents(*records), before.intents_before, orders, completed));
    } else {
      audit.checks.push_back(Check{"no payment authorized or captured twice", false,
                                   "the gateway simulator's GET /_sim/payment_intents did not "
                                   "answer"});
    }
  } else {
    audit.checks.push_back(Check{"no payment authorized or captured twice", true,
                                 "not checked: no --gateway-sim", true});
  }

  QueueOrder queue;
  queue.policy = event.policy;
  const std::vector<ServerSample>& samples = crowd.monitor().samples();
  const std::vector<double> restarts = ServerRestarts(samples);
  const bool restarts_known = std::any_of(samples.begin(), samples.end(), [](const auto& sample) {
    return sample.server_started_s.has_value();
  });
  for (const Fan& fan : crowd.fans()) {
    if (fan.admitted_s < 0) continue;
    ++queue.admitted_fans;
    if (fan.sequence == 0 || fan.admitted_as == 0) continue;
    queue.places.emplace_back(fan.sequence, fan.admitted_as);
    // The life of the server that admitted it: how many restarts had happened by then, as the
    // server's start time tells them, or (a server that does not publish it) the fans' outages.
    std::uint32_t life = 0;
    if (restarts_known) {
      for (double restart_s : restarts) life += restart_s <= fan.admitted_s;
    } else {
      for (const auto& [from_s, to_s] : crowd.metrics().outage_spans())
        life += to_s <= fan.admitted_s;
    }
    queue.lives.push_back(life);
  }
  queue.seed_sha256 = before.seed_sha256;
  if (event_after) {
    if (std::optional<EventFacts> after = ReadEventFacts(*event_after)) {
      queue.seed = after->seed;
      queue.prequeue_size = after->prequeue_size;
    }
  }
  QueueOrderVerdict order_verdict = AuditQueueOrder(std::move(queue));
  audit.kendall_tau = order_verdict.tau;
  audit.checks.push_back(std::move(order_verdict.check));

  std::vector<QueuedFan> queued;
  queued.reserve(crowd.fans().size());
  for (const Fan& fan : crowd.fans()) {
    if (fan.joined_s < 0) continue;
    queued.push_back(QueuedFan{fan.joined_s, fan.admitted_s, fan.ended_s, fan.told_s,
                               fan.outcome == Outcome::kGaveUp});
  }
  ToldVerdict told = AuditEveryoneTold(sold_out_s, queued);
  all_knew_after_s = told.all_knew_after_s;
  audit.checks.push_back(std::move(told.check));
  return audit;
}

}  // namespace

void AddOnsaleOptions(CLI::App& command, OnsaleOptions& options) {
  command.footer(
      "Plays N fans against a running server, end to end (session, event page, telemetry, the\n"
      "waiting room by polling or by stream, a hold, an order paid through the gateway, the\n"
      "tickets; some abandon, some pay with a declined card first), as an open model: latency\n"
      "counts from each request's intended send time. Then audits what the server kept and\n"
      "writes a report (docs/onsale.md).\n\n"
      "Each fan speaks from its own address in X-Forwarded-For, so the server must trust the\n"
      "simulator's address as a proxy, or it rate-limits every fan as one client:\n"
      "  BOXOFFICE_ADMIN_KEY=k boxoffice serve --data-dir DIR --trusted-proxies 127.0.0.1/32 \\\n"
      "      --gateway name=sim,url=http://127.0.0.1:9001,key=sk_test_boxoffice\n"
      "  BOXOFFICE_ADMIN_KEY=k boxoffice onsale --url http://127.0.0.1:8080 --fans 2000 \\\n"
      "      --gateway-sim http://127.0.0.1:9001 --report onsale.json --html onsale.html\n"
      "Adding --defense-allowlist 127.0.0.1/32 to the server lets the audit read every order\n"
      "with the operator key (the fans' own addresses stay limited as usual).\n\n"
      "Exit code: 0 when the run finished and the audit passed, 1 when the audit failed or the\n"
      "run could not start, 2 on bad options.");
  command.add_option("--url", options.url, "Base URL of the server")->capture_default_str();
  command
      .add_option("--operator-key-env", options.operator_key_env,
                  "Environment variable holding the operator key")
      ->capture_default_str();
  command.add_option("--operator-key-file", options.operator_key_file,
                     "File holding the operator key (beats the env; neither: data/admin.key)");
  command.add_option("--event", options.event_id,
                     "Run against this existing event instead of creating one");
  command.add_option("--fans", options.fans, "Fans to play")->capture_default_str();
  command.add_option("--seats", options.seats, "Seats of the event created (rows of 50)")
      ->capture_default_str();
  command
      .add_option("--admission-rate", options.admission_rate_per_s,
                  "The event's admissions per second")
      ->capture_default_str();
  command.add_option("--max-active", options.max_active, "The event's most fans shopping at once")
      ->capture_default_str();
  command.add_option("--per-order", options.per_order, "The event's limits.per_order (1..8)")
      ->capture_default_str();
  command.add_option("--policy", options.policy, "Queue policy: fifo or shuffle_prequeue")
      ->capture_default_str();
  command.add_option("--challenge", options.challenge, "defense.challenge: risk, off or always")
      ->capture_default_str();
  command.add_option("--hold-ttl-s", options.hold_ttl_s, "The event's hold_ttl_s (30..3600)")
      ->capture_default_str();
  command
      .add_option("--idle-release-s", options.idle_release_s,
                  "The event's queue.idle_release_s (10..86400)")
      ->capture_default_str();
  command
      .add_option("--poll-budget", options.poll_budget_per_s,
                  "The event's queue.poll_budget_per_s: status polls per second for the queue")
      ->capture_default_str();
  command
      .add_option("--prequeue-s", options.prequeue_s,
                  "The event opens this long after the run starts (its pre-queue)")
      ->capture_default_str();
  command
      .add_option("--prequeue-share", options.prequeue_share,
                  "Share of the fans who arrive before the opening")
      ->capture_default_str();
  command.add_option("--spike-s", options.spike_s, "Length of the arrival spike at the opening")
      ->capture_default_str();
  command.add_option("--tail-s", options.tail_s, "Length of the decaying tail after the spike")
      ->capture_default_str();
  command.add_option("--arrival", options.arrival, "Arrival shape: spike, uniform or ramp")
      ->capture_default_str();
  command
      .add_option("--stream-share", options.stream_share,
                  "Share of the fans who wait on the queue's event stream instead of polling")
      ->capture_default_str();
  command
      .add_option("--abandon-share", options.abandon_share,
                  "Share of the fans who abandon at each step")
      ->capture_default_str();
  command
      .add_option("--decline-share", options.decline_share,
                  "Share of the fans who pay with a declined card first")
      ->capture_default_str();
  command
      .add_option("--bot-share", options.bot_share,
                  "Share of the arrivals that are botsim's bots (five kinds)")
      ->capture_default_str();
  command
      .add_option("--think-scale", options.think_scale,
                  "Multiplies the fans' pauses between pages (0: none)")
      ->capture_default_str();
  command.add_option("--seed", options.seed, "Seeds the population and every fan's dice")
      ->capture_default_str();
  command.add_option("--connections", options.connections, "Keep-alive connections the fans share")
      ->capture_default_str();
  command
      .add_option("--duration-max-s", options.duration_max_s,
                  "The run stops then, whatever state it is in")
      ->capture_default_str();
  command.add_option("--gateway-sim", options.gateway_sim,
                     "The gateway simulator's base URL, for the payment audit");
  command.add_option("--report", options.report, "Write the JSON report to this file");
  command.add_option("--html", options.html, "Write the HTML report to this file");
  command.add_flag("--quiet", options.quiet, "No progress line; only the summary");
}

int RunOnsale(const OnsaleOptions& options) {
  if (!CheckOptions(options)) return 2;
  std::string why;
  const std::optional<OperatorKey> key = ReadOperatorKey(options, why);
  if (!key) {
    std::cerr << "onsale: " << why << "\n";
    return 1;
  }
  const Endpoint server = *ParseHttpUrl(options.url);
  asio::io_context io(1);
  tcp::resolver::results_type endpoints;
  std::optional<tcp::resolver::results_type> gateway;
  try {
    endpoints = tcp::resolver(io).resolve(server.host, server.port);
    if (!options.gateway_sim.empty()) {
      const Endpoint sim = *ParseHttpUrl(options.gateway_sim);
      gateway = tcp::resolver(io).resolve(sim.host, sim.port);
    }
  } catch (const std::exception& error) {
    std::cerr << "onsale: cannot resolve: " << error.what() << "\n";
    return 1;
  }
  const asio::any_io_executor executor = io.get_executor();
  Headers operator_headers;
  operator_headers.emplace_back("Authorization", "Bearer " + key->key);
  const Headers public_headers;

  // The server must answer before anything is created.
  const Reply ready =
      RunToEnd(io, Call(executor, endpoints, bhttp::verb::get, "/readyz", "", public_headers));
  if (ready.status != 200) {
    std::cerr << "onsale: the server at " << options.url << " is not ready: " << Why(ready) << "\n";
    return 1;
  }

  // The event: created with the on-sale --prequeue-s ahead, or an existing one.
  Reply event_reply;
  if (options.event_id.empty()) {
    const std::string onsale_at = options.prequeue_s > 0 ? OnsaleAt(options.prequeue_s) : "";
    event_reply =
        RunToEnd(io, Call(executor, endpoints, bhttp::verb::post, "/v1/events",
                          SerializeJson(EventDefinition(options, onsale_at)), operator_headers));
    if (event_reply.status != 201) {
      std::cerr << "onsale: POST /v1/events answered " << Why(event_reply)
                << (event_reply.status == 401 ? " (is " + key->source + " the server's key?)" : "")
                << "\n";
      return 1;
    }
  } else {
    event_reply = RunToEnd(io, Call(executor, endpoints, bhttp::verb::get,
                                    "/v1/events/" + options.event_id, "", public_headers));
    if (event_reply.status != 200) {
      std::cerr << "onsale: GET /v1/events/" << options.event_id << " answered " << Why(event_reply)
                << "\n";
      return 1;
    }
  }
  const std::optional<EventFacts> event =
      event_reply.Object() ? ReadEventFacts(*event_reply.Object()) : std::nullopt;
  if (!event) {
    std::cerr << "onsale: the event's answer is not an event: " << event_reply.body << "\n";
    return 1;
  }
  if (!event->queue_enabled && !options.quiet) {
    std::cerr << "onsale: the event's queue is disabled: fans are admitted as they join\n";
  }

  // What the audit compares with: sold seats and payment intents before the run.
  AuditInputs before;
  before.seed_sha256 = event->seed_sha256;
  const std::optional<json::object> stats_before = RunToEnd(
      io, ReadObject(executor, endpoints, "/v1/events/" + event->id + "/stats", operator_headers));
  if (!stats_before) {
    std::cerr << "onsale: GET /v1/events/" << event->id << "/stats does not answer with the key "
              << "from " << key->source << "\n";
    return 1;
  }
  ServerSample baseline;
  ReadStats(*stats_before, baseline);
  if (baseline.sold) before.sold_before = static_cast<std::uint64_t>(*baseline.sold);
  if (gateway) {
    const std::optional<json::object> records =
        RunToEnd(io, ReadObject(executor, *gateway, "/_sim/payment_intents", public_headers));
    if (!records) {
      std::cerr << "onsale: the gateway simulator at " << options.gateway_sim
                << " does not answer GET /_sim/payment_intents\n";
      return 1;
    }
    for (const PaymentIntent& intent : ParsePaymentIntents(*records)) {
      before.intents_before.push_back(intent.id);
    }
  }

  // The run.
  const double memory_before = ResidentBytes();
  const double cpu_before = ProcessCpuSeconds();
  const std::string started_at = FormatRfc3339(std::chrono::system_clock::now());
  const SteadyClock::time_point start = SteadyClock::now();
  double open_s = 0;
  if (event->onsale_at) {
    open_s = std::max(
        0.0, std::chrono::duration<double>(*event->onsale_at - std::chrono::system_clock::now())
                 .count());
  }
  if (!options.quiet) {
    std::fprintf(stderr, "onsale: event %s (%llu seats), %llu fans, opens in %.1f s\n",
                 event->id.c_str(), static_cast<unsigned long long>(event->seat_count),
                 static_cast<unsigned long long>(options.fans), open_s);
  }
  Crowd crowd(io, CrowdSetup{options, endpoints, key->key, *event, start, open_s});
  crowd.Run();
  const double sim_cpu_s = ProcessCpuSeconds() - cpu_before;
  const double memory_bytes = std::max(0.0, PeakResidentBytes() - memory_before);

  // The audit, then the report.
  const std::optional<double> sold_out_s = SoldOutAt(crowd);
  std::optional<double> all_knew_after_s;
  std::optional<std::uint64_t> seats_sold;
  const AuditResult audit = Audit(io, options, endpoints, gateway, key->key, *event, crowd, before,
                                  sold_out_s, all_knew_after_s, seats_sold);
  const json::object report =
      BuildReport(ReportInput{options, started_at, *event, crowd, audit, sold_out_s,
                              all_knew_after_s, seats_sold, sim_cpu_s, memory_bytes});
  std::fputs(SummaryText(report).c_str(), stdout);
  std::fflush(stdout);
  int exit_code = audit.passed() ? 0 : 1;
  if (!options.report.empty() &&
      !WriteFileAtomically(options.report, SerializeJson(report) + "\n")) {
    std::cerr << "onsale: cannot write " << options.report << "\n";
    exit_code = 1;
  }
  if (!options.html.empty() && !WriteFileAtomically(options.html, RenderOnsaleHtml(report))) {
    std::cerr << "onsale: cannot write " << options.html << "\n";
    exit_code = 1;
  }
  return exit_code;
}

}  // namespace boxoffice::tools
