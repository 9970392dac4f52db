// Background work that must not take the CPU from requests: a thread's own scheduling priority.
#pragma once

namespace boxoffice {

// Raises the calling thread's nice value by `increment` (Linux keeps one per thread; threads it
// creates later start with it). Logs a warning and goes on when the system refuses.
void LowerThisThreadsPriority(int increment);

}  // namespace boxoffice
