#include "tools/botsim.hpp"

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_text.hpp"
#include "defense/risk.hpp"
#include "defense/risk_training.hpp"
#include "tools/botsim_agent.hpp"
#include "tools/botsim_population.hpp"
#include "tools/botsim_report.hpp"
#include "tools/coroutine_frame_warning.hpp"
#include "tools/http_client.hpp"
#include "tools/report_file.hpp"

namespace boxoffice::tools {
namespace {

using botsim::AgentOutcome;
using botsim::AgentPlan;
using botsim::Kind;
using botsim::KindName;
using botsim::kKinds;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;
using tcp = asio::ip::tcp;

// Bounds.
constexpr std::int64_t kDecisionsPage = 1'000;
constexpr unsigned kAgentsMax = 1'000'000;
constexpr double kRampStepS = 0.01;  // between the starts of two workers

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
  for (int s = 1; s <= botsim::kEventSections; ++s) {
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
                           {"bot_kinds", botsim::BotKindNames(plans)},
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
  if (!WriteFileAtomically(path, text + "\n")) {
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

// What RunBotsim needs from its options, checked: the kinds of bot, the operator key, the server.
struct RunSetup {
  std::vector<Kind> bot_kinds;
  std::string operator_key;
  std::string host;
  std::string port;
};

// Checks the options; nullopt (after saying why on stderr) when they cannot make a run.
std::optional<RunSetup> CheckOptions(const BotsimOptions& options) {
  if (options.train && options.data_dir.empty()) {
    std::cerr << "botsim: --train needs --data-dir\n";
    return std::nullopt;
  }
  if (options.train && (options.humans == 0 || options.bots == 0)) {
    std::cerr << "botsim: --train needs humans and bots\n";
    return std::nullopt;
  }
  RunSetup setup;
  for (const std::string& name : options.bot_kinds) {
    const std::optional<Kind> kind = botsim::ParseKind(name);
    if (!kind || *kind == Kind::kHuman) {
      std::cerr << "botsim: --kinds: unknown kind of bot '" << name << "'\n";
      return std::nullopt;
    }
    setup.bot_kinds.push_back(*kind);
  }
  if (setup.bot_kinds.empty()) setup.bot_kinds.assign(kKinds.begin() + 1, kKinds.end());
  std::optional<std::string> key = ReadOperatorKey(options);
  if (!key) {
    std::cerr << "botsim: no operator key (set " << options.operator_key_env
              << " or --operator-key-file)\n";
    return std::nullopt;
  }
  setup.operator_key = std::move(*key);
  boost::system::result<boost::urls::url_view> url = boost::urls::parse_uri(options.url);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    std::cerr << "botsim: --url must be http://host:port\n";
    return std::nullopt;
  }
  setup.host = url->host();
  setup.port = url->has_port() ? std::string(url->port()) : "80";
  return setup;
}

// Runs every agent, `concurrency` at a time, as coroutines on `io`; returns the run's seconds.
double RunAgents(asio::io_context& io, botsim::Shared& shared, const std::vector<AgentPlan>& plans,
                 std::vector<AgentOutcome>& outcomes) {
  const auto started = SteadyClock::now();
  std::size_t next = 0;
  const unsigned workers = std::min<unsigned>(shared.options.concurrency, plans.size());
  for (unsigned w = 0; w < workers; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> awaitable<void> {
          // Arrivals ramp up rather than all at once: a simultaneous start would slow the
          // server's first answers and make every first agent's rhythm look irregular.
          co_await Sleep(w * kRampStepS);
          while (next < plans.size()) {
            const std::size_t index = next++;
            const auto agent_started = SteadyClock::now();
            botsim::Agent agent(shared, plans[index], outcomes[index], io.get_executor());
            co_await agent.Run();
            outcomes[index].seconds =
                std::chrono::duration<double>(SteadyClock::now() - agent_started).count();
          }
        },
        asio::detached);
  }
  io.restart();
  io.run();
  return std::chrono::duration<double>(SteadyClock::now() - started).count();
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
  const std::optional<RunSetup> setup = CheckOptions(options);
  if (!setup) return 2;
  asio::io_context io(1);
  asio::thread_pool solver(1);
  tcp::resolver::results_type endpoints;
  try {
    endpoints = tcp::resolver(io).resolve(setup->host, setup->port);
  } catch (const std::exception& error) {
    std::cerr << "botsim: cannot resolve " << setup->host << ": " << error.what() << "\n";
    return 1;
  }
  Connection operator_connection(io.get_executor(), endpoints);
  Operator op{operator_connection, setup->operator_key};

  // The event, and where the decision log stands before the run.
  const json::object definition = EventDefinition(options);
  Reply created = RunToEnd(io, op.Call(bhttp::verb::post, "/v1/events", SerializeJson(definition)));
  if (created.status != 201) {
    std::cerr << "botsim: POST /v1/events answered " << created.status << " " << created.body
              << "\n";
    return 1;
  }
  const std::string event_id = created.String("id");
  std::optional<Decisions> before = RunToEnd(io, FetchDecisions(op, 0, false));
  if (!before) return 1;

  const std::vector<AgentPlan> plans =
      botsim::PlanAgents(options.humans, options.bots, options.seed, setup->bot_kinds);
  std::vector<AgentOutcome> outcomes(plans.size());
  botsim::Shared shared{options, endpoints, event_id, "bs" + std::to_string(options.seed), solver};
  if (!options.quiet) {
    std::printf(
        "botsim: event %s, %zu agents (%u humans, %u bots of each of %zu kinds), model %s\n",
        event_id.c_str(), plans.size(), options.humans, options.bots, setup->bot_kinds.size(),
        before->model_version.c_str());
    std::fflush(stdout);
  }
  const double duration_s = RunAgents(io, shared, plans, outcomes);

  std::optional<Decisions> decisions = RunToEnd(io, FetchDecisions(op, before->latest, true));
  if (!decisions) return 1;
  json::object report =
      botsim::Report(options, plans, outcomes, event_id, decisions->model_version, duration_s);
  report["run"].as_object()["scored_decisions"] = decisions->items.size();
  botsim::PrintSummary(report);
  if (!options.report.empty() &&
      !WriteFileAtomically(options.report, SerializeJson(report) + "\n")) {
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
