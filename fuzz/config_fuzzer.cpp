// The configuration of `boxoffice serve` (src/app/config.cpp): the config file as CLI11 reads it
// into the options AddServeOptions declares (every validator of every option runs), what
// ToServerOptions and ParseGateways then make of the values, and the gateway specs and the
// address lists on their own.
//
// Input: a selector byte, then the text.
//   'a' a config file ("key = value" lines), then ToServerOptions and ParseGateways
//   'b' gateway specs separated by ';' (BOXOFFICE_GATEWAYS); an error never repeats the secret
//   'c' the value of --listen, --trusted-proxies or --cors-origins
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.hpp"
#include "common/cidr.hpp"
#include "common/listen_address.hpp"
#include "common/text.hpp"
#include "fuzz_input.hpp"
#include "http/cors.hpp"

namespace {

using namespace boxoffice;

void ConfigFile(std::string_view text) {
  // A `config = FILE` line would make CLI11 read that file (say /dev/zero): the harness is not
  // about the files on this machine.
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("config") != std::string::npos) return;

  CLI::App command{"fuzz"};
  app::ServeConfig config;
  app::AddServeOptions(command, config);
  std::istringstream stream{std::string(text)};
  try {
    command.parse_from_stream(stream);
  } catch (const CLI::ParseError&) {
    return;  // what main() reports and exits on
  }
  const Result<http::ServerOptions> options = app::ToServerOptions(config);
  if (options) {
    FUZZ_EXPECT(CidrList::Parse(options->trusted_proxies).ok());
    FUZZ_EXPECT(http::CorsPolicy::Parse(options->cors_origins).ok());
  }
  const Result<std::vector<app::GatewayConfig>> gateways = app::ParseGateways(config.gateways);
  if (gateways) FUZZ_EXPECT(gateways->size() <= config.gateways.size());
}

// The secret of a spec's `key=` setting, when the spec holds it exactly once (a secret that is
// also the gateway's name may well appear in a message as the name) and it has no blanks.
std::optional<std::string> Secret(std::string_view spec) {
  const std::size_t at = spec.find("key=");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view value = spec.substr(at + 4);
  value = TrimBlanks(value.substr(0, value.find(',')));
  if (value.size() < 6 || value.find_first_of(" \t\r\n") != std::string_view::npos) {
    return std::nullopt;
  }
  if (spec.find(value) != spec.rfind(value)) return std::nullopt;
  return std::string(value);
}

std::size_t Occurrences(std::string_view text, std::string_view word) {
  std::size_t count = 0;
  for (std::size_t at = text.find(word); at != std::string_view::npos;
       at = text.find(word, at + 1)) {
    ++count;
  }
  return count;
}

// An error about `spec` repeats its secret when the secret shows in the message more often than
// a stand-in of the same length does in the message about the spec holding the stand-in instead
// (a secret such as "separated" is also a word of the messages' own text).
bool RepeatsSecret(const std::string& spec, const std::string& message, const std::string& secret) {
  const std::string stand_in(secret.size(), 'Q');
  std::string other = spec;
  other.replace(other.find(secret), secret.size(), stand_in);
  const Result<app::GatewayConfig> again = app::ParseGatewaySpec(other);
  const std::string other_message = again ? std::string() : again.error().message;
  return Occurrences(message, secret) > Occurrences(other_message, secret);
}

void GatewaySpecs(std::string_view text) {
  std::vector<std::string> specs;
  for (std::string_view rest = text; !rest.empty();) {
    const std::size_t semicolon = rest.find(';');
    specs.emplace_back(rest.substr(0, semicolon));
    rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
  }
  for (const std::string& spec : specs) {
    const Result<app::GatewayConfig> gateway = app::ParseGatewaySpec(spec);
    if (gateway) {
      FUZZ_EXPECT(!gateway->name.empty() && gateway->name.size() <= 32);
      FUZZ_EXPECT(!gateway->api_key.empty());
      FUZZ_EXPECT(gateway->weight <= 1000);
    } else if (const std::optional<std::string> secret = Secret(spec)) {
      FUZZ_EXPECT(!RepeatsSecret(spec, gateway.error().message, *secret));
    }
  }
  const Result<std::vector<app::GatewayConfig>> gateways = app::ParseGateways(specs);
  if (gateways) FUZZ_EXPECT(gateways->size() <= specs.size());
}

void Values(std::string_view text) {
  const Result<std::pair<std::string, std::uint16_t>> listen = ParseListen(std::string(text));
  if (listen) FUZZ_EXPECT(listen->first.size() < text.size());
  const Result<CidrList> cidrs = CidrList::Parse(text);
  if (cidrs) {
    // Every range the list holds reads back as itself.
    for (const Cidr& cidr : cidrs->ranges()) {
      const Result<Cidr> again = Cidr::Parse(cidr.ToString());
      FUZZ_EXPECT(again.ok() && again->ToString() == cidr.ToString());
    }
  }
  const Result<http::CorsPolicy> cors = http::CorsPolicy::Parse(SplitList(text));
  if (cors) {
    for (const std::string& origin : SplitList(text)) FUZZ_EXPECT(cors->allows(origin));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput input(data, size);
  switch (input.Select(3)) {
    case 0:
      ConfigFile(input.rest());
      break;
    case 1:
      GatewaySpecs(input.rest());
      break;
    default:
      Values(input.rest());
      break;
  }
  return 0;
}
