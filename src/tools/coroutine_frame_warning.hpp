// Included by the tools' files that define Asio coroutines. GCC 12 at -O1 (the sanitizer builds)
// inlines the allocation of a coroutine frame and then warns that Asio's frame delete does not
// match Asio's aligned new, which it does: a false positive of GCC's -Wmismatched-new-delete with
// coroutines, which -Werror would make fatal. It is silenced for the including file only.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
