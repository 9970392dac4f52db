// SerializeJson writes every JSON answer built as a value (events, stats, orders, errors) in
// place of Boost.JSON's serializer: the cost of its own writer, against Boost's, on the demo
// arena's event (the largest document the server renders, ~1 MB, strings and integers) and on
// an operator's stats answer (small, with doubles).
#include <benchmark/benchmark.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "catalog/demo_event.hpp"
#include "catalog/event.hpp"
#include "common/json_text.hpp"

namespace boxoffice {
namespace {

boost::json::value DemoEventDocument() {
  Result<EventDefinition> event = ParseEventDefinition(DemoEventJson());
  return EventToJson(*event);
}

const boost::json::value kStats = boost::json::parse(
    R"({"inventory": {"available": 48211, "held": 1789, "sold": 0, "capacity": 50000},
        "queue": {"joined": 1000000, "waiting": 987654, "admitted": 12346,
                  "admitted_per_s": 198.73125, "released": {"ordered": 11000, "idle": 12}},
        "defense": {"allowed": 2000000, "challenged": 35, "score": 0.0625}})");

template <typename Write>
void Serialize(benchmark::State& state, const boost::json::value& document, Write write) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = write(document);
    bytes += text.size();
    benchmark::DoNotOptimize(text);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_SerializeJsonDemoEvent(benchmark::State& state) {
  Serialize(state, DemoEventDocument(), [](const auto& value) { return SerializeJson(value); });
}
BENCHMARK(BM_SerializeJsonDemoEvent);

void BM_BoostSerializeDemoEvent(benchmark::State& state) {
  Serialize(state, DemoEventDocument(),
            [](const auto& value) { return boost::json::serialize(value); });
}
BENCHMARK(BM_BoostSerializeDemoEvent);

void BM_SerializeJsonStats(benchmark::State& state) {
  Serialize(state, kStats, [](const auto& value) { return SerializeJson(value); });
}
BENCHMARK(BM_SerializeJsonStats);

void BM_BoostSerializeStats(benchmark::State& state) {
  Serialize(state, kStats, [](const auto& value) { return boost::json::serialize(value); });
}
BENCHMARK(BM_BoostSerializeStats);

}  // namespace
}  // namespace boxoffice
