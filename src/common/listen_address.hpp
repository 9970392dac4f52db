// The `--listen` flag of every command that serves (serve, gateway-sim): "host:port" or
// "[ipv6]:port", port 0 for any free one.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "common/result.hpp"

namespace boxoffice {

// "host:port" or "[v6]:port" → (host, port); 422 invalid_listen otherwise.
Result<std::pair<std::string, std::uint16_t>> ParseListen(const std::string& listen);

}  // namespace boxoffice
