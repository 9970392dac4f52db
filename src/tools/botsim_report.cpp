#include "tools/botsim_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "common/json_text.hpp"

namespace boxoffice::tools::botsim {
namespace {

namespace json = boost::json;

// The targets of issue 6.
constexpr double kTargetBotsStoppedMin = 0.99;  // naive and header-spoofing
constexpr double kTargetHumansChallengedMax = 0.02;

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

}  // namespace

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
  std::printf("botsim: seed %s, model %s, %.1f s\n", SerializeJson(run.at("seed")).c_str(),
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

}  // namespace boxoffice::tools::botsim
