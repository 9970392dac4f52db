#include "tools/sim_world.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/crypto.hpp"

namespace boxoffice::tools {
namespace {

SimOptions SmallWorld(std::uint64_t seed) {
  SimOptions options;
  options.seed = seed;
  options.steps = 400;
  return options;
}

std::string Violations(const SimResult& result) {
  std::string out;
  for (const std::string& violation : result.violations) out += violation + "\n";
  return out;
}

// A world with faults and crashes keeps every promise, and really was exercised: it sold
// seats, crashed, and its gateways failed.
TEST(SimulationTest, CrashingWorldKeepsItsPromises) {
  InitCrypto();
  SimOptions options = SmallWorld(7);
  options.fault_rate = 0.2;
  options.crashes = 5;
  const SimResult result = RunSimulation(options);
  EXPECT_TRUE(result.ok()) << Violations(result);
  EXPECT_GT(result.orders, 0u);
  EXPECT_GT(result.seats_sold, 0u);
  EXPECT_GT(result.gateway_faults, 0u);
  std::uint64_t crashes = 0;
  for (const auto& [point, count] : result.crashes) crashes += count;
  EXPECT_GT(crashes, 0u);
}

// One seed is one run: the same seed gives the same trace, another seed another one.
TEST(SimulationTest, SameSeedSameRun) {
  InitCrypto();
  const SimResult first = RunSimulation(SmallWorld(11));
  const SimResult again = RunSimulation(SmallWorld(11));
  const SimResult other = RunSimulation(SmallWorld(12));
  EXPECT_EQ(first.digest, again.digest);
  EXPECT_EQ(first.orders, again.orders);
  EXPECT_EQ(first.crashes, again.crashes);
  EXPECT_NE(first.digest, other.digest);
}

// The ids the server mints come from the seed's stream while a world runs, and from the system
// again after it.
TEST(SimulationTest, RandomnessIsTheSeedsOnlyDuringARun) {
  InitCrypto();
  UseDeterministicRandomness(5);
  const std::string first = RandomToken(16);
  UseDeterministicRandomness(5);
  EXPECT_EQ(RandomToken(16), first);
  UseSystemRandomness();
  EXPECT_NE(RandomToken(16), RandomToken(16));
}

// A crash-free world of seed 3 broken on purpose by `sabotage`: its violations, one per line.
std::string Sabotaged(SimSabotage sabotage) {
  InitCrypto();
  SimOptions options = SmallWorld(3);
  options.crashes = 0;
  options.sabotage = sabotage;
  return Violations(RunSimulation(options));
}

// Each check fails when what it guards is broken on purpose.
TEST(SimulationTest, ForgottenSaleIsCaught) {
  const std::string violations = Sabotaged(SimSabotage::kForgetSale);
  EXPECT_NE(violations.find("seat table vs ledger"), std::string::npos) << violations;
}

TEST(SimulationTest, SecondChargeIsCaught) {
  const std::string violations = Sabotaged(SimSabotage::kChargeTwice);
  EXPECT_NE(violations.find("charged twice"), std::string::npos) << violations;
  EXPECT_NE(violations.find("orphan charge"), std::string::npos) << violations;
}

}  // namespace
}  // namespace boxoffice::tools
