// The conformance suite of the `Ledger` port: the behaviour every adapter (SQLite now, PostgreSQL
// later) must show, so the embedded and the scaled-out deployments cannot drift apart.
//
// The tests live in ledger_conformance_test.cpp as value-parameterised GoogleTests over a
// `LedgerFactory`; an adapter joins the suite by instantiating it in its own test file:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, LedgerConformance,
//                            ::testing::Values(LedgerFactory{"Sqlite", OpenSqliteInDir}),
//                            LedgerFactoryName);
//
// The factory opens the ledger whose data lives in a given directory; calling it again with the
// same directory after the previous ledger is destroyed must reopen the same data. The helpers
// below (a temporary directory, blocking write wrappers) are shared with adapter-specific tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <ostream>
#include <string>
#include <system_error>
#include <utility>

#include "common/result.hpp"
#include "ports/ledger.hpp"

namespace boxoffice::ledger_conformance {

// A fresh directory under /tmp, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "boxoffice-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
      return;
    }
    path_ = std::move(pattern);
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;  // a leftover temp dir is not worth failing a test over
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct LedgerFactory {
  std::string name;  // the suffix of the test names, e.g. "Sqlite"
  // Opens the ledger stored in `dir`; null when that fails.
  std::function<std::unique_ptr<Ledger>(const std::string& dir)> open;
};

inline void PrintTo(const LedgerFactory& factory, std::ostream* out) { *out << factory.name; }

inline std::string LedgerFactoryName(const ::testing::TestParamInfo<LedgerFactory>& info) {
  return info.param.name;
}

class LedgerConformance : public ::testing::TestWithParam<LedgerFactory> {
 protected:
  // Opens the ledger in this test's directory; records a failure and returns null when the
  // adapter cannot open it (callers ASSERT on the pointer).
  std::unique_ptr<Ledger> Open() const {
    std::unique_ptr<Ledger> ledger = GetParam().open(dir_.path());
    if (ledger == nullptr) ADD_FAILURE() << GetParam().name << " ledger failed to open";
    return ledger;
  }

  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
};

// Queues a write through `submit` and blocks until its `done` has run, returning its status.
// The promise is shared with the callback so it outlives a `done` that is still returning.
template <typename Submit>
Status WaitFor(Submit&& submit) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  submit([promise](Status status) { promise->set_value(std::move(status)); });
  return future.get();
}

inline Status InsertEventAndWait(Ledger& ledger, EventRecord event) {
  return WaitFor([&](Ledger::Done done) { ledger.InsertEvent(std::move(event), std::move(done)); });
}

inline Status InsertCustomerAndWait(Ledger& ledger, CustomerRecord customer) {
  return WaitFor(
      [&](Ledger::Done done) { ledger.InsertCustomer(std::move(customer), std::move(done)); });
}

inline Status PutSettingAndWait(Ledger& ledger, std::string key, std::string value) {
  return WaitFor([&](Ledger::Done done) {
    ledger.PutSetting(std::move(key), std::move(value), std::move(done));
  });
}

inline Status InsertHoldAndWait(Ledger& ledger, HoldRecord hold) {
  return WaitFor([&](Ledger::Done done) { ledger.InsertHold(std::move(hold), std::move(done)); });
}

inline Status EndHoldAndWait(Ledger& ledger, std::string hold_id, std::string reason,
                             std::int64_t ended_at_ms) {
  return WaitFor([&](Ledger::Done done) {
    ledger.EndHold(std::move(hold_id), std::move(reason), ended_at_ms, std::move(done));
  });
}

}  // namespace boxoffice::ledger_conformance
