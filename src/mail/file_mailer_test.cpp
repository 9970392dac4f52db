#include "mail/file_mailer.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "common/crypto.hpp"
#include "mail/mail_test_support.hpp"

namespace boxoffice::mail {
namespace {

using testing::InspectWithPython;
using testing::ReadFile;
using testing::TemporaryDirectory;

MailMessage Confirmation(const std::string& order_id, std::size_t attachment_bytes = 64) {
  MailMessage message;
  message.message_id = "<" + order_id + ".confirmation@boxoffice.test>";
  message.to = "fan@example.com";
  message.subject = "Tickets für " + order_id;
  message.text = "Your order " + order_id + " is confirmed.\n";
  message.attachments.push_back(
      {"ticket-" + order_id + ".svg", "image/svg+xml", std::string(attachment_bytes, 'q')});
  return message;
}

// Names of the files in `directory`, sorted.
std::set<std::string> Listing(const std::filesystem::path& directory) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

class FileMailerTest : public ::testing::Test {
 protected:
  void SetUp() override { InitCrypto(); }

  TemporaryDirectory temporary_;
  std::filesystem::path directory_ = temporary_.path() / "mail";
  FakeClock clock_;
  Sender sender_{"tickets@boxoffice.test", "boxoffice"};
  FileMailer mailer_{{directory_, sender_}, clock_};
};

// A sent mail is one .eml file named after its message id, holding exactly the MIME message,
// which Python's `email` package reads without defects; nothing else is left in the folder.
TEST_F(FileMailerTest, WritesOneWholeEmlFile) {
  const MailMessage message = Confirmation("ord_1");
  ASSERT_TRUE(mailer_.Send(message));
  EXPECT_EQ(Listing(directory_), std::set<std::string>{"ord_1.confirmation@boxoffice.test.eml"});
  const std::filesystem::path file = mailer_.PathFor(message.message_id);
  EXPECT_EQ(ReadFile(file), BuildMimeMessage(message, sender_, clock_.Now()).value());
  const boost::json::object seen = InspectWithPython(file);
  EXPECT_EQ(seen.at("subject").as_string(), message.subject);
  EXPECT_EQ(seen.at("defects").as_array().size(), 0u);
  EXPECT_EQ(seen.at("attachments").as_array().size(), 1u);
  EXPECT_EQ(std::filesystem::status(directory_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all)
      << "the mail folder holds fans' addresses: owner only";
}

// Sending the same message id again (the outbox worker retrying after a crash) replaces the file:
// one file, with the latest attempt's content.
TEST_F(FileMailerTest, SameMessageIdTwiceLeavesOneFile) {
  const MailMessage message = Confirmation("ord_2");
  ASSERT_TRUE(mailer_.Send(message));
  clock_.Advance(std::chrono::minutes(5));
  ASSERT_TRUE(mailer_.Send(message));
  EXPECT_EQ(Listing(directory_).size(), 1u);
  EXPECT_EQ(ReadFile(mailer_.PathFor(message.message_id)),
            BuildMimeMessage(message, sender_, clock_.Now()).value());
}

// Many threads sending overlapping ids at once leave exactly one whole file per id and no
// temporary files.
TEST_F(FileMailerTest, ConcurrentSendsLeaveOneWholeFilePerId) {
  constexpr int kThreads = 8;
  constexpr int kSendsPerThread = 25;
  constexpr int kIds = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSendsPerThread; ++i) {
        if (!mailer_.Send(Confirmation("ord_c" + std::to_string((t + i) % kIds), 20'000))) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  const std::set<std::string> names = Listing(directory_);
  EXPECT_EQ(names.size(), static_cast<std::size_t>(kIds));
  for (int id = 0; id < kIds; ++id) {
    const MailMessage message = Confirmation("ord_c" + std::to_string(id), 20'000);
    EXPECT_EQ(ReadFile(mailer_.PathFor(message.message_id)),
              BuildMimeMessage(message, sender_, clock_.Now()).value());
  }
}

// A process killed (SIGKILL) in the middle of writing mails leaves only whole .eml files: each
// one is byte for byte the message it names. Half-written data only ever sits in dot-files.
TEST_F(FileMailerTest, KillNineLeavesOnlyWholeFiles) {
  constexpr std::size_t kAttachmentBytes = 1 << 20;  // slow enough to be killed mid-write
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (int i = 0; i < 60; ++i) {
      (void)mailer_.Send(Confirmation("ord_k" + std::to_string(i), kAttachmentBytes));
    }
    ::_exit(0);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::size_t whole_files = 0;
  while (whole_files < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    whole_files = 0;
    if (!std::filesystem::exists(directory_)) continue;
    for (const std::string& name : Listing(directory_)) whole_files += name.ends_with(".eml");
  }
  // Let the next mail get under way so the kill lands inside a write.
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child finished before it was killed";
  ASSERT_GE(whole_files, 3u);
  std::size_t checked = 0;
  for (const std::string& name : Listing(directory_)) {
    if (name.front() == '.') {
      EXPECT_TRUE(name.ends_with(".tmp")) << name;
      continue;
    }
    ASSERT_TRUE(name.starts_with("ord_k") && name.ends_with(".eml")) << name;
    const std::string order_id = name.substr(0, name.find('.'));
    const MailMessage message = Confirmation(order_id, kAttachmentBytes);
    EXPECT_EQ(ReadFile(directory_ / name), BuildMimeMessage(message, sender_, clock_.Now()).value())
        << name << " is not whole";
    ++checked;
  }
  EXPECT_GE(checked, 3u);
  // What the killed write left behind is cleared at the next start; the whole mails stay.
  mailer_.RemoveAbandonedTemporaries();
  for (const std::string& name : Listing(directory_)) EXPECT_TRUE(name.ends_with(".eml")) << name;
  EXPECT_EQ(Listing(directory_).size(), checked);
}

// Only the dot-files of interrupted writes are removed, never a mail.
TEST_F(FileMailerTest, RemovesOnlyAbandonedTemporaries) {
  EXPECT_EQ(mailer_.RemoveAbandonedTemporaries(), 0u) << "a missing folder is not an error";
  ASSERT_TRUE(mailer_.Send(Confirmation("ord_6")));
  testing::WriteFile(directory_ / ".ord_7.confirmation@boxoffice.test.eml.abc.tmp", "half");
  testing::WriteFile(directory_ / "notes.tmp", "not ours");
  EXPECT_EQ(mailer_.RemoveAbandonedTemporaries(), 1u);
  EXPECT_EQ(Listing(directory_),
            (std::set<std::string>{"notes.tmp", "ord_6.confirmation@boxoffice.test.eml"}));
}

// A message with a line break in a header field is refused and leaves no file behind.
TEST_F(FileMailerTest, RefusesHeaderInjection) {
  MailMessage message = Confirmation("ord_3");
  message.to = "fan@example.com\r\nBcc: everyone@example.com";
  Status sent = mailer_.Send(message);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, ErrorKind::kUnprocessable);
  EXPECT_EQ(sent.error().code, "mail_header_injection");
  message = Confirmation("ord_3");
  message.subject = "Tickets\nBcc: everyone@example.com";
  EXPECT_EQ(mailer_.Send(message).error().code, "mail_header_injection");
  EXPECT_FALSE(std::filesystem::exists(directory_) && !Listing(directory_).empty());
}

// A folder that cannot be written is a temporary failure (the outbox retries), not a lost mail.
TEST_F(FileMailerTest, UnwritableFolderIsUnavailable) {
  const std::filesystem::path not_a_folder = temporary_.path() / "file";
  testing::WriteFile(not_a_folder, "x");
  FileMailer mailer({not_a_folder / "mail", sender_}, clock_);
  Status sent = mailer.Send(Confirmation("ord_4"));
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, ErrorKind::kUnavailable);
  FileMailer blocked({not_a_folder, sender_}, clock_);
  EXPECT_EQ(blocked.Send(Confirmation("ord_4")).error().kind, ErrorKind::kUnavailable);
}

// Missing parent folders are created.
TEST_F(FileMailerTest, CreatesMissingFolders) {
  FileMailer mailer({temporary_.path() / "a" / "b" / "mail", sender_}, clock_);
  ASSERT_TRUE(mailer.Send(Confirmation("ord_5")));
  EXPECT_TRUE(std::filesystem::exists(mailer.PathFor(Confirmation("ord_5").message_id)));
}

// File names keep safe ids readable, and ids that would collide after replacing characters, or
// that are long, get a hash so they never share a file.
TEST(MailFileNameTest, SanitizesAndDisambiguates) {
  InitCrypto();
  EXPECT_EQ(MailFileName("<ord_1.confirmation@host>"), "ord_1.confirmation@host.eml");
  const std::string slash = MailFileName("<ord/1@host>");
  const std::string underscore = MailFileName("<ord_1@host>");
  EXPECT_NE(slash, underscore);
  EXPECT_TRUE(slash.starts_with("ord_1@host-")) << slash;
  EXPECT_EQ(slash.find('/'), std::string::npos);
  EXPECT_EQ(MailFileName("<../../etc/passwd@x>").find('/'), std::string::npos);
  EXPECT_NE(MailFileName("<.hidden@x>").front(), '.');
  const std::string long_a = MailFileName("<" + std::string(200, 'a') + "1@x>");
  const std::string long_b = MailFileName("<" + std::string(200, 'a') + "2@x>");
  EXPECT_NE(long_a, long_b);
  EXPECT_LE(long_a.size(), 150u);
}

}  // namespace
}  // namespace boxoffice::mail
