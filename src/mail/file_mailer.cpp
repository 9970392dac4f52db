#include "mail/file_mailer.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/crypto.hpp"
#include "common/durable_file.hpp"
#include "common/log.hpp"

namespace boxoffice::mail {
namespace {

constexpr std::size_t kFileNameStemBytesMax = 120;

Error WriteFailed(std::string_view step, const std::filesystem::path& path, int error_number) {
  LogError("mail_write_failed",
           {{"step", step}, {"path", path.string()}, {"error", std::strerror(error_number)}});
  return Error::Make(ErrorKind::kUnavailable, "mail_unavailable",
                     "The mail could not be written; it will be retried.");
}

}  // namespace

std::string MailFileName(std::string_view message_id) {
  std::string_view inner = message_id;
  if (inner.size() >= 2 && inner.front() == '<' && inner.back() == '>') {
    inner = inner.substr(1, inner.size() - 2);
  }
  std::string stem;
  bool changed = false;
  for (const char c : inner) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '@' || c == '+' || c == '-';
    stem += safe ? c : '_';
    changed = changed || !safe;
  }
  // A leading dot would hide the file and mark it as a temporary one.
  if (stem.empty() || stem.front() == '.') {
    stem.insert(0, "_");
    changed = true;
  }
  if (stem.size() > kFileNameStemBytesMax) {
    stem.resize(kFileNameStemBytesMax);
    changed = true;
  }
  if (changed) stem += "-" + Sha256Hex(inner).substr(0, 16);
  return stem + ".eml";
}

FileMailer::FileMailer(FileMailerOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

std::filesystem::path FileMailer::PathFor(std::string_view message_id) const {
  return options_.directory / MailFileName(message_id);
}

std::size_t FileMailer::RemoveAbandonedTemporaries() const {
  std::size_t removed = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(options_.directory, error)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") && name.ends_with(".tmp") && std::filesystem::remove(entry, error)) {
      ++removed;
    }
  }
  if (removed > 0) LogInfo("mail_temporaries_removed", {{"count", removed}});
  return removed;
}

Status FileMailer::Send(const MailMessage& message) {
  Result<std::string> bytes = BuildMimeMessage(message, options_.sender, clock_.Now());
  if (!bytes) return bytes.error();

  const std::filesystem::path& directory = options_.directory;
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    // Missing parents are created with the default mode; the mail folder itself stays private.
    std::error_code error;
    if (errno == ENOENT) std::filesystem::create_directories(directory.parent_path(), error);
    if (error) return WriteFailed("mkdir", directory, error.value());
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
      return WriteFailed("mkdir", directory, errno);
    }
  }
  const std::filesystem::path final_path = PathFor(message.message_id);
  // Unique per attempt, so concurrent sends of one message never write into the same file; the
  // leading dot and the suffix keep readers that look for "*.eml" from seeing it half-written.
  const std::filesystem::path temporary_path =
      directory / ("." + final_path.filename().string() + "." + RandomToken(12) + ".tmp");
  if (const std::optional<FileWriteError> failed =
          ReplaceFileDurably(final_path, temporary_path, *bytes)) {
    return WriteFailed(failed->step, failed->path, failed->error_number);
  }
  return {};
}

}  // namespace boxoffice::mail
