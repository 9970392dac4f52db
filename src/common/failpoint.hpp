// Failpoints: named places in the durable paths where a test can make the process crash, to show
// that a crash at exactly that moment loses nothing (issue 22; tests/e2e/test_failpoints.py runs
// an on-sale through each of them).
//
// They are compiled in only when BOXOFFICE_FAILPOINTS is defined, which the build does for the
// sanitizer builds (the test builds, whose e2e pass runs the crash tests); everywhere else
// BOXOFFICE_FAILPOINT(name) is no code at all, so a release build pays nothing for them.
//
// Armed from the environment: BOXOFFICE_FAILPOINTS="name:crash" crashes the process the first
// time it reaches `name`, "name:crash@N" the Nth time (counted from the start), and
// "name:crash@N+Dms" D milliseconds after the Nth time, the thread that reached it waiting while
// the others run on (a slow disk, say: what they answer meanwhile, clients have); several such
// separated by commas. A crash is SIGKILL sent by the process to itself, after one line on
// stderr ("boxoffice: failpoint NAME: crashing at hit N"): no destructor runs, nothing is
// flushed, as with `kill -9` at that instant. `serve` refuses to start on a spec it cannot read
// or that names a point not in kFailpoints, so a renamed point fails its test instead of never
// firing.
#pragma once

#include <array>
#include <string_view>

#include "common/result.hpp"

namespace boxoffice::failpoint {

// Every point, where it sits and what a crash there leaves behind.
inline constexpr std::array<std::string_view, 10> kFailpoints = {
    // The ledger's writer: the group's writes applied, its COMMIT not yet run (all lost).
    "ledger.commit.before",
    // The same, counting only the groups that confirm an order.
    "ledger.commit.before_order",
    // The ledger's writer: COMMIT done, nobody told yet (all kept, no answer sent).
    "ledger.commit.after",
    // A hold journaled, the fan not told: the hold is restored at start and expires unused.
    "hold.journaled",
    // An order's payment attempt durable, the gateway not asked yet.
    "order.payment_begun",
    // The card authorized, the order not written: recovery voids the authorization.
    "order.authorized",
    // The order confirmed in the ledger, the fan not told: a retry replays it by its key.
    "order.confirmed",
    // The outbox captured the payment, the tickets not issued yet: the next pass captures again
    // (idempotent by its key) and issues them.
    "outbox.captured",
    // The waiting room claimed a block of sequence numbers in memory, its mark not durable.
    "queue.block_claimed",
    // A refund done at the gateway, the order not marked refunded: a retry refunds idempotently.
    "refund.gateway_done",
};

// Reads BOXOFFICE_FAILPOINTS; an error names what is wrong with it. OK when it is unset or when
// failpoints are not compiled in (then it must be unset: a spec given to a build without them
// is an error, since the test that set it would otherwise pass without crashing anything).
Status CheckEnvironment();

#ifdef BOXOFFICE_FAILPOINTS
// Counts a hit of `name` and crashes the process if the environment armed it for this hit.
void Hit(std::string_view name);
#endif

}  // namespace boxoffice::failpoint

#ifdef BOXOFFICE_FAILPOINTS
#define BOXOFFICE_FAILPOINT(name) ::boxoffice::failpoint::Hit(name)
#else
#define BOXOFFICE_FAILPOINT(name) static_cast<void>(0)
#endif
