// The boxoffice command: parses flags and hands over to a subcommand. Everything else lives in
// boxoffice_core.
#include <CLI/CLI.hpp>

#include "app/config.hpp"
#include "app/serve.hpp"
#include "common/crypto.hpp"
#include "common/log.hpp"
#include "tools/botsim.hpp"
#include "tools/gateway_sim.hpp"

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

  CLI11_PARSE(app, argc, argv);

  boxoffice::InitCrypto();
  if (gateway_sim->parsed()) {
    boxoffice::SetupLogging("warn");
    return boxoffice::tools::RunGatewaySim(sim_options);
  }
  if (botsim->parsed()) {
    boxoffice::SetupLogging("warn");
    return boxoffice::tools::RunBotsim(botsim_options);
  }
  boxoffice::SetupLogging(serve_config.log_level);
  if (serve->parsed()) return boxoffice::app::RunServe(serve_config);
  return 2;
}
