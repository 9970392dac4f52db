// The deterministic simulation (`boxoffice sim`, issue 22's boxoffice-sim): the whole domain of
// one server (catalog, waiting room, holds, orders, payment router, outbox) on the in-memory
// ledger, driven by seeded fans through a fake clock, with gateway faults and crashes at any
// durable effect, and the product's promises checked after every step and every restart.
//
// One seed is one world. Every choice (which fan acts, what they do, how far the clock moves,
// which gateway call fails, where the process dies) comes from the seed's dice, and every id and
// token the server mints comes from a stream keyed by the seed (UseDeterministicRandomness). The
// world runs one operation at a time and waits until it is quiescent (its order worker idle, the
// ledger flushed) before the next, so the threads the server uses cannot reorder anything: the
// same seed replays the same run, byte for byte, and its trace digest says so.
//
// A crash is armed at the n-th durable effect from now (a ledger write or a money movement),
// just before or just after it. From then on nothing more is written and nothing reaches a
// gateway, and answers to fans that arrive after it are lost (the fan saw no reply). The world
// then throws away every object of the server and starts again on the same ledger data and the
// same bank, recovering as `serve` does, and checks:
//   - no seat is sold twice, and the seat table agrees with the ledger's sold seats;
//   - every order a fan was told about exists, with the seats they were told, and stays sold;
//   - every hold a fan was told about is still theirs after the restart until its deadline;
//   - nobody is charged twice: per order at most one live authorization across gateways, every
//     live authorization belongs to an order or to a pending attempt recovery will void, and
//     after recovery none is left without an order;
//   - fans are admitted in join order: no fan is told "waiting" after a fan who joined later was
//     admitted (within one run of the server).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace boxoffice::tools {

// Breaks the world on purpose, so the sim's own tests can show each check fails when it should.
enum class SimSabotage {
  kNone,
  kForgetSale,   // the seat table forgets the first confirmed sale: its seats go back on sale
  kChargeTwice,  // the bank authorizes a second payment for the first confirmed order
};

struct SimOptions {
  std::uint64_t seed = 1;
  std::uint32_t fans = 40;
  std::uint32_t seats = 30;
  std::uint32_t steps = 500;
  double fault_rate = 0.08;   // of gateway calls; split over errors, lost requests and replies
  std::uint32_t crashes = 3;  // armed per seed, at most
  bool keep_trace = false;    // keep every step's line in the result
  SimSabotage sabotage = SimSabotage::kNone;
};

struct SimResult {
  std::uint64_t seed = 0;
  std::uint32_t steps = 0;
  std::string digest;  // of the trace (hex); a seed run twice gives the same digest
  std::vector<std::string> violations;
  std::vector<std::string> trace;  // when keep_trace
  std::uint64_t gateway_faults = 0;
  std::uint64_t effects = 0;                     // durable effects counted by the crash plan
  std::map<std::string, std::uint64_t> crashes;  // by point: "before ConfirmOrder" -> 1
  std::uint64_t orders = 0;                      // orders confirmed in the ledger at the end
  std::uint64_t seats_sold = 0;
  std::uint64_t payments = 0;  // authorizations the bank made
  // Admissions a restart forgot: a fan admitted before a crash who polls after it is told to
  // wait (in the line of returning fans) although their access token still admits them.
  // Counted, not a violation: nobody overtakes anybody, but the fan is told the wrong thing.
  std::uint64_t admissions_forgotten = 0;
  bool ok() const { return violations.empty(); }
};

// Runs one seed. Not reentrant: it switches the process's randomness to the seed's stream for
// the run (and back to the system's after).
SimResult RunSimulation(const SimOptions& options);

}  // namespace boxoffice::tools
