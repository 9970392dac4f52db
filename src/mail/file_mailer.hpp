// The default `Mailer`: instead of sending, writes each message as an RFC 5322 `.eml` file into a
// folder (by default `<data-dir>/mail/`), where an operator, a test or a mail client can read it.
// Files appear atomically (temporary file, fsync, rename, fsync of the folder), so a crash leaves
// a whole mail or none; the name comes from the message id, so sending the same message again —
// as the outbox worker does after a crash — replaces the file instead of adding a second one.
#pragma once

#include <filesystem>
#include <string>

#include "mail/mime.hpp"
#include "ports/clock.hpp"
#include "ports/mailer.hpp"

namespace boxoffice::mail {

struct FileMailerOptions {
  std::filesystem::path directory;  // created (mode 0700) on the first send when missing
  Sender sender;
};

class FileMailer final : public Mailer {
 public:
  // `clock` dates the messages and must outlive the mailer.
  FileMailer(FileMailerOptions options, const Clock& clock);

  // Unprocessable when the message breaks a rule of BuildMimeMessage; Unavailable when the file
  // cannot be written (disk full, permissions), which a retry may fix. Safe from many threads.
  Status Send(const MailMessage& message) override;

  // Deletes the temporary files of writes a crash interrupted; returns how many. Call it at start,
  // before any Send, since it cannot tell an abandoned file from one being written.
  std::size_t RemoveAbandonedTemporaries() const;

  // The file a message with this id is written to.
  std::filesystem::path PathFor(std::string_view message_id) const;

 private:
  FileMailerOptions options_;
  const Clock& clock_;
};

// A file name for a message id: the id without its angle brackets, with every character outside
// [A-Za-z0-9._@+-] replaced by '_', cut to 120 bytes, plus "-" and 16 hex digits of its SHA-256
// whenever anything was replaced or cut (so two ids never share a file), plus ".eml".
std::string MailFileName(std::string_view message_id);

}  // namespace boxoffice::mail
