// The conformance suite of The durable-write contract every ledger port shares (ports/durable.hpp):
// when `done` runs, on which thread, Flush, concurrent writers, a clean close, a reopen. Every
// ledger adapter runs it (BOXOFFICE_LEDGER_CONFORMANCE in ledger_conformance.hpp). A *_test.cpp, so
// the build puts it into the test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/ledger_conformance.hpp"

namespace boxoffice::ledger_conformance {
namespace {

// Closing and reopening the ledger keeps events (in order), customers and settings.
TEST_P(DurableWriteConformance, ReopenKeepsEverything) {
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    ASSERT_TRUE(InsertEventAndWait(*ledger, MakeEvent("evt_2")).ok());
    ASSERT_TRUE(InsertEventAndWait(*ledger, MakeEvent("evt_1")).ok());
    ASSERT_TRUE(InsertCustomerAndWait(*ledger, MakeCustomer("cus_1", "a@example.com")).ok());
    ASSERT_TRUE(PutSettingAndWait(*ledger, "k", "v1").ok());
    ASSERT_TRUE(PutSettingAndWait(*ledger, "k", "v2").ok());
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    auto events = ledger->LoadEvents();
    ASSERT_TRUE(events.ok());
    // The two original events, then one more written after each earlier reopen.
    ASSERT_EQ(events->size(), 2u + static_cast<std::size_t>(reopen));
    EXPECT_EQ((*events)[0].id, "evt_2");
    EXPECT_EQ((*events)[1].id, "evt_1");
    if (reopen == 1) {
      EXPECT_EQ((*events)[2].id, "evt_new_0");
    }
    auto customer = ledger->FindCustomerByEmail("a@example.com");
    ASSERT_TRUE(customer.ok());
    ASSERT_TRUE(customer->has_value());
    EXPECT_EQ((*customer)->id, "cus_1");
    auto setting = ledger->GetSetting("k");
    ASSERT_TRUE(setting.ok());
    EXPECT_EQ(*setting, std::optional<std::string>("v2"));
    // A write after a reopen orders after everything written before it.
    ASSERT_TRUE(InsertEventAndWait(*ledger, MakeEvent("evt_new_" + std::to_string(reopen))).ok());
    events = ledger->LoadEvents();
    ASSERT_TRUE(events.ok());
    EXPECT_EQ(events->back().id, "evt_new_" + std::to_string(reopen));
  }
}

// Inside `done` the write is already visible to the ledger's readers: done never runs early.
TEST_P(DurableWriteConformance, DoneRunsOnlyOnceTheWriteIsVisible) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  Ledger* raw = ledger.get();
  constexpr int kWrites = 120;
  std::vector<std::atomic<int>> visible(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    const std::string suffix = std::to_string(i);
    switch (i % 3) {
      case 0:
        ledger->PutSetting(
            "key_" + suffix, "value_" + suffix, [raw, suffix, &visible, i](Status s) {
              auto read = raw->GetSetting("key_" + suffix);
              visible[i] =
                  s.ok() && read.ok() && *read == std::optional<std::string>("value_" + suffix);
            });
        break;
      case 1:
        ledger->InsertCustomer(MakeCustomer("cus_" + suffix, suffix + "@example.com"),
                               [raw, suffix, &visible, i](Status s) {
                                 auto read = raw->FindCustomerByEmail(suffix + "@example.com");
                                 visible[i] = s.ok() && read.ok() && read->has_value();
                               });
        break;
      default:
        ledger->InsertEvent(MakeEvent("evt_" + suffix), [raw, suffix, &visible, i](Status s) {
          auto read = raw->LoadEvents();
          bool found = false;
          if (read.ok()) {
            for (const EventRecord& event : *read) found = found || event.id == "evt_" + suffix;
          }
          visible[i] = s.ok() && found;
        });
        break;
    }
  }
  ledger->Flush();
  for (int i = 0; i < kWrites; ++i) EXPECT_EQ(visible[i].load(), 1) << "write " << i;
}

// Once `done` reports success, a second, independent ledger on the same data sees the write.
TEST_P(DurableWriteConformance, AcknowledgedWriteIsVisibleToAnotherInstance) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  for (int i = 0; i < 5; ++i) {
    const std::string key = "ack_" + std::to_string(i);
    ASSERT_TRUE(PutSettingAndWait(*ledger, key, "durable").ok());
    auto other = Open();
    ASSERT_NE(other, nullptr);
    auto read = other->GetSetting(key);
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_EQ(*read, std::optional<std::string>("durable")) << key;
  }
}

// `done` runs on the adapter's thread, never on the caller's stack, for successes and failures.
TEST_P(DurableWriteConformance, DoneNeverRunsOnTheCallersThread) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> on_caller{0};
  std::atomic<int> calls{0};
  auto done = [&](Status) {
    if (std::this_thread::get_id() == caller) ++on_caller;
    ++calls;
  };
  ledger->PutSetting("k", "v", done);
  ledger->InsertEvent(MakeEvent("evt_1"), done);
  ledger->InsertEvent(MakeEvent("evt_1"), done);  // a conflict
  ledger->InsertCustomer(MakeCustomer("cus_1", "a@example.com"), done);
  ledger->Flush();
  EXPECT_EQ(calls.load(), 4);
  EXPECT_EQ(on_caller.load(), 0);
}

// 8 threads x 500 writes at once: every done runs exactly once, all succeed, all survive reopen,
// and each thread's events keep its submission order.
TEST_P(DurableWriteConformance, ConcurrentWritersCompleteExactlyOnceAndPersist) {
  constexpr int kThreads = 8;
  constexpr int kWritesPerThread = 500;
  constexpr int kWrites = kThreads * kWritesPerThread;
  std::vector<std::atomic<int>> calls(kWrites);
  std::atomic<int> failures{0};
  auto key = [](int thread, int i) { return std::to_string(thread) + "_" + std::to_string(i); };
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    std::latch start(kThreads);
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < kWritesPerThread; ++i) {
          const int index = t * kWritesPerThread + i;
          auto done = [&calls, &failures, index](Status status) {
            ++calls[index];
            if (!status.ok()) ++failures;
          };
          switch (i % 3) {
            case 0:
              ledger->PutSetting("setting_" + key(t, i), key(t, i), done);
              break;
            case 1:
              ledger->InsertCustomer(MakeCustomer("cus_" + key(t, i), key(t, i) + "@example.com"),
                                     done);
              break;
            default:
              ledger->InsertEvent(MakeEvent("evt_" + key(t, i)), done);
              break;
          }
        }
      });
    }
    for (std::thread& writer : writers) writer.join();
    ledger->Flush();
    for (int i = 0; i < kWrites; ++i) ASSERT_EQ(calls[i].load(), 1) << "write " << i;
    EXPECT_EQ(failures.load(), 0);
  }
  // Closing must not run any done a second time.
  for (int i = 0; i < kWrites; ++i) ASSERT_EQ(calls[i].load(), 1) << "write " << i;

  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto events = ledger->LoadEvents();
  ASSERT_TRUE(events.ok());
  std::vector<int> last_seen(kThreads, -1);
  int event_count = 0;
  for (const EventRecord& event : *events) {
    // ids are evt_<thread>_<i>
    const std::size_t underscore = event.id.find('_', 4);
    const int thread = std::stoi(event.id.substr(4, underscore - 4));
    const int i = std::stoi(event.id.substr(underscore + 1));
    EXPECT_GT(i, last_seen[thread]) << event.id << " came back before an older write";
    last_seen[thread] = i;
    ++event_count;
  }
  int expected_events = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kWritesPerThread; ++i) {
      if (i % 3 == 0) {
        auto setting = ledger->GetSetting("setting_" + key(t, i));
        ASSERT_TRUE(setting.ok());
        ASSERT_EQ(*setting, std::optional<std::string>(key(t, i)));
      } else if (i % 3 == 1) {
        auto customer = ledger->FindCustomerByEmail(key(t, i) + "@example.com");
        ASSERT_TRUE(customer.ok());
        ASSERT_TRUE(customer->has_value()) << key(t, i);
        ASSERT_EQ((*customer)->id, "cus_" + key(t, i));
      } else {
        ++expected_events;
      }
    }
  }
  EXPECT_EQ(event_count, expected_events);
}

// Flush returns only after every write queued before it, from any thread, has run its done.
TEST_P(DurableWriteConformance, FlushWaitsForEveryEarlierWrite) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ledger->Flush();  // nothing queued: returns at once

  constexpr int kThreads = 4;
  constexpr int kWritesPerThread = 150;
  std::vector<std::atomic<int>> done_per_thread(kThreads);
  std::vector<int> done_at_flush(kThreads, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        ledger->PutSetting(FlushKey(t, i), "v",
                           [&done_per_thread, t](Status) { ++done_per_thread[t]; });
      }
      ledger->Flush();
      done_at_flush[t] = done_per_thread[t].load();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(done_at_flush[t], kWritesPerThread) << t;
  for (int t = 0; t < kThreads; ++t) {
    auto last = ledger->GetSetting(FlushKey(t, kWritesPerThread - 1));
    ASSERT_TRUE(last.ok());
    EXPECT_TRUE(last->has_value());
  }
}

// A done may queue another write (a chained write) without deadlocking the ledger.
TEST_P(DurableWriteConformance, DoneMayQueueAnotherWrite) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto second_done = std::make_shared<std::promise<Status>>();
  std::future<Status> second = second_done->get_future();
  Ledger* raw = ledger.get();
  ledger->PutSetting("first", "1", [raw, second_done](Status first) {
    if (!first.ok()) {
      second_done->set_value(std::move(first));
      return;
    }
    raw->PutSetting("second", "2",
                    [second_done](Status status) { second_done->set_value(std::move(status)); });
  });
  ASSERT_EQ(second.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(second.get().ok());
  auto read = ledger->GetSetting("second");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, std::optional<std::string>("2"));
}

// Destroying the ledger completes every write still queued, and they are there on reopen.
TEST_P(DurableWriteConformance, CloseCompletesQueuedWrites) {
  constexpr int kWrites = 300;
  std::atomic<int> succeeded{0};
  std::atomic<int> calls{0};
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    for (int i = 0; i < kWrites; ++i) {
      ledger->PutSetting("pending_" + std::to_string(i), std::to_string(i), [&](Status status) {
        ++calls;
        if (status.ok()) ++succeeded;
      });
    }
  }
  EXPECT_EQ(calls.load(), kWrites);
  EXPECT_EQ(succeeded.load(), kWrites);
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  for (int i = 0; i < kWrites; ++i) {
    auto read = ledger->GetSetting("pending_" + std::to_string(i));
    ASSERT_TRUE(read.ok());
    ASSERT_EQ(*read, std::optional<std::string>(std::to_string(i))) << i;
  }
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
