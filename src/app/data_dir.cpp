#include "app/data_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "common/crypto.hpp"

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

// The secrets in `text`, split at `separator`, each trimmed of blanks; `source` names it in errors.
Result<std::vector<std::string>> SplitSecrets(std::string_view text, char separator,
                                              const std::string& source) {
  std::vector<std::string> values;
  while (!text.empty()) {
    const std::size_t end = text.find(separator);
    std::string_view item = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
      item.remove_prefix(1);
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
      item.remove_suffix(1);
    }
    if (item.empty() || item.front() == '#') continue;
    if (std::find(values.begin(), values.end(), item) != values.end()) {
      return Error::Internal(source + " holds one secret twice");
    }
    values.emplace_back(item);
  }
  if (values.empty()) return Error::Internal(source + " holds no secret");
  if (values.size() > kSecretsMax) {
    return Error::Internal(source + " holds " + std::to_string(values.size()) +
                           " secrets; at most " + std::to_string(kSecretsMax) +
                           ": retire the oldest");
  }
  return values;
}

}  // namespace

Result<StoredSecrets> LoadOrCreateSecrets(const std::string& file, const char* env_value,
                                          std::size_t bytes) {
  if (env_value != nullptr && *env_value != '\0') {
    Result<std::vector<std::string>> values =
        SplitSecrets(env_value, ',', "the environment's secret list");
    if (!values) return values.error();
    return StoredSecrets{std::move(values).value(), false};
  }
  if (std::ifstream in(file); in) {
    std::ostringstream content;
    content << in.rdbuf();
    Result<std::vector<std::string>> values =
        SplitSecrets(content.str(), '\n', file + " (delete it to generate a new one)");
    if (!values) return values.error();
    return StoredSecrets{std::move(values).value(), false};
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
