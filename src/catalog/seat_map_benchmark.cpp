// Seat id lookup runs for every seat of every hold request.
#include <benchmark/benchmark.h>

#include "catalog/demo_event.hpp"
#include "catalog/seat_map.hpp"

namespace boxoffice {
namespace {

void BM_SeatMapFind(benchmark::State& state) {
  Result<EventDefinition> event = ParseEventDefinition(DemoEventJson());
  const SeatMap map(*event);
  std::vector<std::string> ids;
  for (std::uint32_t i = 0; i < map.size(); i += 97) ids.push_back(map.SeatId(i));
  std::size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(map.Find(ids[next]));
    next = next + 1 == ids.size() ? 0 : next + 1;
  }
}
BENCHMARK(BM_SeatMapFind);

void BM_ParseDemoEvent(benchmark::State& state) {
  const boost::json::value body = DemoEventJson();
  for (auto _ : state) benchmark::DoNotOptimize(ParseEventDefinition(body));
}
BENCHMARK(BM_ParseDemoEvent);

}  // namespace
}  // namespace boxoffice
