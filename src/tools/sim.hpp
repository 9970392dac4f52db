// `boxoffice sim`: runs the deterministic simulation (tools/sim_world.hpp) over a range of
// seeds, or for a while, and says which seeds broke which promise, each with the one command
// that replays it. The issue tracker calls it boxoffice-sim.
//
//   boxoffice sim --seeds 1-500                 # what `make test` runs (ctest sim.seeds)
//   boxoffice sim --seed 1234 --trace           # one seed, every step printed
//   boxoffice sim --duration-s 600 --report bench/results/sim.json   # `make sim`
//
// Exit status: 0 when every seed kept every promise, 1 when one did not (or, with
// --check-determinism, a seed ran twice differently), 2 for unusable options.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <ostream>
#include <string>

#include "tools/sim_world.hpp"

namespace boxoffice::tools {

struct SimCommandOptions {
  SimOptions world;       // world.seed: the first seed
  std::string seeds;      // "A-B" or "N"; empty: world.seed alone (or on, with duration)
  double duration_s = 0;  // > 0: run seeds from the first until this much time has passed
  bool check_determinism = false;
  bool trace = false;  // print every step of each seed run
  std::string report;  // a JSON summary is written here when set
};

void AddSimOptions(CLI::App& command, SimCommandOptions& options);
int RunSim(const SimCommandOptions& options, std::ostream& out);

}  // namespace boxoffice::tools
