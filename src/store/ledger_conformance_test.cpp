// The body of the Ledger conformance suite (see ledger_conformance.hpp). It is a *_test.cpp so the
// build puts it into the test binary, where each adapter's test file instantiates it.
#include "store/ledger_conformance.hpp"

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

namespace boxoffice::ledger_conformance {
namespace {

EventRecord MakeEvent(std::string id, std::int64_t created_at_ms = 1'700'000'000'000) {
  const std::string name = "Event " + id;
  return EventRecord{std::move(id), name, created_at_ms,
                     R"({"name":")" + name + R"(","capacity":100})"};
}

CustomerRecord MakeCustomer(std::string id, std::string email) {
  return CustomerRecord{std::move(id), std::move(email), "$argon2id$v=19$m=65536,t=2,p=1$hash",
                        1'700'000'000'000};
}

std::string FlushKey(int thread, int i) {
  return "flush_" + std::to_string(thread) + "_" + std::to_string(i);
}

// Collects the statuses of writes queued without waiting, by submission index.
class StatusLog {
 public:
  explicit StatusLog(std::size_t size) : statuses_(size), calls_(size) {}

  Ledger::Done At(std::size_t index) {
    return [this, index](Status status) {
      std::lock_guard lock(mutex_);
      statuses_[index] = std::move(status);
      ++calls_[index];
    };
  }
  Status status(std::size_t index) {
    std::lock_guard lock(mutex_);
    return statuses_[index];
  }
  int calls(std::size_t index) {
    std::lock_guard lock(mutex_);
    return calls_[index];
  }

 private:
  std::mutex mutex_;
  std::vector<Status> statuses_;
  std::vector<int> calls_;
};

// Inserted events come back in insertion order, not ordered by id or by timestamp ties.
TEST_P(LedgerConformance, InsertedEventsLoadOldestFirst) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  const std::vector<std::string> ids = {"evt_c", "evt_a", "evt_d", "evt_b"};
  for (const std::string& id : ids) {
    ASSERT_TRUE(InsertEventAndWait(*ledger, MakeEvent(id)).ok()) << id;
  }
  auto events = ledger->LoadEvents();
  ASSERT_TRUE(events.ok()) << events.error().message;
  ASSERT_EQ(events->size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ((*events)[i].id, ids[i]);
    EXPECT_EQ((*events)[i].name, "Event " + ids[i]);
    EXPECT_EQ((*events)[i].created_at_ms, 1'700'000'000'000);
  }
}

// Event names and definitions come back byte for byte: unicode, escapes, whitespace, large.
TEST_P(LedgerConformance, DefinitionJsonRoundTripsExactly) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  // Non-ASCII text, a JSON-escaped NUL, escaped quotes and backslashes, a newline and a tab.
  const std::string unicode =
      std::string(R"({"name": "Café Tacvba — 東京ドーム 🎟️",)") + "\n\t" +
      R"("note": "\u0000 \"q\" \\"  })";
  std::string large = "{\"seats\":[";
  for (int i = 0; i < 20'000; ++i) {
    if (i > 0) large += ',';
    large += std::to_string(i);
  }
  large += "]}";
  const std::vector<EventRecord> events = {
      {"evt_unicode", "Ñandú ☂ 🎫", -5, unicode},
      {"evt_large", "", 0, large},
      {"evt_empty", "empty", 9'007'199'254'740'993, ""},
  };
  for (const EventRecord& event : events) {
    ASSERT_TRUE(InsertEventAndWait(*ledger, event).ok()) << event.id;
  }
  auto loaded = ledger->LoadEvents();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ((*loaded)[i].id, events[i].id);
    EXPECT_EQ((*loaded)[i].name, events[i].name);
    EXPECT_EQ((*loaded)[i].created_at_ms, events[i].created_at_ms);
    EXPECT_EQ((*loaded)[i].definition_json, events[i].definition_json);
  }
}

// A second event with a taken id fails with kConflict "event_exists" and changes nothing.
TEST_P(LedgerConformance, DuplicateEventIdIsEventExists) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(InsertEventAndWait(*ledger, MakeEvent("evt_1")).ok());
  EventRecord duplicate = MakeEvent("evt_1");
  duplicate.name = "Impostor";
  Status status = InsertEventAndWait(*ledger, duplicate);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(status.error().code, "event_exists");
  auto events = ledger->LoadEvents();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].name, "Event evt_1");
}

// A customer is found by its email with every field intact; another email finds nothing.
TEST_P(LedgerConformance, CustomerIsFoundByEmail) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  const CustomerRecord customer{"cus_1", "fan@example.com", "$argon2id$secret", 1'700'000'000'123};
  ASSERT_TRUE(InsertCustomerAndWait(*ledger, customer).ok());
  auto found = ledger->FindCustomerByEmail("fan@example.com");
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, customer.id);
  EXPECT_EQ((*found)->email, customer.email);
  EXPECT_EQ((*found)->password_hash, customer.password_hash);
  EXPECT_EQ((*found)->created_at_ms, customer.created_at_ms);
  auto other = ledger->FindCustomerByEmail("other@example.com");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

// A taken email fails alone with "email_taken"; the writes queued around it still commit.
TEST_P(LedgerConformance, DuplicateEmailFailsAloneAndTheRestCommit) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  StatusLog log(5);
  // Queued back to back without waiting, so they normally share one group.
  ledger->InsertCustomer(MakeCustomer("cus_a", "same@example.com"), log.At(0));
  ledger->InsertCustomer(MakeCustomer("cus_b", "same@example.com"), log.At(1));
  ledger->PutSetting("after_conflict", "yes", log.At(2));
  ledger->InsertEvent(MakeEvent("evt_after"), log.At(3));
  ledger->InsertCustomer(MakeCustomer("cus_c", "other@example.com"), log.At(4));
  ledger->Flush();

  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(log.calls(i), 1) << i;
  // Exactly one of the two claims on the email wins.
  const Status first = log.status(0);
  const Status second = log.status(1);
  ASSERT_NE(first.ok(), second.ok());
  const Status& loser = first.ok() ? second : first;
  EXPECT_EQ(loser.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(loser.error().code, "email_taken");
  for (std::size_t i = 2; i < 5; ++i) EXPECT_TRUE(log.status(i).ok()) << i;

  auto owner = ledger->FindCustomerByEmail("same@example.com");
  ASSERT_TRUE(owner.ok());
  ASSERT_TRUE(owner->has_value());
  EXPECT_EQ((*owner)->id, first.ok() ? "cus_a" : "cus_b");
  auto setting = ledger->GetSetting("after_conflict");
  ASSERT_TRUE(setting.ok());
  EXPECT_EQ(*setting, std::optional<std::string>("yes"));
  auto events = ledger->LoadEvents();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].id, "evt_after");
  auto other = ledger->FindCustomerByEmail("other@example.com");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->has_value());
}

// A taken customer id with a fresh email fails with "customer_exists", not "email_taken".
TEST_P(LedgerConformance, DuplicateCustomerIdIsCustomerExists) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(InsertCustomerAndWait(*ledger, MakeCustomer("cus_1", "one@example.com")).ok());
  Status status = InsertCustomerAndWait(*ledger, MakeCustomer("cus_1", "two@example.com"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(status.error().code, "customer_exists");
  auto second = ledger->FindCustomerByEmail("two@example.com");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
}

// PutSetting inserts, then replaces; the empty string is a value, not an absence.
TEST_P(LedgerConformance, SettingsPutReplaceGet) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(PutSettingAndWait(*ledger, "serving_counter", "10").ok());
  auto first = ledger->GetSetting("serving_counter");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, std::optional<std::string>("10"));
  ASSERT_TRUE(PutSettingAndWait(*ledger, "serving_counter", "11").ok());
  auto replaced = ledger->GetSetting("serving_counter");
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, std::optional<std::string>("11"));
  ASSERT_TRUE(PutSettingAndWait(*ledger, "empty", "").ok());
  auto empty = ledger->GetSetting("empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, std::optional<std::string>(""));
}

// Reads of what was never written succeed with nothing: no setting, no customer, no events.
TEST_P(LedgerConformance, MissingKeysReadAsNothing) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto setting = ledger->GetSetting("never_written");
  ASSERT_TRUE(setting.ok());
  EXPECT_EQ(*setting, std::nullopt);
  auto customer = ledger->FindCustomerByEmail("nobody@example.com");
  ASSERT_TRUE(customer.ok());
  EXPECT_EQ(*customer, std::nullopt);
  auto events = ledger->LoadEvents();
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

// Closing and reopening the ledger keeps events (in order), customers and settings.
TEST_P(LedgerConformance, ReopenKeepsEverything) {
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
TEST_P(LedgerConformance, DoneRunsOnlyOnceTheWriteIsVisible) {
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
TEST_P(LedgerConformance, AcknowledgedWriteIsVisibleToAnotherInstance) {
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
TEST_P(LedgerConformance, DoneNeverRunsOnTheCallersThread) {
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
TEST_P(LedgerConformance, ConcurrentWritersCompleteExactlyOnceAndPersist) {
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
TEST_P(LedgerConformance, FlushWaitsForEveryEarlierWrite) {
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
TEST_P(LedgerConformance, DoneMayQueueAnotherWrite) {
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
TEST_P(LedgerConformance, CloseCompletesQueuedWrites) {
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

HoldRecord MakeHold(std::string id, std::int64_t expires_at_ms = 1'700'000'600'000) {
  return HoldRecord{
      std::move(id), "evt_hold",        "ses_1",      "", R"([{"id":"101-A-1","version":1}])",
      25'000,        1'700'000'000'000, expires_at_ms};
}

// Journaled holds come back whole and in the order written; ended ones do not come back.
TEST_P(LedgerConformance, LiveHoldsLoadInJournalOrderWithoutEndedOnes) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  for (const char* id : {"hld_c", "hld_a", "hld_b"}) {
    ASSERT_TRUE(InsertHoldAndWait(*ledger, MakeHold(id)).ok());
  }
  ASSERT_TRUE(EndHoldAndWait(*ledger, "hld_a", "released", 1'700'000'001'000).ok());
  auto live = ledger->LoadLiveHolds();
  ASSERT_TRUE(live.ok()) << live.error().message;
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].id, "hld_c");
  EXPECT_EQ((*live)[1].id, "hld_b");
  const HoldRecord expected = MakeHold("hld_b");
  EXPECT_EQ((*live)[1].event_id, expected.event_id);
  EXPECT_EQ((*live)[1].session_id, expected.session_id);
  EXPECT_EQ((*live)[1].customer_id, expected.customer_id);
  EXPECT_EQ((*live)[1].seats_json, expected.seats_json);
  EXPECT_EQ((*live)[1].total_cents, expected.total_cents);
  EXPECT_EQ((*live)[1].created_at_ms, expected.created_at_ms);
  EXPECT_EQ((*live)[1].expires_at_ms, expected.expires_at_ms);
}

// A duplicate hold id is hold_exists; ending twice succeeds; ending an unknown hold is 404.
TEST_P(LedgerConformance, HoldConflictsAndEnds) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  ASSERT_TRUE(InsertHoldAndWait(*ledger, MakeHold("hld_x")).ok());
  Status duplicate = InsertHoldAndWait(*ledger, MakeHold("hld_x"));
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, "hold_exists");
  EXPECT_TRUE(EndHoldAndWait(*ledger, "hld_x", "expired", 1).ok());
  EXPECT_TRUE(EndHoldAndWait(*ledger, "hld_x", "released", 2).ok());
  Status unknown = EndHoldAndWait(*ledger, "hld_nope", "released", 3);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "hold_not_found");
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
}

// Live holds and ends survive closing and reopening the ledger.
TEST_P(LedgerConformance, HoldJournalSurvivesReopen) {
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    ASSERT_TRUE(InsertHoldAndWait(*ledger, MakeHold("hld_kept")).ok());
    ASSERT_TRUE(InsertHoldAndWait(*ledger, MakeHold("hld_gone")).ok());
    ASSERT_TRUE(EndHoldAndWait(*ledger, "hld_gone", "released", 5).ok());
  }
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  auto live = reopened->LoadLiveHolds();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "hld_kept");
}

// ---- Checkout ----

PaymentAttemptRecord MakeAttempt(std::string key, std::string order_id) {
  PaymentAttemptRecord attempt;
  attempt.idempotency_key = std::move(key);
  attempt.order_id = std::move(order_id);
  attempt.event_id = "evt_shop";
  attempt.amount_cents = 5'000;
  attempt.currency = "USD";
  attempt.state = "pending";
  attempt.created_at_ms = 1'700'000'000'000;
  return attempt;
}

IdempotencyRecord MakeKey(std::string scope, std::string key, std::string state = "in_flight") {
  return IdempotencyRecord{std::move(scope), std::move(key), "hash-1", std::move(state), 0, "",
                           1'700'000'000'000};
}

// An order of `seats` for hold `hold_id`, paid by attempt `pay_<order_id>`.
ConfirmOrderRecord MakeConfirm(const std::string& order_id, const std::string& hold_id,
                               const std::vector<std::string>& seats) {
  ConfirmOrderRecord record;
  OrderRecord& order = record.order;
  order.id = order_id;
  order.event_id = "evt_shop";
  order.hold_id = hold_id;
  order.session_id = "ses_1";
  order.email = "fan@example.com";
  order.total_cents = 2'500 * static_cast<std::int64_t>(seats.size());
  order.currency = "USD";
  order.status = "confirmed";
  order.gateway = "sim";
  order.payment_id = "pi_" + order_id;
  order.payment_status = "authorized";
  order.created_at_ms = 1'700'000'001'000;
  order.updated_at_ms = order.created_at_ms;
  for (std::size_t i = 0; i < seats.size(); ++i) {
    order.tickets.push_back(TicketRecord{"tkt_" + order_id + "_" + std::to_string(i), order_id,
                                         "evt_shop", seats[i], 2'500, "", 0});
  }
  record.payment_key = "pay_" + order_id;
  record.first_outbox_attempt_at_ms = order.created_at_ms;
  return record;
}

HoldRecord MakeShopHold(std::string id) {
  return HoldRecord{std::move(id), "evt_shop", "ses_1",           "",
                    "[]",          5'000,      1'700'000'000'000, 1'700'000'600'000};
}

// Journals the hold and begins the payment an order of MakeConfirm needs.
void PrepareOrder(Ledger& ledger, const std::string& order_id, const std::string& hold_id) {
  ASSERT_TRUE(InsertHoldAndWait(ledger, MakeShopHold(hold_id)).ok());
  ASSERT_TRUE(WaitFor([&](Ledger::Done done) {
                ledger.BeginPayment(MakeAttempt("pay_" + order_id, order_id), IdempotencyRecord{},
                                    std::move(done));
              }).ok());
}

Status Confirm(Ledger& ledger, ConfirmOrderRecord record) {
  return WaitFor(
      [&](Ledger::Done done) { ledger.ConfirmOrder(std::move(record), std::move(done)); });
}

// A confirmed order comes back whole with its tickets, sold seats, outbox row and response.
TEST_P(LedgerConformance, ConfirmedOrderWritesEverythingAtOnce) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ConfirmOrderRecord record = MakeConfirm("ord_1", "hld_1", {"101-A-1", "101-A-2"});
  record.idempotency = MakeKey("ses_1", "key-1", "done");
  record.idempotency.response_status = 201;
  record.idempotency.response_body = R"({"order_id":"ord_1"})";
  ASSERT_TRUE(Confirm(*ledger, record).ok());

  auto order = ledger->FindOrder("ord_1");
  ASSERT_TRUE(order.ok()) << order.error().message;
  ASSERT_TRUE(order->has_value());
  EXPECT_EQ((*order)->status, "confirmed");
  EXPECT_EQ((*order)->hold_id, "hld_1");
  EXPECT_EQ((*order)->payment_id, "pi_ord_1");
  EXPECT_EQ((*order)->total_cents, 5'000);
  ASSERT_EQ((*order)->tickets.size(), 2u);
  EXPECT_EQ((*order)->tickets[0].seat_id, "101-A-1");
  EXPECT_EQ((*order)->tickets[1].seat_id, "101-A-2");
  EXPECT_EQ((*order)->tickets[0].code, "");

  auto live = ledger->LoadLiveHolds();
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->empty()) << "the hold ends with the order";
  auto pending = ledger->LoadPendingPayments();
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty()) << "the attempt is confirmed";
  auto sold = ledger->LoadSoldSeats();
  ASSERT_TRUE(sold.ok());
  ASSERT_EQ(sold->size(), 2u);
  EXPECT_EQ((*sold)[0].owner_key, "ses_1");
  auto key = ledger->FindIdempotency("ses_1", "key-1");
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(key->has_value());
  EXPECT_EQ((*key)->state, "done");
  EXPECT_EQ((*key)->response_status, 201);
  EXPECT_EQ((*key)->response_body, R"({"order_id":"ord_1"})");
  auto due = ledger->LoadDueOutbox(record.first_outbox_attempt_at_ms, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].order_id, "ord_1");
  EXPECT_EQ((*due)[0].kind, "fulfil_order");
  auto counts = ledger->CountOrders("evt_shop");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->confirmed, 1);
  EXPECT_EQ(counts->tickets_sold, 2);
  EXPECT_EQ(counts->revenue_cents, 5'000);
  EXPECT_EQ(counts->outbox_pending, 1);
}

// UNIQUE (event_id, seat_id): a second order naming a sold seat fails "seat_sold" and writes
// nothing at all (its hold stays live, its attempt pending, no order, no outbox row).
TEST_P(LedgerConformance, SeatIsNeverSoldTwice) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  PrepareOrder(*ledger, "ord_2", "hld_2");
  ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"})).ok());
  Status second = Confirm(*ledger, MakeConfirm("ord_2", "hld_2", {"101-A-2", "101-A-1"}));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(second.error().code, "seat_sold");
  auto order = ledger->FindOrder("ord_2");
  ASSERT_TRUE(order.ok());
  EXPECT_FALSE(order->has_value());
  auto sold = ledger->LoadSoldSeats();
  ASSERT_TRUE(sold.ok());
  ASSERT_EQ(sold->size(), 1u);
  EXPECT_EQ((*sold)[0].order_id, "ord_1");
  auto live = ledger->LoadLiveHolds();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "hld_2");
  auto pending = ledger->LoadPendingPayments();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].idempotency_key, "pay_ord_2");
  auto due = ledger->LoadDueOutbox(std::numeric_limits<std::int64_t>::max(), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due->size(), 1u);
}

// Many orders racing for one seat from many threads: exactly one is confirmed.
TEST_P(LedgerConformance, ConcurrentOrdersForOneSeatConfirmOnce) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  constexpr int kOrders = 32;
  for (int i = 0; i < kOrders; ++i) {
    PrepareOrder(*ledger, "ord_" + std::to_string(i), "hld_" + std::to_string(i));
  }
  std::atomic<int> confirmed{0};
  std::atomic<int> seat_sold{0};
  std::latch start(kOrders);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOrders; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Status status = Confirm(
          *ledger, MakeConfirm("ord_" + std::to_string(i), "hld_" + std::to_string(i), {"9-Z-1"}));
      if (status.ok()) ++confirmed;
      if (!status.ok() && status.error().code == "seat_sold") ++seat_sold;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(confirmed.load(), 1);
  EXPECT_EQ(seat_sold.load(), kOrders - 1);
}

// A hold that has ended (expired, released or ordered) cannot become an order.
TEST_P(LedgerConformance, EndedHoldIsHoldConsumed) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ASSERT_TRUE(EndHoldAndWait(*ledger, "hld_1", "expired", 5).ok());
  Status late = Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"}));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "hold_consumed");
  // An unknown hold is consumed too: nothing may be sold without a journaled hold.
  PrepareOrder(*ledger, "ord_2", "hld_other");
  Status unknown = Confirm(*ledger, MakeConfirm("ord_2", "hld_never", {"101-A-1"}));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "hold_consumed");
  auto sold = ledger->LoadSoldSeats();
  ASSERT_TRUE(sold.ok());
  EXPECT_TRUE(sold->empty());
}

// A key in flight or done refuses a second BeginPayment with "idempotency_key_used", per scope;
// a failed attempt forgets its in-flight key so the client may retry with it; a declined one
// stores its response.
TEST_P(LedgerConformance, IdempotencyKeysAreScopedAndSettled) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto begin = [&](std::string order, std::string scope, std::string key) {
    return WaitFor([&](Ledger::Done done) {
      ledger->BeginPayment(MakeAttempt("pay_" + order, order), MakeKey(scope, key),
                           std::move(done));
    });
  };
  ASSERT_TRUE(begin("ord_1", "ses_1", "k").ok());
  Status twice = begin("ord_2", "ses_1", "k");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "idempotency_key_used");
  EXPECT_TRUE(begin("ord_3", "ses_2", "k").ok()) << "another session's key is another key";
  auto in_flight = ledger->FindIdempotency("ses_1", "k");
  ASSERT_TRUE(in_flight.ok());
  ASSERT_TRUE(in_flight->has_value());
  EXPECT_EQ((*in_flight)->state, "in_flight");
  EXPECT_EQ((*in_flight)->request_hash, "hash-1");

  PaymentSettlement failed{"pay_ord_1", "failed", "sim", "", 7, MakeKey("ses_1", "k", "forget")};
  ASSERT_TRUE(
      WaitFor([&](Ledger::Done done) { ledger->SettlePayment(failed, std::move(done)); }).ok());
  auto forgotten = ledger->FindIdempotency("ses_1", "k");
  ASSERT_TRUE(forgotten.ok());
  EXPECT_FALSE(forgotten->has_value());
  ASSERT_TRUE(begin("ord_4", "ses_1", "k").ok()) << "the same key again after a failure";

  IdempotencyRecord declined = MakeKey("ses_1", "k", "done");
  declined.response_status = 402;
  declined.response_body = R"({"error":{"code":"payment_declined"}})";
  ASSERT_TRUE(WaitFor([&](Ledger::Done done) {
                ledger->SettlePayment(
                    PaymentSettlement{"pay_ord_4", "declined", "sim", "", 8, declined},
                    std::move(done));
              }).ok());
  auto stored = ledger->FindIdempotency("ses_1", "k");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->state, "done");
  EXPECT_EQ((*stored)->response_status, 402);
  EXPECT_EQ((*stored)->response_body, declined.response_body);
  auto pending = ledger->LoadPendingPayments();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].order_id, "ord_3");
  Status unknown = WaitFor([&](Ledger::Done done) {
    ledger->SettlePayment(PaymentSettlement{"pay_nope", "voided", "", "", 9, {}}, std::move(done));
  });
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "payment_not_found");
}

// The outbox: a retry moves the next attempt, a dead row is no longer due, completing an order
// stores the ticket codes and ends its row; all of it survives a reopen.
TEST_P(LedgerConformance, OutboxRetriesDiesAndCompletes) {
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    PrepareOrder(*ledger, "ord_1", "hld_1");
    PrepareOrder(*ledger, "ord_2", "hld_2");
    ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"})).ok());
    ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_2", "hld_2", {"101-A-2"})).ok());
    auto due = ledger->LoadDueOutbox(1'700'000'001'000, 10);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 2u);
    const std::int64_t first = (*due)[0].id;
    const std::int64_t second = (*due)[1].id;
    ASSERT_TRUE(WaitFor([&](Ledger::Done done) {
                  ledger->RetryOutbox(
                      OutboxRetryRecord{first, 1, 1'700'000'002'000, false, "gateway timeout"},
                      std::move(done));
                }).ok());
    due = ledger->LoadDueOutbox(1'700'000'001'500, 10);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 1u);
    EXPECT_EQ((*due)[0].id, second);
    ASSERT_TRUE(
        WaitFor([&](Ledger::Done done) {
          ledger->RetryOutbox(OutboxRetryRecord{second, 5, 0, true, "gave up"}, std::move(done));
        }).ok());
    ASSERT_TRUE(WaitFor([&](Ledger::Done done) {
                  ledger->CompleteOrder(
                      CompleteOrderRecord{"ord_1", first, {{"tkt_ord_1_0", "code-1"}}, 9},
                      std::move(done));
                }).ok());
  }
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto due = ledger->LoadDueOutbox(std::numeric_limits<std::int64_t>::max(), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  auto order = ledger->FindOrder("ord_1");
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(order->has_value());
  EXPECT_EQ((*order)->status, "completed");
  EXPECT_EQ((*order)->payment_status, "captured");
  ASSERT_EQ((*order)->tickets.size(), 1u);
  EXPECT_EQ((*order)->tickets[0].code, "code-1");
  auto counts = ledger->CountOrders("evt_shop");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->completed, 1);
  EXPECT_EQ(counts->confirmed, 1);
  EXPECT_EQ(counts->outbox_dead, 1);
  EXPECT_EQ(counts->outbox_pending, 0);
}

Status Refund(Ledger& ledger, std::string order_id, std::string payment_status) {
  return WaitFor([&](Ledger::Done done) {
    ledger.RefundOrder(RefundOrderRecord{std::move(order_id), std::move(payment_status), 77, {}},
                       std::move(done));
  });
}

Status CheckInAndWait(Ledger& ledger, std::string ticket_id, std::string event_id,
                      std::int64_t at_ms) {
  return WaitFor([&](Ledger::Done done) {
    ledger.CheckIn(CheckInRecord{std::move(ticket_id), std::move(event_id), at_ms, "operator"},
                   std::move(done));
  });
}

// A refund revokes the tickets and frees the seats, so the seat can be sold again; a second
// refund is order_refunded and an unknown order order_not_found.
TEST_P(LedgerConformance, RefundFreesTheSeatsForAnotherSale) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1", "101-A-2"})).ok());
  ASSERT_TRUE(Refund(*ledger, "ord_1", "voided").ok());
  auto order = ledger->FindOrder("ord_1");
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(order->has_value());
  EXPECT_EQ((*order)->status, "refunded");
  EXPECT_EQ((*order)->payment_status, "voided");
  for (const TicketRecord& ticket : (*order)->tickets) EXPECT_EQ(ticket.revoked_at_ms, 77);
  auto sold = ledger->LoadSoldSeats();
  ASSERT_TRUE(sold.ok());
  EXPECT_TRUE(sold->empty());
  auto due = ledger->LoadDueOutbox(std::numeric_limits<std::int64_t>::max(), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty()) << "a refunded order has nothing left to fulfil";

  Status twice = Refund(*ledger, "ord_1", "voided");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "order_refunded");
  Status unknown = Refund(*ledger, "ord_nope", "voided");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "order_not_found");

  PrepareOrder(*ledger, "ord_2", "hld_2");
  EXPECT_TRUE(Confirm(*ledger, MakeConfirm("ord_2", "hld_2", {"101-A-1"})).ok())
      << "a refunded seat can be sold again";
  auto counts = ledger->CountOrders("evt_shop");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->refunded, 1);
  EXPECT_EQ(counts->confirmed, 1);
  EXPECT_EQ(counts->tickets_sold, 1);
  EXPECT_EQ(counts->revenue_cents, 2'500);
}

// A ticket checks in once; later scans are already_checked_in with the first time; unknown,
// other-event and revoked tickets are invalid_ticket.
TEST_P(LedgerConformance, TicketChecksInExactlyOnce) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1", "101-A-2"})).ok());
  ASSERT_TRUE(CheckInAndWait(*ledger, "tkt_ord_1_0", "evt_shop", 1'000).ok());
  Status again = CheckInAndWait(*ledger, "tkt_ord_1_0", "evt_shop", 2'000);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(again.error().code, "already_checked_in");
  EXPECT_EQ(again.error().details.at("first_checked_in_at_ms").as_int64(), 1'000);
  Status unknown = CheckInAndWait(*ledger, "tkt_nope", "evt_shop", 3'000);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "invalid_ticket");
  Status other_event = CheckInAndWait(*ledger, "tkt_ord_1_1", "evt_other", 3'000);
  ASSERT_FALSE(other_event.ok());
  EXPECT_EQ(other_event.error().code, "invalid_ticket");
  ASSERT_TRUE(Refund(*ledger, "ord_1", "refunded").ok());
  Status revoked = CheckInAndWait(*ledger, "tkt_ord_1_1", "evt_shop", 4'000);
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code, "invalid_ticket");
}

// Many scanners scan one ticket at once: exactly one check-in succeeds.
TEST_P(LedgerConformance, ConcurrentScansCheckInOnce) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"})).ok());
  constexpr int kScanners = 16;
  std::atomic<int> admitted{0};
  std::atomic<int> refused{0};
  std::latch start(kScanners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kScanners; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Status status = CheckInAndWait(*ledger, "tkt_ord_1_0", "evt_shop", 1'000 + i);
      if (status.ok()) ++admitted;
      if (!status.ok() && status.error().code == "already_checked_in") ++refused;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 1);
  EXPECT_EQ(refused.load(), kScanners - 1);
}

// Scanner keys are found by their hash only; a taken hash is scanner_key_exists.
TEST_P(LedgerConformance, ScannerKeysAreFoundByHash) {
  {
    auto ledger = Open();
    ASSERT_NE(ledger, nullptr);
    const ScannerKeyRecord key{"scn_1", "evt_shop", "hash-1", 5};
    ASSERT_TRUE(
        WaitFor([&](Ledger::Done done) { ledger->InsertScannerKey(key, std::move(done)); }).ok());
    Status duplicate = WaitFor([&](Ledger::Done done) {
      ledger->InsertScannerKey(ScannerKeyRecord{"scn_2", "evt_shop", "hash-1", 6}, std::move(done));
    });
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, "scanner_key_exists");
  }
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  auto found = ledger->FindScannerKey("hash-1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "scn_1");
  EXPECT_EQ((*found)->event_id, "evt_shop");
  auto missing = ledger->FindScannerKey("hash-2");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

// A ticket is found by its id with every field, its code once completed, its revocation after a
// refund.
TEST_P(LedgerConformance, TicketIsFoundById) {
  auto ledger = Open();
  ASSERT_NE(ledger, nullptr);
  PrepareOrder(*ledger, "ord_1", "hld_1");
  ASSERT_TRUE(Confirm(*ledger, MakeConfirm("ord_1", "hld_1", {"101-A-1"})).ok());
  auto found = ledger->FindTicket("tkt_ord_1_0");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->order_id, "ord_1");
  EXPECT_EQ((*found)->event_id, "evt_shop");
  EXPECT_EQ((*found)->seat_id, "101-A-1");
  EXPECT_EQ((*found)->price_cents, 2'500);
  EXPECT_EQ((*found)->code, "");
  EXPECT_EQ((*found)->revoked_at_ms, 0);
  ASSERT_TRUE(Refund(*ledger, "ord_1", "voided").ok());
  found = ledger->FindTicket("tkt_ord_1_0");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->revoked_at_ms, 77);
  auto missing = ledger->FindTicket("tkt_nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace boxoffice::ledger_conformance
