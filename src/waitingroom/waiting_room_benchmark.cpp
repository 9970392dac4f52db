// The waiting room's hot paths without HTTP: joining (a signed ticket, one slot) and polling (a MAC
// check and O(1) arithmetic), plus the admission controller's tick over a long queue.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <fstream>

#include "common/crypto.hpp"
#include "store/memory/memory_queue_store.hpp"
#include "waitingroom/waiting_room.hpp"

namespace boxoffice {
namespace {

EventDefinition BenchEvent() {
  EventDefinition event;
  event.id = "evt_bench";
  event.queue.enabled = true;
  event.queue.paused = true;
  return event;
}

void BM_QueueJoin(benchmark::State& state) {
  InitCrypto();
  FakeClock clock;
  MemoryQueueStore store;
  WaitingRoom room(store, clock, "benchmark secret");
  room.Attach(BenchEvent(), nullptr, false);
  std::uint64_t fan = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        room.Join("evt_bench", FanIdentity{"ses_" + std::to_string(fan++), "", ""}));
  }
}
BENCHMARK(BM_QueueJoin);

void BM_QueueStatus(benchmark::State& state) {
  InitCrypto();
  FakeClock clock;
  MemoryQueueStore store;
  WaitingRoom room(store, clock, "benchmark secret");
  room.Attach(BenchEvent(), nullptr, false);
  for (int i = 0; i < 100'000; ++i) {
    (void)room.Join("evt_bench", FanIdentity{"ses_" + std::to_string(i), "", ""});
  }
  const std::string ticket = room.Join("evt_bench", FanIdentity{"ses_me", "", ""})->queue_ticket;
  for (auto _ : state) benchmark::DoNotOptimize(room.Poll("evt_bench", "ses_me", ticket));
}
BENCHMARK(BM_QueueStatus);

// One tick admitting 1,000 fans (a rate of 10,000/s at 100 ms ticks).
void BM_QueueTickAdmit1000(benchmark::State& state) {
  InitCrypto();
  FakeClock clock;
  MemoryQueueStore store;
  WaitingRoom room(store, clock, "benchmark secret");
  EventDefinition event = BenchEvent();
  event.queue.paused = false;
  event.queue.admission_rate_per_s = 10'000;
  event.queue.max_active = 10'000'000;
  room.Attach(event, nullptr, false);
  int fan = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < 1000; ++i) {
      (void)room.Join("evt_bench", FanIdentity{"ses_" + std::to_string(fan++), "", ""});
    }
    clock.Advance(std::chrono::milliseconds(100));
    state.ResumeTiming();
    room.Tick();
  }
}
BENCHMARK(BM_QueueTickAdmit1000);

// Resident memory a million waiting fans add (target: at most 64 MB), reported as a counter.
std::int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0;
  std::int64_t resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

void BM_QueueMemoryMillionFans(benchmark::State& state) {
  InitCrypto();
  for (auto _ : state) {
    FakeClock clock;
    MemoryQueueStore store;
    WaitingRoom room(store, clock, "benchmark secret");
    EventDefinition event = BenchEvent();
    room.Attach(event, nullptr, false);
    const std::int64_t before = ResidentBytes();
    for (int i = 0; i < 1'000'000; ++i) {
      (void)room.Join("evt_bench", FanIdentity{"ses_" + std::to_string(i), "", ""});
    }
    state.counters["rss_mb"] = static_cast<double>(ResidentBytes() - before) / (1 << 20);
  }
}
BENCHMARK(BM_QueueMemoryMillionFans)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace boxoffice
