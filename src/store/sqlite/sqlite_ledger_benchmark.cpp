// How many durable writes per second the embedded ledger sustains, and what group commit buys:
// each iteration queues `burst` writes and waits for all of them, so a burst of 1 pays one fsync
// per write and larger bursts share one.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "store/sqlite/sqlite_ledger.hpp"

namespace boxoffice {
namespace {

void BM_SqliteLedgerPutSettingBurst(benchmark::State& state) {
  std::string dir = (std::filesystem::temp_directory_path() / "boxoffice-bench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  {
    auto opened = SqliteLedger::Open(SqliteLedgerOptions{.path = dir + "/ledger.db"});
    if (!opened.ok()) {
      state.SkipWithError(opened.error().message.c_str());
      return;
    }
    auto ledger = std::move(opened).value();
    const std::int64_t burst = state.range(0);
    std::atomic<std::int64_t> failures{0};
    std::uint64_t key = 0;
    const std::uint64_t commits_before = ledger->commits();
    for (auto _ : state) {
      for (std::int64_t i = 0; i < burst; ++i) {
        ledger->PutSetting("key_" + std::to_string(key++), "value", [&failures](Status status) {
          if (!status.ok()) ++failures;
        });
      }
      ledger->Flush();
    }
    state.SetItemsProcessed(state.iterations() * burst);
    state.counters["commits_per_burst"] = static_cast<double>(ledger->commits() - commits_before) /
                                          static_cast<double>(state.iterations());
    if (failures.load() != 0) state.SkipWithError("some writes failed");
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}
BENCHMARK(BM_SqliteLedgerPutSettingBurst)->Arg(1)->Arg(16)->Arg(256)->Arg(4096)->UseRealTime();

}  // namespace
}  // namespace boxoffice
