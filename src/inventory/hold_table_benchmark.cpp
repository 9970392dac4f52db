// In-engine hold throughput (issue 4 target: at least 2,000,000 single-seat holds/s on one core):
// a hold and its release on the demo arena, without the journal or HTTP.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "catalog/catalog.hpp"
#include "catalog/demo_event.hpp"
#include "inventory/hold_table.hpp"

namespace boxoffice {
namespace {

// Holds `seats_per_hold` adjacent seats at their current versions, then releases them; one
// iteration is one hold plus one release, reported as holds per second.
void HoldAndRelease(benchmark::State& state, std::uint32_t seats_per_hold) {
  Result<EventDefinition> definition = ParseEventDefinition(DemoEventJson());
  definition->id = "evt_benchmark00000000";
  definition->limits.per_order = kPerOrderMax;
  definition->limits.per_customer = kPerCustomerMax;
  Event event(std::move(definition).value());
  FakeClock clock;
  HoldTable table(event.definition(), event.seat_map(), clock);
  const HoldOwner owner{"ses_benchmark", ""};
  const std::uint32_t blocks = table.size() / seats_per_hold;
  std::uint32_t block = 0;
  std::vector<SeatRequest> wanted(seats_per_hold);
  for (auto _ : state) {
    const std::uint32_t first = block * seats_per_hold;
    for (std::uint32_t i = 0; i < seats_per_hold; ++i) {
      wanted[i] = SeatRequest{first + i, table.Seat(first + i).version};
    }
    Result<Hold> hold = table.HoldSeats(owner, wanted);
    if (!hold.ok()) {
      state.SkipWithError("hold refused");
      break;
    }
    benchmark::DoNotOptimize(table.Release(hold->id));
    block = block + 1 == blocks ? 0 : block + 1;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_HoldReleaseOneSeat(benchmark::State& state) { HoldAndRelease(state, 1); }
BENCHMARK(BM_HoldReleaseOneSeat);

void BM_HoldReleaseFourSeats(benchmark::State& state) { HoldAndRelease(state, 4); }
BENCHMARK(BM_HoldReleaseFourSeats);

}  // namespace
}  // namespace boxoffice
