// Test helpers shared by the mail adapters' tests: a private temporary folder, running the
// Python helpers next to this file (mail_inspect.py parses a message with Python's `email`
// package, an independent reader; smtp_test_server.py is a real SMTP server on loopback), and
// reading files back.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto.hpp"

extern char** environ;

namespace boxoffice::mail::testing {

inline std::filesystem::path HelperScript(const char* name) {
  return std::filesystem::path(__FILE__).parent_path() / name;
}

// A fresh folder under the system's temporary directory, removed with everything in it.
class TemporaryDirectory {
 public:
  TemporaryDirectory()
      : path_(std::filesystem::temp_directory_path() / ("boxoffice_mail_" + RandomToken(12))) {
    std::filesystem::create_directories(path_);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

inline void WriteFile(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// What Python's `email` package makes of the message in `file` (see mail_inspect.py).
inline boost::json::object InspectWithPython(const std::filesystem::path& file) {
  const std::string command =
      "python3 '" + HelperScript("mail_inspect.py").string() + "' '" + file.string() + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (pipe == nullptr) return {};
  std::string output;
  char buffer[4096];
  std::size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, read);
  EXPECT_EQ(::pclose(pipe), 0) << "mail_inspect.py failed on " << file;
  boost::system::error_code error;
  boost::json::value parsed = boost::json::parse(output, error);
  EXPECT_FALSE(error) << output;
  return parsed.is_object() ? parsed.as_object() : boost::json::object{};
}

// smtp_test_server.py as a child process, stopped when this object goes away.
class SmtpTestServer {
 public:
  // `mode` is accept, reject-rcpt or tempfail-rcpt; with a user, the server requires AUTH PLAIN.
  explicit SmtpTestServer(const std::filesystem::path& directory, std::string mode = "accept",
                          std::string user = "", std::string password = "")
      : out_(directory / ("received-" + mode + ".json")), port_file_(directory / ("port-" + mode)) {
    std::vector<std::string> args = {"python3",     HelperScript("smtp_test_server.py").string(),
                                     "--mode",      mode,
                                     "--out",       out_.string(),
                                     "--port-file", port_file_.string()};
    if (!user.empty()) args.insert(args.end(), {"--user", user, "--password", password});
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    EXPECT_EQ(::posix_spawnp(&pid_, "python3", nullptr, nullptr, argv.data(), environ), 0);
    // The server writes its port once it listens; give a loaded machine ample time.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(port_file_) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(std::filesystem::exists(port_file_)) << "the SMTP test server did not start";
    if (std::filesystem::exists(port_file_)) port_ = std::stoi(ReadFile(port_file_));
  }
  ~SmtpTestServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  SmtpTestServer(const SmtpTestServer&) = delete;
  SmtpTestServer& operator=(const SmtpTestServer&) = delete;

  std::string Url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  // The last mail the server accepted, as written by the script; empty when none arrived.
  bool Received() const { return std::filesystem::exists(out_); }
  boost::json::object LastReceived() const {
    return boost::json::parse(ReadFile(out_)).as_object();
  }

 private:
  std::filesystem::path out_;
  std::filesystem::path port_file_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace boxoffice::mail::testing
