// Assertions that ship. BOXOFFICE_CHECK(condition, "what must hold") is compiled into every build,
// release included: when the condition is false it logs the condition, the message and where, then
// aborts, so that a broken invariant stops the process before it sells a seat twice instead of
// carrying on with corrupted state. A restart rebuilds memory from the ledger, which is the truth.
//
// For invariants of boxoffice's own state only (`available + held + sold == capacity`, a hold's
// seats owned by that hold): untrusted input must never reach a check, it gets a 4xx. A check
// costs one predictable branch; keep scans (every seat of an event) off the request path.
#pragma once

namespace boxoffice::detail {

[[noreturn]] void CheckFailed(const char* condition, const char* message, const char* file,
                              int line);

}  // namespace boxoffice::detail

#define BOXOFFICE_CHECK(condition, message)                                      \
  do {                                                                           \
    if (!(condition)) [[unlikely]] {                                             \
      ::boxoffice::detail::CheckFailed(#condition, message, __FILE__, __LINE__); \
    }                                                                            \
  } while (false)
