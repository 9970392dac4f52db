// The boxoffice command: parses flags and hands over to a subcommand. Everything else lives in
// boxoffice_core.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/config.hpp"
#include "app/keys.hpp"
#include "app/serve.hpp"
#include "common/crypto.hpp"
#include "common/log.hpp"
#include "tools/botsim.hpp"
#include "tools/gateway_sim.hpp"
#include "tools/onsale.hpp"
#include "tools/sim.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "boxoffice: a ticket on-sale engine with a fair waiting room, seat holds that "
      "never double-sell, and checkout across several card gateways."};
  app.set_version_flag("--version", std::string("boxoffice ") + BOXOFFICE_VERSION);
  app.require_subcommand(1);

  boxoffice::app::ServeConfig serve_config;
  CLI::App* serve = app.add_subcommand("serve", "Run the HTTP server");
  boxoffice::app::AddServeOptions(*serve, serve_config);

  boxoffice::tools::GatewaySimOptions sim_options;
  CLI::App* gateway_sim = app.add_subcommand(
      "gateway-sim", "Run a local card gateway speaking a subset of Stripe's PaymentIntents API");
  boxoffice::tools::AddGatewaySimOptions(*gateway_sim, sim_options);

  boxoffice::tools::BotsimOptions botsim_options;
  CLI::App* botsim = app.add_subcommand(
      "botsim",
      "Drive a running server with simulated fans and bots; evaluate or train the risk model");
  boxoffice::tools::AddBotsimOptions(*botsim, botsim_options);

  boxoffice::tools::OnsaleOptions onsale_options;
  CLI::App* onsale = app.add_subcommand(
      "onsale",
      "Play an on-sale of N simulated fans against a running server, audit it, write a report");
  boxoffice::tools::AddOnsaleOptions(*onsale, onsale_options);

  boxoffice::tools::SimCommandOptions sim_command_options;
  CLI::App* sim = app.add_subcommand(
      "sim",
      "Run the deterministic simulation: seeded fans, gateway faults and crashes against the "
      "whole domain, every promise checked");
  boxoffice::tools::AddSimOptions(*sim, sim_command_options);

  boxoffice::app::KeysOptions keys_options;
  CLI::App* keys = app.add_subcommand(
      "keys", "List, rotate and retire the server secrets and operator keys of a data dir");
  boxoffice::app::AddKeysOptions(*keys, keys_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    // onsale promises 2 for unusable options, as scripts running benchmarks test for it.
    return code != 0 && onsale->parsed() ? 2 : code;
  }

  boxoffice::InitCrypto();
  if (gateway_sim->parsed()) {
    boxoffice::SetupLogging("warn");
    return boxoffice::tools::RunGatewaySim(sim_options);
  }
  if (botsim->parsed()) {
    boxoffice::SetupLogging("warn");
    return boxoffice::tools::RunBotsim(botsim_options);
  }
  if (sim->parsed()) {
    // The simulation crashes the server on purpose: the errors it logs are expected.
    boxoffice::SetupLogging("off");
    return boxoffice::tools::RunSim(sim_command_options, std::cout);
  }
  if (keys->parsed()) return boxoffice::app::RunKeys(keys_options, std::cout, std::cerr);
  if (onsale->parsed()) {
    boxoffice::SetupLogging("warn");
    return boxoffice::tools::RunOnsale(onsale_options);
  }
  boxoffice::SetupLogging(serve_config.log_level);
  if (serve->parsed()) return boxoffice::app::RunServe(serve_config);
  return 2;
}
