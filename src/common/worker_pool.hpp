// A small, bounded pool of threads for CPU-heavy work that must not run on an I/O thread
// (password hashing takes tens of milliseconds). When the queue is full, `TrySubmit` refuses
// and the caller answers 503, so a login storm degrades into quick refusals, not a pile-up.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace boxoffice {

class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t queue_max);
  ~WorkerPool();  // runs what is queued, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when `queue_max` tasks already wait.
  bool TrySubmit(std::function<void()> task);
  // Queues `task` however many wait: for the next step of a task the pool accepted before (an
  // answer it was waiting for), which whoever accepted that task bounds. Not while the pool is
  // being destroyed.
  void Submit(std::function<void()> task);

 private:
  void Work();

  const std::size_t queue_max_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace boxoffice
