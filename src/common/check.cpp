#include "common/check.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

#include "common/log.hpp"

namespace boxoffice::detail {

void CheckFailed(const char* condition, const char* message, const char* file, int line) {
  // Straight to stderr first: the logger may be what is broken, or not set up yet.
  std::fprintf(stderr, "boxoffice: check failed: %s (%s) at %s:%d\n", message, condition, file,
               line);
  std::fflush(stderr);
  LogError("check_failed",
           {{"message", message}, {"condition", condition}, {"file", file}, {"line", line}});
  spdlog::default_logger()->flush();
  std::abort();
}

}  // namespace boxoffice::detail
