#include "tools/botsim_population.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "defense/risk.hpp"

namespace boxoffice::tools::botsim {
namespace {

// The features the server's own extractor reads from an agent's headers.
RiskFeatures HeaderFeatures(const AgentPlan& plan) {
  RequestSignals signals;
  signals.user_agent = plan.user_agent;
  signals.accept_language = plan.accept_language;
  signals.sec_ch_ua = plan.sec_ch_ua;
  signals.sec_ch_ua_mobile = plan.sec_ch_ua_mobile;
  signals.sec_ch_ua_platform = plan.sec_ch_ua_platform;
  RiskFeatures features{};
  ExtractHeaderFeatures(signals, features);
  return features;
}

std::string Prefix24(const std::string& address) { return address.substr(0, address.rfind('.')); }

std::map<Kind, std::vector<AgentPlan>> ByKind(const std::vector<AgentPlan>& plans) {
  std::map<Kind, std::vector<AgentPlan>> out;
  for (const AgentPlan& plan : plans) out[plan.kind].push_back(plan);
  return out;
}

// The same seed gives the same population, in the same order; another seed another one.
TEST(BotsimPopulationTest, SeedDecidesThePopulation) {
  const std::vector<AgentPlan> first = PlanAgents(200, 20, 7);
  const std::vector<AgentPlan> again = PlanAgents(200, 20, 7);
  const std::vector<AgentPlan> other = PlanAgents(200, 20, 8);
  ASSERT_EQ(first.size(), 300u);
  std::size_t same_as_other = 0;
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].index, i);
    EXPECT_EQ(first[i].kind, again[i].kind);
    EXPECT_EQ(first[i].address, again[i].address);
    EXPECT_EQ(first[i].user_agent, again[i].user_agent);
    EXPECT_EQ(first[i].seed, again[i].seed);
    same_as_other += first[i].kind == other[i].kind && first[i].address == other[i].address;
  }
  EXPECT_LT(same_as_other, 30u);
  const auto kinds = ByKind(first);
  EXPECT_EQ(kinds.at(Kind::kHuman).size(), 200u);
  for (Kind kind : kKinds) {
    if (kind != Kind::kHuman) {
      EXPECT_EQ(kinds.at(kind).size(), 20u) << KindName(kind);
    }
  }
}

// A run of some kinds of bot has exactly those agents of the full population, in its order.
TEST(BotsimPopulationTest, KindsKeepTheFullPopulationsAgents) {
  const std::vector<AgentPlan> full = PlanAgents(50, 10, 9);
  const Kind kept[] = {Kind::kNaive, Kind::kHeadless};
  const std::vector<AgentPlan> some = PlanAgents(50, 10, 9, kept);
  std::vector<const AgentPlan*> expected;
  for (const AgentPlan& plan : full) {
    if (plan.kind == Kind::kHuman || plan.kind == Kind::kNaive || plan.kind == Kind::kHeadless) {
      expected.push_back(&plan);
    }
  }
  ASSERT_EQ(some.size(), 70u);
  ASSERT_EQ(some.size(), expected.size());
  for (std::size_t i = 0; i < some.size(); ++i) {
    EXPECT_EQ(some[i].index, i);
    EXPECT_EQ(some[i].kind, expected[i]->kind);
    EXPECT_EQ(some[i].address, expected[i]->address);
    EXPECT_EQ(some[i].user_agent, expected[i]->user_agent);
    EXPECT_EQ(some[i].seed, expected[i]->seed);
  }
  EXPECT_EQ(ParseKind("header_spoofing"), Kind::kSpoofing);
  EXPECT_EQ(ParseKind("spoofing"), std::nullopt);
}

// Humans look like browsers to the server's own feature extractor, and the pages that post no
// telemetry or no interaction, and the shared NAT addresses, come in the documented shares.
TEST(BotsimPopulationTest, HumansAreConsistentBrowsersInTheDocumentedShares) {
  const std::vector<AgentPlan> humans = ByKind(PlanAgents(1000, 0, 3)).at(Kind::kHuman);
  std::size_t no_telemetry = 0, no_interaction = 0;
  std::map<std::string, int> per_address;
  for (const AgentPlan& plan : humans) {
    EXPECT_EQ(ClassifyUserAgent(plan.user_agent), UserAgentClass::kBrowser) << *plan.user_agent;
    const RiskFeatures features = HeaderFeatures(plan);
    EXPECT_EQ(features[kAcceptLanguageMissing], 0);
    EXPECT_EQ(features[kClientHintsInconsistent], 0) << *plan.user_agent;
    EXPECT_EQ(features[kClientHintsMissing], 0) << *plan.user_agent;
    EXPECT_FALSE(plan.device_id.empty());
    EXPECT_TRUE(plan.solves_challenges);
    EXPECT_EQ(plan.rhythm.shape, Rhythm::Shape::kLogNormal);
    if (!plan.telemetry) {
      ++no_telemetry;
    } else if (plan.telemetry->pointer_events + plan.telemetry->key_events == 0) {
      ++no_interaction;
    } else {
      EXPECT_GE(*plan.telemetry->first_interaction_ms, 500);
      EXPECT_LE(*plan.telemetry->first_interaction_ms, 5000);
    }
    ++per_address[plan.address];
  }
  EXPECT_EQ(no_telemetry, 20u);
  EXPECT_EQ(no_interaction, 10u);
  std::size_t behind_nat = 0;
  for (const auto& [address, count] : per_address) {
    EXPECT_LE(count, 8) << address;
    if (count > 1) behind_nat += count;
  }
  EXPECT_GE(behind_nat, 90u);   // one in ten...
  EXPECT_LE(behind_nat, 130u);  // ...plus the odd chance collision of random addresses
}

// Each bot kind carries the tells the docs give it, as the server's extractor sees them.
TEST(BotsimPopulationTest, BotKindsCarryTheirTells) {
  const auto kinds = ByKind(PlanAgents(0, 100, 5));

  std::map<std::string, int> naive_addresses;
  for (const AgentPlan& plan : kinds.at(Kind::kNaive)) {
    EXPECT_EQ(ClassifyUserAgent(plan.user_agent), UserAgentClass::kAutomation);
    EXPECT_EQ(HeaderFeatures(plan)[kAcceptLanguageMissing], 1);
    EXPECT_FALSE(plan.telemetry);
    EXPECT_EQ(plan.rhythm.spread, 0);
    EXPECT_FALSE(plan.solves_challenges);
    ++naive_addresses[plan.address];
  }
  for (const auto& [address, count] : naive_addresses) EXPECT_EQ(count, 4) << address;

  int hints_missing = 0, hints_inconsistent = 0;
  for (const AgentPlan& plan : kinds.at(Kind::kSpoofing)) {
    EXPECT_EQ(ClassifyUserAgent(plan.user_agent), UserAgentClass::kBrowser);
    const RiskFeatures features = HeaderFeatures(plan);
    EXPECT_EQ(features[kClientHintsMissing] + features[kClientHintsInconsistent], 1);
    hints_missing += features[kClientHintsMissing] == 1;
    hints_inconsistent += features[kClientHintsInconsistent] == 1;
    if (plan.telemetry) {
      EXPECT_LT(*plan.telemetry->first_interaction_ms, 150);
    }
    EXPECT_FALSE(plan.solves_challenges);
  }
  EXPECT_EQ(hints_missing, 50);
  EXPECT_EQ(hints_inconsistent, 50);

  std::set<std::string> fast_addresses;
  for (const AgentPlan& plan : kinds.at(Kind::kFastAddress)) {
    fast_addresses.insert(plan.address);
    EXPECT_EQ(HeaderFeatures(plan)[kClientHintsInconsistent], 0);
    EXPECT_FALSE(plan.telemetry);
  }
  EXPECT_EQ(fast_addresses.size(), 1u);

  std::set<std::string> rotating_prefixes;
  int shared_device = 0;
  for (const AgentPlan& plan : kinds.at(Kind::kRotating)) {
    rotating_prefixes.insert(Prefix24(plan.address));
    shared_device +=
        plan.device_id == kinds.at(Kind::kRotating).front().device_id && !plan.device_id.empty();
    EXPECT_FALSE(plan.telemetry);
  }
  EXPECT_GE(rotating_prefixes.size(), 95u);
  EXPECT_TRUE(shared_device == 50 || shared_device == 0);  // depends on who comes first
  int rotating_without_device = 0;
  for (const AgentPlan& plan : kinds.at(Kind::kRotating)) {
    rotating_without_device += plan.device_id.empty();
  }
  EXPECT_EQ(rotating_without_device, 50);

  for (const AgentPlan& plan : kinds.at(Kind::kHeadless)) {
    EXPECT_EQ(ClassifyUserAgent(plan.user_agent), UserAgentClass::kBrowser);
    const RiskFeatures features = HeaderFeatures(plan);
    EXPECT_EQ(features[kClientHintsInconsistent] + features[kClientHintsMissing], 0);
    ASSERT_TRUE(plan.telemetry);
    EXPECT_GE(*plan.telemetry->first_interaction_ms, 150);
    EXPECT_TRUE(plan.solves_challenges);
  }
}

}  // namespace
}  // namespace boxoffice::tools::botsim
