#include "defense/defense.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include <boost/json/serialize.hpp>

#include "common/crypto.hpp"
#include "store/memory/memory_ledger.hpp"

namespace boxoffice {
namespace {

class DefenseTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void TearDown() override {
    defense_.reset();
    ledger_.reset();
  }
  void Reopen(std::string allowlist = "") {
    defense_.reset();
    ledger_.reset();
    ledger_ = std::make_unique<MemoryLedger>(data_);
    defense_ = std::make_unique<Defense>(
        *ledger_, clock_, DefenseOptions{4096, CidrList::Parse(allowlist).value(), true});
    ASSERT_TRUE(defense_->Load().ok());
  }
  Result<BlockEntry> Block(std::string_view cidr, std::optional<std::int64_t> ttl_s) {
    std::promise<Result<BlockEntry>> done;
    defense_->Block(cidr, "test", ttl_s, [&](Result<BlockEntry> e) { done.set_value(e); });
    return done.get_future().get();
  }
  Status Unblock(std::string_view cidr) {
    std::promise<Status> done;
    defense_->Unblock(cidr, [&](Status s) { done.set_value(s); });
    return done.get_future().get();
  }
  Result<CidrEntry> Allow(std::string_view cidr, std::optional<std::int64_t> ttl_s) {
    std::promise<Result<CidrEntry>> done;
    defense_->Allow(cidr, "test", ttl_s, [&](Result<CidrEntry> e) { done.set_value(e); });
    return done.get_future().get();
  }
  Status Disallow(std::string_view cidr) {
    std::promise<Status> done;
    defense_->Disallow(cidr, [&](Status s) { done.set_value(s); });
    return done.get_future().get();
  }
  // Whether `count` session creations in a burst from `address` all pass.
  bool BurstPasses(std::string_view address, int count = 100) {
    for (int i = 0; i < count; ++i) {
      if (!Request(RouteClass::kSessionCreate, address).ok()) return false;
    }
    return true;
  }
  Status Request(RouteClass route_class, std::string_view address, std::string_view session = {}) {
    return defense_->Check(RequestFacts{route_class, address, session, {}});
  }

  FakeClock clock_;
  std::unique_ptr<MemoryLedger> ledger_;
  // Outlives each ledger, so Reopen() is a restart on the same data.
  std::shared_ptr<MemoryLedgerData> data_ = MemoryLedger::NewData();
  std::unique_ptr<Defense> defense_;
};

// One address opening hundreds of sessions in a burst is stopped with a Retry-After.
TEST_F(DefenseTest, BurstOfSessionsFromOneAddressIsLimited) {
  int allowed = 0;
  Status last;
  for (int i = 0; i < 300; ++i) {
    last = Request(RouteClass::kSessionCreate, "198.51.100.7");
    if (last.ok()) ++allowed;
  }
  EXPECT_LE(allowed, 25);
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().code, "rate_limited");
  EXPECT_GE(last.error().retry_after_s, 1);
  // Another network is unaffected.
  EXPECT_TRUE(Request(RouteClass::kSessionCreate, "203.0.113.1").ok());
}

// Fans behind one NAT, each polling once a second, are never limited.
TEST_F(DefenseTest, FansPollingOnceASecondBehindANatAreNeverLimited) {
  constexpr int kFans = 40;
  for (int second = 0; second < 120; ++second) {
    for (int fan = 0; fan < kFans; ++fan) {
      ASSERT_TRUE(Request(RouteClass::kQueuePoll, "192.0.2.1", "ses_" + std::to_string(fan)).ok())
          << "second " << second << " fan " << fan;
    }
    clock_.Advance(std::chrono::seconds(1));
  }
}

// A session polling far faster than once a second is limited even from many addresses.
TEST_F(DefenseTest, SessionLimitFollowsTheSessionAcrossAddresses) {
  int refused = 0;
  for (int i = 0; i < 50; ++i) {
    if (!Request(RouteClass::kQueuePoll, "10.0." + std::to_string(i) + ".1", "ses_x").ok()) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 40);
}

// Blocks apply to the range, expire after ttl_s, can be removed, and survive a restart.
TEST_F(DefenseTest, BlocklistAddExpireRemoveAndPersist) {
  ASSERT_TRUE(Block("198.51.100.0/24", std::nullopt));
  ASSERT_TRUE(Block("203.0.113.9", 60));
  EXPECT_EQ(Request(RouteClass::kRead, "198.51.100.77").error().code, "blocked");
  EXPECT_EQ(Request(RouteClass::kRead, "203.0.113.9").error().code, "blocked");
  EXPECT_TRUE(Request(RouteClass::kRead, "198.51.101.1").ok());

  Reopen();
  EXPECT_EQ(defense_->Blocks().size(), 2u);
  EXPECT_EQ(Request(RouteClass::kRead, "198.51.100.77").error().code, "blocked");
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_TRUE(Request(RouteClass::kRead, "203.0.113.9").ok());
  EXPECT_EQ(defense_->Blocks().size(), 1u);

  ASSERT_TRUE(Unblock("198.51.100.0/24").ok());
  EXPECT_EQ(Unblock("198.51.100.0/24").error().code, "block_not_found");
  Reopen();
  EXPECT_TRUE(defense_->Blocks().empty());
  EXPECT_TRUE(Request(RouteClass::kRead, "198.51.100.77").ok());
}

// Bad ranges and ttl values are refused with the field named.
TEST_F(DefenseTest, RejectsInvalidBlocks) {
  EXPECT_EQ(Block("300.1.1.1/8", std::nullopt).error().kind, ErrorKind::kUnprocessable);
  EXPECT_EQ(Block("10.0.0.0/8", 0).error().code, "invalid_block");
}

// The allowlist skips rate limits, but an explicit block still wins.
TEST_F(DefenseTest, AllowlistSkipsLimitsButNotBlocks) {
  Reopen("127.0.0.0/8");
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(Request(RouteClass::kSessionCreate, "127.0.0.1").ok());
  ASSERT_TRUE(Block("127.0.0.1", std::nullopt));
  EXPECT_EQ(Request(RouteClass::kRead, "127.0.0.1").error().code, "blocked");
}

// Runtime allowlist entries skip rate limits like static ones, expire, can be removed, survive a
// restart, and are merged with the static list.
TEST_F(DefenseTest, RuntimeAllowlistAddExpireRemoveAndPersist) {
  Reopen("192.0.2.0/24");
  EXPECT_FALSE(BurstPasses("198.51.100.7"));
  ASSERT_TRUE(Allow("198.51.100.0/24", std::nullopt));
  ASSERT_TRUE(Allow("203.0.113.9", 60));
  EXPECT_TRUE(BurstPasses("198.51.100.8"));
  EXPECT_TRUE(BurstPasses("203.0.113.9"));
  EXPECT_TRUE(BurstPasses("192.0.2.1"));  // the static entry still counts

  Reopen("192.0.2.0/24");
  EXPECT_EQ(defense_->Allows().size(), 2u);
  EXPECT_TRUE(BurstPasses("198.51.100.9"));
  EXPECT_TRUE(BurstPasses("192.0.2.2"));
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_FALSE(BurstPasses("203.0.113.9"));
  EXPECT_EQ(defense_->Allows().size(), 1u);

  ASSERT_TRUE(Disallow("198.51.100.0/24").ok());
  EXPECT_EQ(Disallow("198.51.100.0/24").error().code, "allow_not_found");
  EXPECT_FALSE(BurstPasses("198.51.100.10"));
  Reopen();
  EXPECT_TRUE(defense_->Allows().empty());
  EXPECT_FALSE(BurstPasses("198.51.100.11"));
}

// The runtime allowlist never overrides a block, and refuses what the blocklist refuses.
TEST_F(DefenseTest, RuntimeAllowlistLosesToBlocksAndValidates) {
  ASSERT_TRUE(Allow("127.0.0.0/8", std::nullopt));
  ASSERT_TRUE(Block("127.0.0.1", std::nullopt));
  EXPECT_EQ(Request(RouteClass::kRead, "127.0.0.1").error().code, "blocked");
  EXPECT_EQ(Allow("10.0.0.0/33", std::nullopt).error().code, "invalid_cidr");
  EXPECT_EQ(Allow("10.0.0.0/8", 0).error().code, "invalid_allow");
  // The two lists are independent: removing an allow entry leaves the block.
  ASSERT_TRUE(Disallow("127.0.0.0/8").ok());
  EXPECT_EQ(defense_->Blocks().size(), 1u);
}

// Each list holds at most kBlocklistMax ranges.
TEST_F(DefenseTest, RuntimeAllowlistIsBounded) {
  // Queued without waiting for each write, so the ledger commits them in groups.
  std::atomic<std::size_t> durable{0};
  std::promise<void> all_durable;
  for (std::size_t i = 0; i < kBlocklistMax; ++i) {
    defense_->Allow("10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24", "",
                    std::nullopt, [&](Result<CidrEntry> entry) {
                      EXPECT_TRUE(entry.ok());
                      if (++durable == kBlocklistMax) all_durable.set_value();
                    });
  }
  all_durable.get_future().get();
  EXPECT_EQ(Allow("172.16.0.0/12", std::nullopt).error().code, "allowlist_full");
  // Replacing a listed range is not growth.
  EXPECT_TRUE(Allow("10.0.0.0/24", 30));
}

RequestSignals BrowserSignals() {
  RequestSignals signals;
  signals.user_agent =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 "
      "Safari/537.36";
  signals.accept_language = "fr-FR,fr;q=0.9";
  signals.sec_ch_ua = R"("Google Chrome";v="119", "Chromium";v="119", "Not?A_Brand";v="24")";
  signals.sec_ch_ua_mobile = "?0";
  signals.sec_ch_ua_platform = "\"Linux\"";
  return signals;
}

// What a page posts for a person who moved the pointer and typed before joining.
constexpr Telemetry kPersonsTelemetry{40, 6, 900};

RequestSignals ScriptSignals() {
  RequestSignals signals;
  signals.user_agent = "python-requests/2.31.0";
  return signals;
}

// The X-Altcha answer to the challenge in a `challenge_required` error, found by brute force.
std::string SolveFrom(const Status& status) {
  const boost::json::object& challenge = status.error().details.at("challenge").as_object();
  const std::string salt(challenge.at("salt").as_string());
  const std::string target(challenge.at("challenge").as_string());
  const std::uint64_t maxnumber = challenge.at("maxnumber").to_number<std::uint64_t>();
  for (std::uint64_t number = 0; number <= maxnumber; ++number) {
    if (Sha256Hex(salt + std::to_string(number)) == target) {
      const boost::json::object payload{{"algorithm", "SHA-256"},
                                        {"challenge", target},
                                        {"number", number},
                                        {"salt", salt},
                                        {"signature", challenge.at("signature")}};
      return Base64UrlEncode(boost::json::serialize(payload));
    }
  }
  ADD_FAILURE() << "unsolvable challenge";
  return {};
}

class ScreenTest : public DefenseTest {
 protected:
  Verdict Join(std::string_view address, std::string_view session, const RequestSignals& signals,
               ChallengePolicy policy, std::optional<std::string_view> altcha = std::nullopt) {
    return defense_->Screen(RequestFacts{RouteClass::kQueueJoin, address, session, {}}, signals,
                            policy, altcha);
  }
};

// `always`: a request without a solution gets a challenge; its solution passes once.
TEST_F(ScreenTest, AlwaysDemandsASolvedChallenge) {
  Verdict first = Join("198.51.100.1", "ses_a", BrowserSignals(), ChallengePolicy::kAlways);
  EXPECT_EQ(first.decision, Decision::kChallenged);
  ASSERT_FALSE(first.status.ok());
  EXPECT_EQ(first.status.error().code, "challenge_required");
  EXPECT_EQ(first.status.error().kind, ErrorKind::kForbidden);
  const std::string solution = SolveFrom(first.status);

  Verdict solved =
      Join("198.51.100.1", "ses_a", BrowserSignals(), ChallengePolicy::kAlways, solution);
  EXPECT_EQ(solved.decision, Decision::kChallengePassed);
  EXPECT_TRUE(solved.status.ok());

  Verdict replayed =
      Join("198.51.100.1", "ses_a", BrowserSignals(), ChallengePolicy::kAlways, solution);
  EXPECT_EQ(replayed.decision, Decision::kChallengeFailed);
  EXPECT_EQ(replayed.status.error().code, "challenge_required");
  EXPECT_EQ(replayed.status.error().details.at("reason"), "replayed");
  EXPECT_TRUE(replayed.status.error().details.contains("challenge"));  // a fresh one to solve
}

// `risk`: a browser passes untouched, a script is challenged, and `off` lets the script by.
TEST_F(ScreenTest, RiskChallengesScriptsNotBrowsers) {
  defense_->RecordTelemetry("ses_b", kPersonsTelemetry);
  Verdict browser = Join("198.51.100.2", "ses_b", BrowserSignals(), ChallengePolicy::kRisk);
  EXPECT_EQ(browser.decision, Decision::kAllowed);
  EXPECT_LT(browser.risk, RiskModel::Default().challenge_threshold());

  // Headers alone are not enough: an API client is let through...
  Verdict honest = Join("198.51.100.3", "ses_c", ScriptSignals(), ChallengePolicy::kRisk);
  EXPECT_EQ(honest.decision, Decision::kAllowed);
  EXPECT_GT(honest.risk, browser.risk);
  // ...until it keeps a metronome's rhythm.
  Verdict script;
  for (int i = 0; i < 8; ++i) {
    clock_.Advance(std::chrono::seconds(6));
    script = Join("198.51.100.3", "ses_c", ScriptSignals(), ChallengePolicy::kRisk);
  }
  EXPECT_EQ(script.decision, Decision::kChallenged) << script.risk << " " << script.reason;
  EXPECT_NE(script.reason.find("timing_regular"), std::string::npos) << script.reason;
  // A riskier client gets a harder challenge than the base.
  EXPECT_GT(script.status.error().details.at("challenge").at("maxnumber").to_number<double>(),
            50'000);

  for (int i = 0; i < 8; ++i) {
    script = Join("198.51.100.4", "ses_d", ScriptSignals(), ChallengePolicy::kOff);
    clock_.Advance(std::chrono::seconds(6));
  }
  EXPECT_EQ(script.decision, Decision::kAllowed);
  // Ungated routes are never challenged.
  EXPECT_EQ(Join("198.51.100.5", "ses_e", ScriptSignals(), ChallengePolicy::kNone).decision,
            Decision::kAllowed);
}

// A bot farm: 25 sessions of one device, each reading like a metronome, then all joining in a
// burst from one address. Over the block threshold, under any policy.
TEST_F(ScreenTest, RegularScriptIsRiskBlocked) {
  RequestSignals signals = ScriptSignals();
  signals.device_id = "dev_farm";
  const auto session = [](int i) { return "ses_f" + std::to_string(i); };
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 25; ++i) {
      defense_->Screen(RequestFacts{RouteClass::kRead, "198.51.100.6", session(i), {}}, signals,
                       ChallengePolicy::kNone, std::nullopt);
    }
    clock_.Advance(std::chrono::seconds(1));
  }
  Verdict verdict;
  for (int i = 0; i < 25; ++i) {
    verdict = Join("198.51.100.6", session(i), signals, ChallengePolicy::kOff);
  }
  EXPECT_EQ(verdict.decision, Decision::kRiskBlocked) << verdict.risk << " " << verdict.reason;
  EXPECT_EQ(verdict.status.error().code, "blocked");
  EXPECT_NE(verdict.reason.find("device_sessions"), std::string::npos) << verdict.reason;
}

// Chrome's user agent without Chrome's client hints, from a client whose page never posted
// telemetry: the headers were copied, and it is challenged. A consistent browser whose page did
// not report (a blocked script), the copied headers with a page's telemetry, and an API client
// that says what it is are all let through.
TEST_F(ScreenTest, CopiedBrowserHeadersWithoutThePagesTelemetryAreChallenged) {
  RequestSignals copied = BrowserSignals();
  copied.sec_ch_ua = copied.sec_ch_ua_mobile = copied.sec_ch_ua_platform = std::nullopt;
  const Verdict spoofed = Join("198.51.100.30", "ses_s1", copied, ChallengePolicy::kRisk);
  EXPECT_EQ(spoofed.decision, Decision::kChallenged) << spoofed.risk;
  EXPECT_NE(spoofed.reason.find("browser_without_telemetry"), std::string::npos) << spoofed.reason;

  EXPECT_EQ(Join("198.51.100.31", "ses_s2", BrowserSignals(), ChallengePolicy::kRisk).decision,
            Decision::kAllowed);
  defense_->RecordTelemetry("ses_s3", kPersonsTelemetry);
  EXPECT_EQ(Join("198.51.100.32", "ses_s3", copied, ChallengePolicy::kRisk).decision,
            Decision::kAllowed);
  EXPECT_EQ(Join("198.51.100.33", "ses_s4", ScriptSignals(), ChallengePolicy::kRisk).decision,
            Decision::kAllowed);
}

// Velocity is the limiter's fill: one address joining with many sessions in a burst raises the
// score, another address is unaffected.
TEST_F(ScreenTest, VelocityOfAnAddressRaisesTheScore) {
  for (int i = 0; i <= 25; ++i) {
    defense_->RecordTelemetry("ses_v" + std::to_string(i), kPersonsTelemetry);
  }
  defense_->RecordTelemetry("ses_w", kPersonsTelemetry);
  const double calm = Join("203.0.113.10", "ses_v0", BrowserSignals(), ChallengePolicy::kRisk).risk;
  Verdict busy;
  for (int i = 1; i <= 25; ++i) {
    busy =
        Join("203.0.113.11", "ses_v" + std::to_string(i), BrowserSignals(), ChallengePolicy::kRisk);
  }
  EXPECT_GT(busy.risk, calm * 2);
  EXPECT_EQ(Join("198.18.5.1", "ses_w", BrowserSignals(), ChallengePolicy::kRisk).risk, calm);
}

// Allowlisted clients skip the score, but an `always` event still challenges them.
TEST_F(ScreenTest, AllowlistSkipsRiskButNotAlways) {
  Reopen("127.0.0.0/8");
  EXPECT_EQ(Join("127.0.0.1", "ses_g", ScriptSignals(), ChallengePolicy::kRisk).decision,
            Decision::kAllowed);
  EXPECT_EQ(Join("127.0.0.1", "ses_g", ScriptSignals(), ChallengePolicy::kAlways).decision,
            Decision::kChallenged);
}

// Per-event counts add up every decision made for the event.
// Every scored request lands in the decision log with what the score read; unscored requests
// (ungated routes, allowlisted clients) do not.
TEST_F(ScreenTest, ScoredDecisionsAreLogged) {
  const auto screen = [&](std::string_view request_id, const RequestSignals& signals,
                          ChallengePolicy policy, std::string_view address = "198.51.100.20") {
    return defense_->Screen(
        RequestFacts{RouteClass::kQueueJoin, address, "ses_log", {}, request_id, "evt_log"},
        signals, policy, std::nullopt);
  };
  defense_->RecordTelemetry("ses_log", kPersonsTelemetry);
  screen("req-none", ScriptSignals(), ChallengePolicy::kNone);
  EXPECT_EQ(defense_->decision_log().After(0, 10).latest, 0u);

  const Verdict browser = screen("req-browser", BrowserSignals(), ChallengePolicy::kRisk);
  const Verdict always = screen("req-always", ScriptSignals(), ChallengePolicy::kAlways);
  ASSERT_EQ(always.decision, Decision::kChallenged);
  const DecisionLog::Page page = defense_->decision_log().After(0, 10);
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].request_id, "req-browser");
  EXPECT_EQ(page.items[0].event_id, "evt_log");
  EXPECT_EQ(page.items[0].client, "198.51.100.20");
  EXPECT_EQ(page.items[0].route_class, RouteClass::kQueueJoin);
  EXPECT_EQ(page.items[0].decision, Decision::kAllowed);
  EXPECT_DOUBLE_EQ(page.items[0].score, browser.risk);
  EXPECT_EQ(page.items[0].features[kUaAutomation], 0);
  EXPECT_EQ(page.items[0].at, clock_.Now());
  EXPECT_EQ(page.items[1].request_id, "req-always");
  EXPECT_EQ(page.items[1].decision, Decision::kChallenged);
  EXPECT_EQ(page.items[1].features[kUaAutomation], 1);
  EXPECT_EQ(page.items[1].features[kAcceptLanguageMissing], 1);
  EXPECT_DOUBLE_EQ(page.items[1].score, always.risk);
  EXPECT_EQ(page.items[1].sequence, page.items[0].sequence + 1);

  Reopen("203.0.113.0/24");
  screen("req-allowlisted", ScriptSignals(), ChallengePolicy::kRisk, "203.0.113.9");
  EXPECT_EQ(defense_->decision_log().After(0, 10).latest, 0u);
}

TEST_F(ScreenTest, CountsDecisionsPerEvent) {
  defense_->CountEventDecision("evt_1", Decision::kChallenged);
  defense_->CountEventDecision("evt_1", Decision::kChallenged);
  defense_->CountEventDecision("evt_1", Decision::kChallengePassed);
  defense_->CountEventDecision("evt_2", Decision::kRiskBlocked);
  const DecisionCounts one = defense_->EventDecisions("evt_1");
  EXPECT_EQ(one[static_cast<std::size_t>(Decision::kChallenged)], 2u);
  EXPECT_EQ(one[static_cast<std::size_t>(Decision::kChallengePassed)], 1u);
  EXPECT_EQ(one[static_cast<std::size_t>(Decision::kRiskBlocked)], 0u);
  EXPECT_EQ(defense_->EventDecisions("evt_none"), DecisionCounts{});
}

}  // namespace
}  // namespace boxoffice
