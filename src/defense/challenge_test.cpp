#include "defense/challenge.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <functional>
#include <thread>
#include <vector>

#include "common/crypto.hpp"

namespace boxoffice {
namespace {

namespace json = boost::json;

constexpr std::string_view kSecret = "challenge-test-secret";

// Searches [0, maxnumber] the way an ALTCHA client does.
std::uint64_t Solve(const Challenge& challenge) {
  for (std::uint64_t number = 0; number <= challenge.maxnumber; ++number) {
    if (Sha256Hex(challenge.salt + std::to_string(number)) == challenge.challenge) return number;
  }
  ADD_FAILURE() << "no number in range solves the challenge";
  return 0;
}

// The X-Altcha header for a payload, standard base64 as a browser's btoa() writes it.
std::string Header(const Challenge& challenge, std::uint64_t number) {
  const json::object payload{{"algorithm", challenge.algorithm},
                             {"challenge", challenge.challenge},
                             {"number", number},
                             {"salt", challenge.salt},
                             {"signature", challenge.signature}};
  std::string url_safe = Base64UrlEncode(json::serialize(payload));
  for (char& c : url_safe) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (url_safe.size() % 4 != 0) url_safe += '=';
  return url_safe;
}

std::string Reason(const Status& status) {
  if (status.ok()) return "ok";
  EXPECT_EQ(status.error().code, "challenge_failed");
  return std::string(status.error().details.at("reason").as_string());
}

class ProofOfWorkTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  ProofOfWork pow_{kSecret, clock_, ChallengeOptions{.store_slots = 64}};
};

// The challenge has ALTCHA's shape: hex SHA-256, salt with expiry, hex HMAC-SHA-256 signature.
TEST_F(ProofOfWorkTest, IssuesAltchaShapedChallenges) {
  const Challenge challenge = pow_.IssueWithMaxnumber(1'000);
  EXPECT_EQ(challenge.algorithm, "SHA-256");
  EXPECT_EQ(challenge.challenge.size(), 64u);
  EXPECT_EQ(challenge.signature.size(), 64u);
  EXPECT_EQ(challenge.maxnumber, 1'000u);
  const std::int64_t expires = std::chrono::duration_cast<std::chrono::seconds>(
                                   (clock_.Now() + std::chrono::seconds(300)).time_since_epoch())
                                   .count();
  EXPECT_TRUE(challenge.salt.ends_with("?expires=" + std::to_string(expires))) << challenge.salt;
  const json::object rendered = ChallengeJson(challenge);
  for (const char* field : {"algorithm", "challenge", "salt", "signature", "maxnumber"}) {
    EXPECT_TRUE(rendered.contains(field)) << field;
  }
}

// A solved challenge verifies once; the same solution again is a replay.
TEST_F(ProofOfWorkTest, ValidSolutionPassesOnceThenReplayFails) {
  const Challenge challenge = pow_.IssueWithMaxnumber(2'000);
  const std::string header = Header(challenge, Solve(challenge));
  EXPECT_EQ(Reason(pow_.Verify(header)), "ok");
  EXPECT_EQ(Reason(pow_.Verify(header)), "replayed");
}

// SolveChallenge, the client side the simulator uses, finds the number and writes a header the
// server accepts; a challenge whose range holds no solution gives nothing.
TEST_F(ProofOfWorkTest, SolveChallengeProducesAnAcceptedHeader) {
  const Challenge challenge = pow_.IssueWithMaxnumber(3'000);
  const std::optional<std::string> header = SolveChallenge(challenge);
  ASSERT_TRUE(header);
  EXPECT_EQ(Reason(pow_.Verify(*header)), "ok");
  Challenge unsolvable = challenge;
  unsolvable.challenge = std::string(64, '0');
  EXPECT_FALSE(SolveChallenge(unsolvable));
}

// Only the number the server chose solves the challenge.
TEST_F(ProofOfWorkTest, WrongNumberFails) {
  const Challenge challenge = pow_.IssueWithMaxnumber(2'000);
  const std::uint64_t number = Solve(challenge);
  EXPECT_EQ(Reason(pow_.Verify(Header(challenge, number + 1))), "wrong_number");
  // The failed try did not use the challenge up.
  EXPECT_EQ(Reason(pow_.Verify(Header(challenge, number))), "ok");
}

// A solution after the expiry written in the salt fails; a forged later expiry breaks the hash.
TEST_F(ProofOfWorkTest, ExpiredChallengeFails) {
  const Challenge challenge = pow_.IssueWithMaxnumber(2'000);
  const std::uint64_t number = Solve(challenge);
  clock_.Advance(std::chrono::seconds(301));
  EXPECT_EQ(Reason(pow_.Verify(Header(challenge, number))), "expired");

  Challenge extended = challenge;
  extended.salt = challenge.salt.substr(0, challenge.salt.find('?')) + "?expires=9999999999";
  EXPECT_EQ(Reason(pow_.Verify(Header(extended, number))), "wrong_number");
}

// Digits moved from the number to the end of the salt keep SHA-256(salt + number) and multiply the
// expiry by ten or more: such a solution is refused, so none outlives the challenge's lifetime
// (found by fuzz/tokens_fuzzer.cpp; before the fix it verified, expiring centuries later).
TEST_F(ProofOfWorkTest, SpliceIntoTheSaltCannotExtendTheExpiry) {
  Challenge challenge;
  std::uint64_t number = 0;
  do {  // a number whose second digit is not 0, so that its tail is a number on its own
    challenge = pow_.IssueWithMaxnumber(5'000);
    number = Solve(challenge);
  } while (number < 10 || std::to_string(number)[1] == '0');
  const std::string digits = std::to_string(number);
  Challenge spliced = challenge;
  spliced.salt += digits.substr(0, 1);
  const std::uint64_t rest = std::stoull(digits.substr(1));
  ASSERT_EQ(Sha256Hex(spliced.salt + std::to_string(rest)), challenge.challenge);
  EXPECT_EQ(Reason(pow_.Verify(Header(spliced, rest))), "malformed");
  clock_.Advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(Reason(pow_.Verify(Header(spliced, rest))), "malformed");
  // The solution as issued is still good (until it expires).
  clock_.Set(FakeClock().Now());
  EXPECT_EQ(Reason(pow_.Verify(Header(challenge, number))), "ok");
}

// The X-Altcha payload of `header`, changed by `edit`, as a header again.
std::string Edited(const std::string& header, const std::function<void(json::object&)>& edit) {
  std::string url_safe = header;
  for (char& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!url_safe.empty() && url_safe.back() == '=') url_safe.pop_back();
  json::object payload = json::parse(Base64UrlDecode(url_safe).value()).as_object();
  edit(payload);
  std::string out = Base64UrlEncode(json::serialize(payload));
  for (char& c : out) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (out.size() % 4 != 0) out += '=';
  return out;
}

json::object& ParametersIn(json::object& payload) {
  return payload["challenge"].as_object()["parameters"].as_object();
}

// ALTCHA's v2 shape: the parameters altcha-lib signs, in canonical order, a 3-digit prefix and
// the SHA-256 rounds that make the work that of a v1 challenge of the same maxnumber.
TEST_F(ProofOfWorkTest, IssuesV2ChallengesOfTheSameWork) {
  const ChallengeV2 challenge = pow_.IssueV2WithMaxnumber(50'000);
  EXPECT_EQ(challenge.key_prefix, "000");
  EXPECT_EQ(challenge.cost, 6u);  // 4,096 attempts of 6 rounds: ~24,600 hashes, as v1's 25,000
  EXPECT_EQ(challenge.nonce.size(), 32u);
  EXPECT_EQ(challenge.salt.size(), 32u);
  EXPECT_EQ(challenge.signature.size(), 64u);
  const std::int64_t expires = std::chrono::duration_cast<std::chrono::seconds>(
                                   (clock_.Now() + std::chrono::seconds(300)).time_since_epoch())
                                   .count();
  EXPECT_EQ(CanonicalParameters(challenge),
            R"({"algorithm":"SHA-256","cost":6,"expiresAt":)" + std::to_string(expires) +
                R"(,"keyLength":32,"keyPrefix":"000","nonce":")" + challenge.nonce +
                R"(","salt":")" + challenge.salt + R"("})");
  EXPECT_EQ(json::serialize(ChallengeV2Json(challenge)),
            R"({"parameters":)" + CanonicalParameters(challenge) + R"(,"signature":")" +
                challenge.signature + R"("})");
  EXPECT_EQ(pow_.IssueV2WithMaxnumber(1).cost, 1u);
  EXPECT_EQ(pow_.IssueV2WithMaxnumber(1'000'000).cost, 122u);
}

// A v2 solution verifies once; a replay, a changed parameter, an added one, a wrong counter and
// an expired challenge all fail, and a failure does not use the challenge up.
TEST_F(ProofOfWorkTest, V2SolutionPassesOnceAndEveryForgeryFails) {
  const ChallengeV2 challenge = pow_.IssueV2WithMaxnumber(4'000);
  const std::optional<std::string> header = SolveChallengeV2(challenge);
  ASSERT_TRUE(header);
  EXPECT_EQ(Reason(pow_.Verify(Edited(
                *header, [](json::object& payload) { ParametersIn(payload)["keyPrefix"] = "0"; }))),
            "bad_signature");
  EXPECT_EQ(Reason(pow_.Verify(Edited(*header,
                                      [](json::object& payload) {
                                        ParametersIn(payload)["expiresAt"] = 9'999'999'999;
                                      }))),
            "bad_signature");
  EXPECT_EQ(Reason(pow_.Verify(Edited(
                *header, [](json::object& payload) { ParametersIn(payload)["data"] = "extra"; }))),
            "malformed");
  EXPECT_EQ(Reason(pow_.Verify(Edited(*header,
                                      [](json::object& payload) {
                                        json::object& solution = payload["solution"].as_object();
                                        solution["counter"] = solution["counter"].as_int64() + 1;
                                      }))),
            "wrong_number");
  EXPECT_EQ(Reason(pow_.Verify(Edited(*header,
                                      [](json::object& payload) {
                                        payload["solution"].as_object()["derivedKey"] =
                                            std::string(64, '0');
                                      }))),
            "wrong_number");
  EXPECT_EQ(Reason(pow_.Verify(Edited(*header,
                                      [](json::object& payload) {
                                        payload["challenge"].as_object()["signature"] =
                                            std::string(64, 'a');
                                      }))),
            "bad_signature");
  EXPECT_EQ(Reason(pow_.Verify(*header)), "ok");
  EXPECT_EQ(Reason(pow_.Verify(*header)), "replayed");

  const ChallengeV2 later = pow_.IssueV2WithMaxnumber(4'000);
  const std::optional<std::string> late = SolveChallengeV2(later);
  ASSERT_TRUE(late);
  clock_.Advance(std::chrono::seconds(301));
  EXPECT_EQ(Reason(pow_.Verify(*late)), "expired");
}

// A challenge not signed with this server's key fails, whatever its number.
TEST_F(ProofOfWorkTest, BadSignatureFails) {
  const Challenge challenge = pow_.IssueWithMaxnumber(2'000);
  const std::uint64_t number = Solve(challenge);

  Challenge tampered = challenge;
  tampered.signature[0] = tampered.signature[0] == '0' ? '1' : '0';
  EXPECT_EQ(Reason(pow_.Verify(Header(tampered, number))), "bad_signature");

  // A challenge of the attacker's own making (trivially solved) with a signature it cannot make.
  Challenge forged = challenge;
  forged.salt = "00?expires=9999999999";
  forged.challenge = Sha256Hex(forged.salt + "0");
  EXPECT_EQ(Reason(pow_.Verify(Header(forged, 0))), "bad_signature");

  // Another server's key.
  ProofOfWork other("another-secret", clock_);
  const Challenge theirs = other.IssueWithMaxnumber(100);
  EXPECT_EQ(Reason(pow_.Verify(Header(theirs, Solve(theirs)))), "bad_signature");
}

// After a key rotation (the new secret first), a challenge handed out under the old key can still
// be solved; new challenges are signed with the new key, which the old ring does not know; a
// retired key's challenges fail.
TEST_F(ProofOfWorkTest, ChallengesOfARotatedKeyStillVerify) {
  const Challenge before = pow_.IssueWithMaxnumber(100);
  ProofOfWork rotated(std::vector<std::string>{"newer-secret", std::string(kSecret)}, clock_);
  EXPECT_EQ(Reason(rotated.Verify(Header(before, Solve(before)))), "ok");
  const Challenge after = rotated.IssueWithMaxnumber(100);
  EXPECT_EQ(Reason(pow_.Verify(Header(after, Solve(after)))), "bad_signature");
  ProofOfWork retired("newer-secret", clock_);
  const Challenge again = pow_.IssueWithMaxnumber(100);
  EXPECT_EQ(Reason(retired.Verify(Header(again, Solve(again)))), "bad_signature");
  EXPECT_EQ(Reason(retired.Verify(Header(after, Solve(after)))), "ok");
}

// Garbage headers fail as malformed, never crash.
TEST_F(ProofOfWorkTest, MalformedHeadersFail) {
  for (const std::string& header :
       {std::string(), std::string("not base64!"), Base64UrlEncode("{}"), Base64UrlEncode("[1,2]"),
        Base64UrlEncode("{\"algorithm\":\"SHA-1\"}"),
        std::string(kAltchaHeaderMaxBytes + 1, 'A')}) {
    EXPECT_EQ(Reason(pow_.Verify(header)), "malformed") << header.substr(0, 40);
  }
}

// The store of used solutions is bounded: when full of unexpired entries it refuses (never
// forgets one early), and slots come back as their challenges expire.
TEST_F(ProofOfWorkTest, UsedSolutionStoreIsBounded) {
  ProofOfWork small(kSecret, clock_, ChallengeOptions{.store_slots = 8});
  std::vector<std::string> used;
  int full = 0;
  for (int i = 0; i < 40; ++i) {
    const Challenge challenge = small.IssueWithMaxnumber(50);
    const std::string header = Header(challenge, Solve(challenge));
    const std::string reason = Reason(small.Verify(header));
    if (reason == "ok") used.push_back(header);
    if (reason == "store_full") ++full;
  }
  EXPECT_EQ(used.size(), 8u);
  EXPECT_EQ(full, 32);
  for (const std::string& header : used) EXPECT_EQ(Reason(small.Verify(header)), "replayed");

  clock_.Advance(std::chrono::seconds(301));  // every used challenge has expired
  const Challenge fresh = small.IssueWithMaxnumber(50);
  EXPECT_EQ(Reason(small.Verify(Header(fresh, Solve(fresh)))), "ok");
  // An expired solution is refused for its expiry, not remembered forever.
  EXPECT_EQ(Reason(small.Verify(used.front())), "expired");
}

// Difficulty rises with risk and with load, within the cap.
TEST_F(ProofOfWorkTest, DifficultyRisesWithRiskAndLoad) {
  const ChallengeOptions options;
  EXPECT_EQ(ChallengeDifficulty(options, 0, 0), options.maxnumber_base);
  EXPECT_GT(ChallengeDifficulty(options, 0.8, 0), ChallengeDifficulty(options, 0.2, 0));
  EXPECT_GT(ChallengeDifficulty(options, 0.2, 0.5), ChallengeDifficulty(options, 0.2, 0));
  EXPECT_EQ(ChallengeDifficulty(options, 1, 1), options.maxnumber_max);

  ProofOfWork loaded(kSecret, clock_, ChallengeOptions{.high_load_per_s = 10});
  EXPECT_EQ(loaded.Load(), 0);
  EXPECT_EQ(loaded.Issue(0).maxnumber, 50'000u);
  for (int i = 0; i < 500; ++i) loaded.Issue(0);
  EXPECT_GT(loaded.Load(), 0.9);
  EXPECT_GT(loaded.Issue(0).maxnumber, 200'000u);
  clock_.Advance(std::chrono::seconds(120));  // the burst decays
  EXPECT_LT(loaded.Load(), 0.01);
}

// Many threads sending the same solution at once: exactly one passes (the consumption is
// atomic), the others see a replay.
TEST_F(ProofOfWorkTest, ConcurrentReplaysPassExactlyOnce) {
  constexpr int kThreads = 8;
  ProofOfWork pow(kSecret, clock_);  // the default store: room for every round
  for (int round = 0; round < 20; ++round) {
    const Challenge challenge = pow.IssueWithMaxnumber(200);
    const std::string header = Header(challenge, Solve(challenge));
    std::atomic<int> passed{0};
    std::atomic<int> replayed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        const Status status = pow.Verify(header);
        if (status.ok()) {
          ++passed;
        } else if (status.error().details.at("reason") == "replayed") {
          ++replayed;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(passed.load(), 1);
    EXPECT_EQ(replayed.load(), kThreads - 1);
  }
}

// Challenges stay verifiable across a restart (the key comes from the server secret).
TEST_F(ProofOfWorkTest, SameSecretVerifiesAfterRestart) {
  const Challenge challenge = pow_.IssueWithMaxnumber(500);
  ProofOfWork restarted(kSecret, clock_);
  EXPECT_EQ(Reason(restarted.Verify(Header(challenge, Solve(challenge)))), "ok");
}

}  // namespace
}  // namespace boxoffice
