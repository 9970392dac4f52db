#include "common/thread_priority.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/log.hpp"

namespace boxoffice {

void LowerThisThreadsPriority(int increment) {
  const auto thread = static_cast<id_t>(gettid());
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, thread);
  if (current == -1 && errno != 0) return;
  if (setpriority(PRIO_PROCESS, thread, current + increment) != 0) {
    LogWarn("thread_priority_unchanged",
            {{"increment", std::to_string(increment)}, {"error", std::strerror(errno)}});
  }
}

}  // namespace boxoffice
