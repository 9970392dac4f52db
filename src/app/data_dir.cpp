#include "app/data_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

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

Result<StoredSecret> LoadOrCreateSecret(const std::string& file, const char* env_value,
                                        std::size_t bytes) {
  if (env_value != nullptr && *env_value != '\0') return StoredSecret{env_value, false};
  if (std::ifstream in(file); in) {
    std::ostringstream content;
    content << in.rdbuf();
    std::string value = content.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) return Error::Internal(file + " is empty; delete it to generate a new one");
    return StoredSecret{std::move(value), false};
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
  return StoredSecret{std::move(value), true};
}

}  // namespace boxoffice::app
