// docs/openapi.yaml, embedded at build time so GET /v1/openapi.yaml serves the running
// binary's own contract.
#pragma once

#include <string_view>

namespace boxoffice::app {

std::string_view OpenApiYaml();

}  // namespace boxoffice::app
