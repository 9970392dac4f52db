// Crash tests: a forked child does durable work and writes a record to a pipe each time that
// work is acknowledged; the parent SIGKILLs it once it has read enough records, then checks that
// everything acknowledged survived. The wait is for acknowledgements, never for a time, so a
// slow or busy machine changes only when the kill lands, not the verdict.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace boxoffice::test_support {

// Only a hung or broken child takes this long to acknowledge what the parent waits for.
inline constexpr auto kCrashAcksDeadline = std::chrono::seconds(120);
// A child stops on its own after this, so that none outlives a parent that died first.
inline constexpr auto kCrashChildLifetime = std::chrono::seconds(300);

// Writes `record` to the pipe in one write (records are far below PIPE_BUF, so a write is never
// torn by the kill); a child that cannot write exits with status 6.
template <typename Record>
void WriteAckRecord(int fd, const Record& record) {
  static_assert(std::is_trivially_copyable_v<Record> && sizeof(Record) <= PIPE_BUF);
  ssize_t written;
  do {
    written = write(fd, &record, sizeof(record));
  } while (written < 0 && errno == EINTR);
  if (written != static_cast<ssize_t>(sizeof(record))) _exit(6);
}

// Reads whole records from `fd` into `records`; `pending` keeps a partial record between calls.
// Returns false at end of file.
template <typename Record>
bool ReadAckRecords(int fd, std::string& pending, std::vector<Record>& records) {
  char buffer[64 * 1024];
  ssize_t got;
  do {
    got = read(fd, buffer, sizeof(buffer));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return false;
  pending.append(buffer, static_cast<std::size_t>(got));
  std::size_t offset = 0;
  for (; offset + sizeof(Record) <= pending.size(); offset += sizeof(Record)) {
    Record record;
    std::memcpy(&record, pending.data() + offset, sizeof(record));
    records.push_back(record);
  }
  pending.erase(0, offset);
  return true;
}

// Forks a child that runs `child(ack_fd)`, which must not return (it ends in _exit); reads its
// records until `acks_wanted` of them, SIGKILLs it mid-stream and appends to `records` all it
// acknowledged before it died. Fails the test if the child ends on its own, or acknowledges
// fewer than `acks_wanted` within kCrashAcksDeadline.
template <typename Record>
void KillAfterAcks(std::size_t acks_wanted, const std::function<void(int ack_fd)>& child,
                   std::vector<Record>& records) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0) << std::strerror(errno);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    close(fds[0]);
    child(fds[1]);
    _exit(9);  // a child must end in _exit, never back into GoogleTest
  }
  close(fds[1]);

  const std::size_t before = records.size();
  std::string pending;
  const auto deadline = std::chrono::steady_clock::now() + kCrashAcksDeadline;
  bool open = true;
  while (open && records.size() - before < acks_wanted) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd readable{fds[0], POLLIN, 0};
    if (poll(&readable, 1, static_cast<int>(left.count())) > 0) {
      open = ReadAckRecords(fds[0], pending, records);
    }
  }
  const std::size_t seen = records.size() - before;
  ASSERT_EQ(kill(pid, SIGKILL), 0) << std::strerror(errno);
  int wait_status = 0;
  ASSERT_EQ(waitpid(pid, &wait_status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
      << "the child ended on its own (status " << wait_status << ")";
  EXPECT_GE(seen, acks_wanted) << "the child acknowledged too little before the deadline";
  // Acknowledgements the child wrote before it died are still in the pipe.
  while (ReadAckRecords(fds[0], pending, records)) {
  }
  close(fds[0]);
  EXPECT_TRUE(pending.empty()) << "a torn acknowledgement record";
}

}  // namespace boxoffice::test_support
