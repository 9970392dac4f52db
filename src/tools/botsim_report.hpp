// botsim's report: per kind of client, how many were stopped, challenged and let through, and
// whether the bot defence met its targets (docs/defense.md).
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "tools/botsim.hpp"
#include "tools/botsim_agent.hpp"
#include "tools/botsim_population.hpp"

namespace boxoffice::tools::botsim {

// The kinds of bot in the run, in kKinds order.
boost::json::array BotKindNames(const std::vector<AgentPlan>& plans);

// The report of a run: `outcomes[i]` is how `plans[i]` ended.
boost::json::object Report(const BotsimOptions& options, const std::vector<AgentPlan>& plans,
                           const std::vector<AgentOutcome>& outcomes, const std::string& event_id,
                           const std::string& model_version, double duration_s);

// Prints a report's table and targets to stdout.
void PrintSummary(const boost::json::object& report);

}  // namespace boxoffice::tools::botsim
