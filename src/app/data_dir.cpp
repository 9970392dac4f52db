#include "app/data_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string_view>

#include "common/crypto.hpp"
#include "common/durable_file.hpp"
#include "common/text.hpp"
#include "common/token.hpp"

namespace boxoffice::app {

Status EnsureDataDir(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return Error::Internal("cannot create data dir " + path + ": " + error.message());
  std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, error);
  return {};
}

namespace {

// A ring as a node uses it: one secret at least, kSecretsMax at most, none twice. `source` names
// where they came from in the error, which never repeats a secret.
Result<StoredSecrets> Ring(std::vector<std::string> values, const std::string& source) {
  if (values.empty()) return Error::Internal(source + " holds no secret");
  if (values.size() > kSecretsMax) {
    return Error::Internal(source + " holds " + std::to_string(values.size()) +
                           " secrets; at most " + std::to_string(kSecretsMax) +
                           ": retire the oldest");
  }
  for (auto it = values.begin(); it != values.end(); ++it) {
    if (std::find(values.begin(), it, *it) != it) {
      return Error::Internal(source + " holds one secret twice");
    }
  }
  return StoredSecrets{std::move(values), false};
}

// The secret a line of a secret file holds; empty for blank lines and comments.
std::string_view SecretOf(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::string_view secret = TrimBlanks(line);
  return secret.empty() || secret.front() == '#' ? std::string_view() : secret;
}

// The file's lines as written, or nullopt when it cannot be opened.
std::optional<std::vector<std::string>> ReadLines(const std::string& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  return lines;
}

// The lines of a secret file that must exist and hold a ring.
Result<std::vector<std::string>> ReadRingLines(const std::string& file) {
  std::optional<std::vector<std::string>> lines = ReadLines(file);
  if (!lines) {
    return Error::Make(ErrorKind::kNotFound, "not_found",
                       "cannot read " + file + ": " + std::strerror(errno));
  }
  return *std::move(lines);
}

std::vector<std::string> SecretsOf(const std::vector<std::string>& lines) {
  std::vector<std::string> secrets;
  for (const std::string& line : lines) {
    if (const std::string_view secret = SecretOf(line); !secret.empty()) {
      secrets.emplace_back(secret);
    }
  }
  return secrets;
}

Status WriteLines(const std::string& file, const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  const std::optional<FileWriteError> failed = ReplaceFileDurably(file, file + ".new", text);
  if (!failed) return {};
  if (failed->step == "open" && failed->error_number == EEXIST) {
    return Error::Internal(failed->path.string() +
                           " exists: another change of the keys is under way, or one was cut off "
                           "(then delete it and try again)");
  }
  return Error::Internal("cannot " + failed->step + " " + failed->path.string() + ": " +
                         std::strerror(failed->error_number));
}

}  // namespace

Result<std::vector<std::string>> ReadSecretFile(const std::string& file) {
  Result<std::vector<std::string>> lines = ReadRingLines(file);
  if (!lines) return lines.error();
  Result<StoredSecrets> ring = Ring(SecretsOf(*lines), file);
  if (!ring) return ring.error();
  return std::move(ring->values);
}

Result<std::string> RotateSecretFile(const std::string& file, std::size_t bytes) {
  Result<std::vector<std::string>> lines = ReadRingLines(file);
  if (!lines) return lines.error();
  Result<StoredSecrets> ring = Ring(SecretsOf(*lines), file);
  if (!ring) return ring.error();
  if (ring->values.size() == kSecretsMax) {
    return Error::Internal(file + " holds " + std::to_string(kSecretsMax) +
                           " secrets, the most a node keeps: retire one first");
  }
  std::string secret = HexEncode(RandomBytes(bytes));
  // Before the first secret, so that comments heading the file stay at its head.
  const auto first = std::find_if(lines->begin(), lines->end(),
                                  [](const std::string& line) { return !SecretOf(line).empty(); });
  lines->insert(first, secret);
  if (Status written = WriteLines(file, *lines); !written) return written.error();
  return secret;
}

Status RetireSecretFromFile(const std::string& file, std::string_view id) {
  Result<std::vector<std::string>> lines = ReadRingLines(file);
  if (!lines) return lines.error();
  Result<StoredSecrets> ring = Ring(SecretsOf(*lines), file);
  if (!ring) return ring.error();
  const auto retired = std::find_if(lines->begin(), lines->end(), [id](const std::string& line) {
    const std::string_view secret = SecretOf(line);
    return !secret.empty() && KeyId(secret) == id;
  });
  if (retired == lines->end()) {
    return Error::Make(ErrorKind::kNotFound, "not_found",
                       file + " holds no secret with id " + std::string(id) +
                           " (boxoffice keys list shows the ids)");
  }
  if (ring->values.size() == 1) {
    return Error::Internal(file + " holds that secret only: rotate first, then retire it");
  }
  lines->erase(retired);
  return WriteLines(file, *lines);
}

Result<StoredSecrets> LoadOrCreateSecrets(const std::string& file, const char* env_value,
                                          std::size_t bytes) {
  if (env_value != nullptr && *env_value != '\0') {
    return Ring(SplitList(env_value), "the environment's secret list");
  }
  if (std::optional<std::vector<std::string>> lines = ReadLines(file)) {
    return Ring(SecretsOf(*lines), file + " (delete it to generate a new one)");
  }
  std::string value = HexEncode(RandomBytes(bytes));
  // O_EXCL: two processes starting on one data dir must not both believe they created it.
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error::Internal("cannot create " + file + ": " + std::strerror(errno));
  const std::string line = value + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return Error::Internal("cannot write " + file + ": " + std::strerror(errno));
  return StoredSecrets{{std::move(value)}, true};
}

Result<StoredSecrets> LoadOrCreateSecrets(const std::string& data_dir, const SecretKind& kind) {
  return LoadOrCreateSecrets(kind.PathIn(data_dir), std::getenv(kind.env), kind.bytes);
}

}  // namespace boxoffice::app
