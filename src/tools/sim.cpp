#include "tools/sim.hpp"

#include <boost/json/object.hpp>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>

#include "common/json_text.hpp"
#include "tools/report_file.hpp"

namespace boxoffice::tools {
namespace {

struct SeedRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

std::optional<std::uint64_t> ParseSeed(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<SeedRange> ParseSeedRange(std::string_view text) {
  const std::size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    const std::optional<std::uint64_t> seed = ParseSeed(text);
    if (!seed) return std::nullopt;
    return SeedRange{*seed, *seed};
  }
  const std::optional<std::uint64_t> first = ParseSeed(text.substr(0, dash));
  const std::optional<std::uint64_t> last = ParseSeed(text.substr(dash + 1));
  if (!first || !last || *last < *first) return std::nullopt;
  return SeedRange{*first, *last};
}

// The command that replays one seed exactly as it ran.
std::string ReplayCommand(const SimOptions& world) {
  return "build/boxoffice sim --seed " + std::to_string(world.seed) + " --fans " +
         std::to_string(world.fans) + " --seats " + std::to_string(world.seats) + " --steps " +
         std::to_string(world.steps) + " --fault-rate " + std::to_string(world.fault_rate) +
         " --crashes " + std::to_string(world.crashes) + " --trace";
}

}  // namespace

void AddSimOptions(CLI::App& command, SimCommandOptions& options) {
  command
      .add_option("--seed", options.world.seed, "The seed to run (the first, with --duration-s)")
      ->capture_default_str();
  CLI::Option* seeds =
      command.add_option("--seeds", options.seeds, "A range of seeds to run, A-B (or one, N)");
  command
      .add_option("--duration-s", options.duration_s,
                  "Run seeds one after another from --seed until this many seconds passed")
      ->check(CLI::Range(0.0, 7 * 24 * 3600.0))
      ->excludes(seeds);
  command.add_option("--fans", options.world.fans, "Fans per world")
      ->check(CLI::Range(1u, 10'000u))
      ->capture_default_str();
  command.add_option("--seats", options.world.seats, "Seats of the world's event")
      ->check(CLI::Range(2u, 10'000u))
      ->capture_default_str();
  command.add_option("--steps", options.world.steps, "Steps per world")
      ->check(CLI::Range(1u, 10'000'000u))
      ->capture_default_str();
  command
      .add_option("--fault-rate", options.world.fault_rate,
                  "Share (0..1) of gateway calls that fail, time out or lose their reply")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  command.add_option("--crashes", options.world.crashes, "Crashes armed per world, at most")
      ->check(CLI::Range(0u, 1'000u))
      ->capture_default_str();
  command.add_flag("--check-determinism", options.check_determinism,
                   "Run every seed twice and fail when the two runs differ");
  command.add_flag("--trace", options.trace, "Print every step of every world");
  command.add_option("--report", options.report, "Write a JSON summary of the run here");
}

int RunSim(const SimCommandOptions& options, std::ostream& out) {
  SeedRange range{options.world.seed, options.world.seed};
  if (!options.seeds.empty()) {
    const std::optional<SeedRange> parsed = ParseSeedRange(options.seeds);
    if (!parsed) {
      out << "boxoffice sim: --seeds wants A-B with A <= B (or one seed), not '" << options.seeds
          << "'\n";
      return 2;
    }
    range = *parsed;
  }
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [&started] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const bool timed = options.duration_s > 0;

  std::uint64_t seeds_run = 0, faults = 0, effects = 0, orders = 0, seats_sold = 0, payments = 0,
                forgotten = 0;
  std::map<std::string, std::uint64_t> crashes;
  boost::json::array failed;
  for (std::uint64_t seed = range.first;
       timed ? elapsed() < options.duration_s : seed <= range.last; ++seed) {
    SimOptions world = options.world;
    world.seed = seed;
    world.keep_trace = options.trace;
    SimResult result = RunSimulation(world);
    ++seeds_run;
    faults += result.gateway_faults;
    effects += result.effects;
    orders += result.orders;
    seats_sold += result.seats_sold;
    payments += result.payments;
    forgotten += result.admissions_forgotten;
    for (const auto& [point, count] : result.crashes) crashes[point] += count;
    if (options.trace) {
      for (const std::string& line : result.trace) out << "seed " << seed << ": " << line << "\n";
    }
    std::vector<std::string> problems = result.violations;
    if (options.check_determinism) {
      const SimResult again = RunSimulation(world);
      if (again.digest != result.digest) {
        problems.push_back("nondeterminism: the seed ran twice with digests " + result.digest +
                           " and " + again.digest);
      }
    }
    if (!problems.empty()) {
      out << "seed " << seed << " FAILED:\n";
      for (const std::string& problem : problems) out << "  " << problem << "\n";
      out << "  replay: " << ReplayCommand(world) << "\n";
      boost::json::array listed;
      for (const std::string& problem : problems) listed.emplace_back(problem);
      failed.push_back(boost::json::object{
          {"seed", seed}, {"violations", std::move(listed)}, {"replay", ReplayCommand(world)}});
    }
    if (seed == UINT64_MAX) break;
  }

  boost::json::object by_point;
  std::uint64_t crash_total = 0;
  for (const auto& [point, count] : crashes) {
    by_point[point] = count;
    crash_total += count;
  }
  out << "boxoffice sim: " << seeds_run << " seeds, " << failed.size() << " failed; " << crash_total
      << " crashes at " << crashes.size() << " kinds of effect, " << faults << " gateway faults, "
      << orders << " orders, " << forgotten << " admissions forgotten by a restart, " << elapsed()
      << " s\n";
  if (!options.report.empty()) {
    boost::json::object report{
        {"seeds_run", seeds_run},
        {"first_seed", range.first},
        {"failed", failed},
        {"fans_per_world", options.world.fans},
        {"seats_per_world", options.world.seats},
        {"steps_per_world", options.world.steps},
        {"fault_rate", options.world.fault_rate},
        {"gateway_faults", faults},
        {"durable_effects", effects},
        {"crashes", crash_total},
        {"crashes_by_point", std::move(by_point)},
        {"orders", orders},
        {"seats_sold", seats_sold},
        {"payments", payments},
        {"admissions_forgotten", forgotten},
        {"determinism_checked", options.check_determinism},
        {"elapsed_s", elapsed()},
    };
    if (!WriteFileAtomically(options.report, SerializeJson(report) + "\n")) {
      out << "boxoffice sim: cannot write the report to " << options.report << "\n";
      return 1;
    }
  }
  return failed.empty() ? 0 : 1;
}

}  // namespace boxoffice::tools
