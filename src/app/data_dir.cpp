#include "app/data_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "common/crypto.hpp"
#include "common/text.hpp"

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

}  // namespace

Result<StoredSecrets> LoadOrCreateSecrets(const std::string& file, const char* env_value,
                                          std::size_t bytes) {
  if (env_value != nullptr && *env_value != '\0') {
    return Ring(SplitList(env_value), "the environment's secret list");
  }
  if (std::ifstream in(file); in) {
    std::vector<std::string> values;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const std::string_view secret = TrimBlanks(line);
      if (!secret.empty() && secret.front() != '#') values.emplace_back(secret);
    }
    return Ring(std::move(values), file + " (delete it to generate a new one)");
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

}  // namespace boxoffice::app
