#include "common/durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace boxoffice {
namespace {

// Closes the descriptor when the scope ends and removes the temporary file unless committed.
class TemporaryFile {
 public:
  TemporaryFile(std::filesystem::path path, int descriptor)
      : path_(std::move(path)), descriptor_(descriptor) {}
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (descriptor_ >= 0) ::close(descriptor_);
    if (!committed_) ::unlink(path_.c_str());
  }
  int descriptor() const { return descriptor_; }
  // Closes the file, reporting the error close may carry (NFS reports write errors there).
  bool Close() {
    const int descriptor = descriptor_;
    descriptor_ = -1;
    return ::close(descriptor) == 0;
  }
  void Commit() { committed_ = true; }

 private:
  std::filesystem::path path_;
  int descriptor_;
  bool committed_ = false;
};

bool WriteAll(int descriptor, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(descriptor, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

FileWriteError Failed(std::string step, const std::filesystem::path& path) {
  return FileWriteError{std::move(step), path, errno};
}

}  // namespace

std::optional<FileWriteError> ReplaceFileDurably(const std::filesystem::path& path,
                                                 const std::filesystem::path& temporary,
                                                 std::string_view bytes) {
  const int descriptor = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (descriptor < 0) return Failed("open", temporary);
  TemporaryFile file(temporary, descriptor);
  if (!WriteAll(file.descriptor(), bytes)) return Failed("write", temporary);
  if (::fsync(file.descriptor()) != 0) return Failed("fsync", temporary);
  if (!file.Close()) return Failed("close", temporary);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return Failed("rename", path);
  file.Commit();
  // The rename is durable only once the folder's entry is on disk.
  std::filesystem::path directory = path.parent_path();
  if (directory.empty()) directory = ".";
  const int directory_descriptor = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory_descriptor < 0) return Failed("open_dir", directory);
  const int synced = ::fsync(directory_descriptor);
  const int sync_error = errno;
  ::close(directory_descriptor);
  if (synced != 0) return FileWriteError{"fsync_dir", directory, sync_error};
  return std::nullopt;
}

}  // namespace boxoffice
