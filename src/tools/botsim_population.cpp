#include "tools/botsim_population.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <random>

namespace boxoffice::tools::botsim {
namespace {

// ---------------------------------------------------------------------------------------------
// Who each agent is: headers, address, device, telemetry, rhythm. Drawn up front from the seed.

struct Browser {
  std::string user_agent;
  std::optional<std::string> sec_ch_ua;  // Chromium only
  std::optional<std::string> mobile;
  std::optional<std::string> platform;
};

Browser ChromeBrowser(int major, std::string_view os) {
  Browser browser;
  const std::string version = std::to_string(major);
  const bool android = os == "Android";
  const std::string system = os == "Windows" ? "Windows NT 10.0; Win64; x64"
                             : os == "macOS" ? "Macintosh; Intel Mac OS X 10_15_7"
                             : os == "Linux" ? "X11; Linux x86_64"
                                             : "Linux; Android 10; K";
  browser.user_agent = "Mozilla/5.0 (" + system +
                       ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + version + ".0.0.0 " +
                       (android ? "Mobile " : "") + "Safari/537.36";
  browser.sec_ch_ua = "\"Google Chrome\";v=\"" + version + "\", \"Chromium\";v=\"" + version +
                      "\", \"Not?A_Brand\";v=\"24\"";
  browser.mobile = android ? "?1" : "?0";
  browser.platform = "\"" + std::string(os) + "\"";
  return browser;
}

Browser SafariBrowser(bool iphone) {
  return {iphone ? "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
                   "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
                 : "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
                   "like Gecko) Version/17.1 Safari/605.1.15",
          {},
          {},
          {}};
}

Browser FirefoxBrowser(bool windows) {
  return {windows ? "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 "
                    "Firefox/120.0"
                  : "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
          {},
          {},
          {}};
}

constexpr std::string_view kLanguages[] = {"en-US,en;q=0.9", "en-GB,en;q=0.9",
                                           "de-DE,de;q=0.9,en;q=0.8", "fr-FR,fr;q=0.9",
                                           "es-ES,es;q=0.9,en;q=0.7"};

std::string HexId(std::mt19937_64& random, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < digits; ++i) out += kHex[random() & 15];
  return out;
}

std::string Address(int a, int b, int c, int d) {
  return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c) + "." +
         std::to_string(d);
}

void SetBrowser(AgentPlan& plan, const Browser& browser, std::string_view language) {
  plan.user_agent = browser.user_agent;
  plan.accept_language = std::string(language);
  plan.sec_ch_ua = browser.sec_ch_ua;
  plan.sec_ch_ua_mobile = browser.mobile;
  plan.sec_ch_ua_platform = browser.platform;
}

// The population's dice: one generator, drawn from in a fixed order, so that a seed always
// plans the same agents.
class Dice {
 public:
  explicit Dice(std::uint64_t seed) : random_(seed) {}
  double Uniform(double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(random_);
  }
  int Pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(random_); }
  std::string Hex(int digits) { return HexId(random_, digits); }
  std::mt19937_64& generator() { return random_; }

 private:
  std::mt19937_64 random_;
};

// Human `i`: mostly their own address in their own /24; one in ten behind a shared NAT address
// (a household, an office, a campus) with up to six others, which `nat` carries from one to the
// next.
struct SharedAddress {
  std::string address;
  int members = 0;
};

AgentPlan PlanHuman(unsigned i, Dice& dice, SharedAddress& nat) {
  AgentPlan plan;
  plan.kind = Kind::kHuman;
  if (i % 10 == 9) {
    if (nat.members == 0) {
      nat.address = Address(10, dice.Pick(0, 255), dice.Pick(0, 255), dice.Pick(1, 254));
    }
    plan.address = nat.address;
    nat.members = (nat.members + 1) % 7;
  } else {
    plan.address = Address(10, dice.Pick(0, 255), dice.Pick(0, 255), dice.Pick(1, 254));
  }
  const double browser = dice.Uniform(0, 1);
  const std::string_view language = kLanguages[dice.Pick(0, std::size(kLanguages) - 1)];
  if (browser < 0.45) {
    SetBrowser(plan, ChromeBrowser(dice.Pick(118, 121), dice.Chance(0.7) ? "Windows" : "macOS"),
               language);
  } else if (browser < 0.60) {
    SetBrowser(plan, ChromeBrowser(dice.Pick(118, 121), "Android"), language);
  } else if (browser < 0.82) {
    SetBrowser(plan, SafariBrowser(dice.Chance(0.6)), language);
  } else {
    SetBrowser(plan, FirefoxBrowser(dice.Chance(0.7)), language);
  }
  plan.device_id = "dev-" + dice.Hex(16);
  // 97% of pages report what their visitor did; 2% never report (a blocked script); 1% report
  // a visitor who has not touched anything yet (a kiosk, a screen reader's flow). Shares by
  // index, so that every run of 100 humans or more has each kind of page.
  const unsigned page = i % 100;
  if (page >= 3) {
    plan.telemetry = TelemetryPlan{
        dice.Pick(3, 300), dice.Pick(0, 40),
        static_cast<std::int64_t>(std::exp(dice.Uniform(std::log(500.0), std::log(5000.0))))};
  } else if (page == 2) {
    plan.telemetry = TelemetryPlan{0, 0, std::nullopt};
  }
  plan.rhythm = Rhythm{Rhythm::Shape::kLogNormal, 2.5, 0.9, 0.3};
  plan.reads_before_join = dice.Pick(2, 5);
  plan.solves_challenges = true;  // the ALTCHA widget in the page
  plan.seats = dice.Pick(1, 4);
  return plan;
}

// Naive scripts: an HTTP library's user agent, no Accept-Language, no telemetry, a fixed
// sleep, four sessions per address in a few data-centre /24s. Bot `i` of its kind.
AgentPlan PlanNaive(unsigned i) {
  AgentPlan naive;
  naive.kind = Kind::kNaive;
  static constexpr std::string_view kLibraries[] = {"python-requests/2.31.0", "curl/8.4.0",
                                                    "Go-http-client/1.1", "python-urllib3/2.0.7",
                                                    "axios/1.6.2"};
  naive.user_agent = std::string(kLibraries[i % std::size(kLibraries)]);
  naive.address = Address(198, 51, 100 + static_cast<int>(i / 4 / 250), 1 + (i / 4) % 250);
  naive.rhythm = Rhythm{Rhythm::Shape::kNormal, 1.0, 0.0, 0.001};
  naive.reads_before_join = 5;
  return naive;
}

// Header spoofing: Chrome's user agent and Accept-Language copied, but client hints missing
// (half) or contradicting the user agent (half), telemetry missing or faked instant, a
// regular rhythm; two sessions per address in four /24s. Bot `i` of its kind.
AgentPlan PlanSpoofing(unsigned i, Dice& dice) {
  AgentPlan spoof;
  spoof.kind = Kind::kSpoofing;
  Browser chrome = ChromeBrowser(120, "Windows");
  SetBrowser(spoof, chrome, "en-US,en;q=0.9");
  if (i % 2 == 0) {
    spoof.sec_ch_ua.reset();
    spoof.sec_ch_ua_mobile.reset();
    spoof.sec_ch_ua_platform.reset();
  } else if (i % 4 == 1) {
    spoof.sec_ch_ua = ChromeBrowser(110, "Windows").sec_ch_ua;  // another version
  } else {
    spoof.sec_ch_ua_platform = "\"macOS\"";  // another platform
  }
  if ((i / 2) % 2 == 1) spoof.telemetry = TelemetryPlan{1, 0, 12};
  if (dice.Chance(0.5)) spoof.device_id = "dev-" + dice.Hex(16);
  spoof.address = Address(203, 0, 113, 1 + static_cast<int>(i / 2) % 250);
  spoof.rhythm = Rhythm{Rhythm::Shape::kNormal, 0.8, 0.03, 0.001};
  spoof.reads_before_join = 4;
  return spoof;
}

// One fast address: a browser's headers copied whole, every session from one address,
// hammering with a short fixed sleep and no telemetry.
AgentPlan PlanFastAddress() {
  AgentPlan fast;
  fast.kind = Kind::kFastAddress;
  SetBrowser(fast, ChromeBrowser(120, "Windows"), "en-US,en;q=0.9");
  fast.address = "192.0.2.77";
  fast.rhythm = Rhythm{Rhythm::Shape::kNormal, 0.1, 0.02, 0.001};
  fast.reads_before_join = 6;
  return fast;
}

// Many slow rotating addresses (a residential proxy pool): each session its own address in
// its own /24, a browser's headers copied whole, slow and regular, no telemetry, half of them
// sharing one device id (the same fingerprint kit), half sending none. Bot `i` of its kind.
AgentPlan PlanRotating(unsigned i, Dice& dice) {
  AgentPlan rotating;
  rotating.kind = Kind::kRotating;
  SetBrowser(rotating, ChromeBrowser(119, "Windows"), "en-US,en;q=0.9");
  rotating.address = Address(100, 64 + dice.Pick(0, 63), dice.Pick(0, 255), dice.Pick(1, 254));
  if (i % 2 == 0) rotating.device_id = "dev-farm-0001";
  rotating.rhythm = Rhythm{Rhythm::Shape::kNormal, 3.0, 0.05, 0.001};
  rotating.reads_before_join = 4;
  return rotating;
}

// A headless browser in stealth mode: consistent browser headers, plausible telemetry,
// randomised sleeps, a new fingerprint per session, and it solves proofs of work. Bot `i` of its
// kind.
AgentPlan PlanHeadless(unsigned i, Dice& dice) {
  AgentPlan headless;
  headless.kind = Kind::kHeadless;
  SetBrowser(headless, ChromeBrowser(121, "Linux"), "en-US,en;q=0.9");
  headless.address =
      Address(172, 16 + static_cast<int>(i % 16), dice.Pick(0, 255), dice.Pick(1, 254));
  headless.device_id = "dev-" + dice.Hex(16);
  headless.telemetry = TelemetryPlan{dice.Pick(10, 40), dice.Pick(0, 5), dice.Pick(600, 1500)};
  headless.rhythm = Rhythm{Rhythm::Shape::kNormal, 1.5, 0.3, 0.05};
  headless.reads_before_join = 3;
  headless.solves_challenges = true;
  headless.seats = 4;
  return headless;
}

}  // namespace

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kHuman:
      return "human";
    case Kind::kNaive:
      return "naive";
    case Kind::kSpoofing:
      return "header_spoofing";
    case Kind::kFastAddress:
      return "fast_address";
    case Kind::kRotating:
      return "rotating";
    case Kind::kHeadless:
      return "headless";
  }
  return "human";
}

std::optional<Kind> ParseKind(std::string_view name) {
  for (Kind kind : kKinds) {
    if (KindName(kind) == name) return kind;
  }
  return std::nullopt;
}

std::vector<AgentPlan> PlanAgents(unsigned humans, unsigned bots, std::uint64_t seed,
                                  std::span<const Kind> bot_kinds) {
  std::vector<AgentPlan> plans = PlanAgents(humans, bots, seed);
  std::erase_if(plans, [&](const AgentPlan& plan) {
    return plan.kind != Kind::kHuman &&
           std::find(bot_kinds.begin(), bot_kinds.end(), plan.kind) == bot_kinds.end();
  });
  for (std::size_t i = 0; i < plans.size(); ++i) plans[i].index = i;
  return plans;
}

// The whole population, in the order the agents start (kinds interleaved at random).
std::vector<AgentPlan> PlanAgents(unsigned humans, unsigned bots, std::uint64_t seed) {
  Dice dice(seed);
  std::vector<AgentPlan> plans;
  SharedAddress nat;
  for (unsigned i = 0; i < humans; ++i) plans.push_back(PlanHuman(i, dice, nat));
  for (unsigned i = 0; i < bots; ++i) {
    plans.push_back(PlanNaive(i));
    plans.push_back(PlanSpoofing(i, dice));
    plans.push_back(PlanFastAddress());
    plans.push_back(PlanRotating(i, dice));
    plans.push_back(PlanHeadless(i, dice));
  }
  std::shuffle(plans.begin(), plans.end(), dice.generator());
  for (std::size_t i = 0; i < plans.size(); ++i) {
    plans[i].index = i;
    plans[i].seed = seed * 1'000'003 + i;
  }
  return plans;
}

}  // namespace boxoffice::tools::botsim
