// The in-memory ledger passes every ledger port's conformance suite, as the SQLite ledger does.
#include "store/memory/memory_ledger.hpp"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "store/ledger_conformance.hpp"

namespace boxoffice {
namespace {

using ledger_conformance::LedgerFactory;

// The suites reopen a ledger by its directory; here the directory names the data a restart
// finds again (the data outlives each ledger, as a file would).
std::unique_ptr<Ledger> OpenMemoryInDir(const std::string& dir) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<MemoryLedgerData>> data_by_dir;
  std::lock_guard lock(mutex);
  std::shared_ptr<MemoryLedgerData>& data = data_by_dir[dir];
  if (data == nullptr) data = MemoryLedger::NewData();
  return std::make_unique<MemoryLedger>(data);
}

}  // namespace
}  // namespace boxoffice

namespace boxoffice::ledger_conformance {
BOXOFFICE_LEDGER_CONFORMANCE(Memory, (LedgerFactory{"Memory", OpenMemoryInDir}));
}  // namespace boxoffice::ledger_conformance
