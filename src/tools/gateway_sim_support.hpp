// What the APIs of `boxoffice gateway-sim` (gateway_sim.hpp) share: the timer that delays and
// hangs answers without putting an I/O thread to sleep, the fault dice, and random ids.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tools/gateway_sim.hpp"

namespace boxoffice::tools {

using SimClock = std::chrono::steady_clock;

// Runs callbacks at their deadlines on one timer thread, so that latency and hangs never put an
// I/O thread to sleep. Stop() runs whatever is left at once, so that no request is left hanging.
//
// With `together` above 1 (--answer-together), API answers are also held until that many wait,
// then all go at once: a client that keeps fewer calls open at the same time gets no answer
// until it gives up, which is how a test proves that a client's calls overlap without timing
// anything.
class DelayQueue {
 public:
  explicit DelayQueue(unsigned together = 0) : together_(together), thread_([this] { Loop(); }) {}
  ~DelayQueue() { Stop(); }

  // An API answer: after `latency`, and once `together` of them wait.
  void Answer(std::chrono::milliseconds latency, std::function<void()> task) {
    if (together_ > 1) {
      task = [this, task = std::move(task)]() mutable { Gather(std::move(task)); };
    }
    if (latency.count() == 0) {
      task();
    } else {
      Schedule(SimClock::now() + latency, std::move(task));
    }
  }

  void Schedule(SimClock::time_point at, std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        tasks_.push(Task{at, next_sequence_++, std::move(task)});
        wake_.notify_one();
        return;
      }
    }
    task();  // stopped: answer now
  }

  void Stop() {
    std::vector<std::function<void()>> gathered;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      gathered.swap(gathered_);
    }
    wake_.notify_one();
    thread_.join();
    for (std::function<void()>& task : gathered) task();
  }

 private:
  void Gather(std::function<void()> task) {
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        gathered_.push_back(std::move(task));
        if (gathered_.size() < together_) return;
        ready.swap(gathered_);
      } else {
        ready.push_back(std::move(task));
      }
    }
    for (std::function<void()>& run : ready) run();
  }

  struct Task {
    SimClock::time_point at;
    std::uint64_t sequence;
    std::function<void()> run;
    bool operator>(const Task& other) const {
      return at != other.at ? at > other.at : sequence > other.sequence;
    }
  };

  void Loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (tasks_.empty()) {
        if (stopping_) return;
        wake_.wait(lock);
        continue;
      }
      if (!stopping_ && tasks_.top().at > SimClock::now()) {
        // A copy: the heap may reallocate while the lock is released.
        const SimClock::time_point next = tasks_.top().at;
        wake_.wait_until(lock, next);
        continue;
      }
      std::function<void()> run = std::move(const_cast<Task&>(tasks_.top()).run);
      tasks_.pop();
      lock.unlock();
      run();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::priority_queue<Task, std::vector<Task>, std::greater<>> tasks_;
  std::uint64_t next_sequence_ = 0;
  bool stopping_ = false;
  const unsigned together_;
  std::vector<std::function<void()>> gathered_;  // answers waiting for `together_` of them
  std::thread thread_;                           // last: starts after the members it uses
};

// What a request turned out to be after its latency: an answer, and whether it then hangs.
enum class Fault { kNone, kError, kTimeout };

// The fault a request meets, from `options`' rates. Only a POST can hang: a timeout is
// interesting where it leaves a payment in doubt, and a lookup after it must be able to answer.
inline Fault RollSimFault(const GatewaySimOptions& options, std::mt19937_64& random, bool post) {
  const double roll = std::uniform_real_distribution<double>(0.0, 1.0)(random);
  if (roll < options.error_rate) return Fault::kError;
  if (post && roll < options.error_rate + options.timeout_rate) return Fault::kTimeout;
  return Fault::kNone;
}

// `prefix` and `length` random letters and digits.
inline std::string RandomSimId(std::mt19937_64& random, std::string_view prefix, int length = 24) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string id(prefix);
  std::uniform_int_distribution<int> pick(0, sizeof(kAlphabet) - 2);
  for (int i = 0; i < length; ++i) id += kAlphabet[pick(random)];
  return id;
}

}  // namespace boxoffice::tools
