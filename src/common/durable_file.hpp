// Replacing a small file so that a crash leaves either the old bytes or the new ones, never a mix,
// and the new ones on disk once the call returns: written to a temporary file beside it, synced,
// renamed over it, and the folder synced. The mailer's .eml files and the data dir's secret files
// are written this way.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace boxoffice {

// Why a replacement failed: the step ("open", "write", "fsync", "close", "rename", "open_dir",
// "fsync_dir"), the path it was working on, and errno.
struct FileWriteError {
  std::string step;
  std::filesystem::path path;
  int error_number = 0;
};

// Creates `temporary` (mode 0600; it must not exist, so a fixed name also keeps two writers
// apart: the second gets "open" with EEXIST), writes `bytes`, and replaces `path` with it. On any
// failure but that EEXIST the temporary file is removed and `path` is untouched.
std::optional<FileWriteError> ReplaceFileDurably(const std::filesystem::path& path,
                                                 const std::filesystem::path& temporary,
                                                 std::string_view bytes);

}  // namespace boxoffice
