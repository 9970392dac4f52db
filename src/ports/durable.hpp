// The write contract every durable port shares (the ledger's parts, the hold journal, the queue
// store): a write call queues the write and returns at once; its `done` runs after the write is
// durable (committed and fsynced, possibly in a group with others) or has failed, on a thread of
// the adapter's choosing, never on the caller's stack. An I/O thread therefore never waits on
// disk. Reads are synchronous and meant for start-up and for rare paths (a login, an order page).
//
// Ports are narrow on purpose: one method per domain operation, no SQL, owned by the domain that
// uses them. An adapter may implement several (the SQLite ledger implements every ledger part on
// one writer thread); each port has a conformance suite every adapter passes (src/store/).
#pragma once

#include <functional>
#include <future>
#include <memory>

#include "common/result.hpp"

namespace boxoffice {

using DurableDone = std::function<void(Status)>;

// Blocks the calling thread (a worker, never an I/O thread) until the write `submit` queues is
// durable or refused, and returns its status.
inline Status WaitForDurable(const std::function<void(DurableDone)>& submit) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  submit([promise](Status status) { promise->set_value(std::move(status)); });
  return future.get();
}

}  // namespace boxoffice
