// `boxoffice serve`: opens the data dir, wires the adapters to the ports, and runs the HTTP
// server until SIGTERM/SIGINT; then drains requests and flushes the ledger before returning.
#pragma once

#include "app/config.hpp"

namespace boxoffice::app {

// The process exit code: 0 after a clean stop.
int RunServe(const ServeConfig& config);

}  // namespace boxoffice::app
