// Chooses the `Mailer` adapter from the configuration: the SMTP mailer when `--smtp-url` is set,
// otherwise the file mailer writing `.eml` files into `<data-dir>/mail/` (the default, so a
// fresh install keeps every mail where an operator can read it).
#pragma once

#include <filesystem>
#include <memory>

#include "app/config.hpp"
#include "ports/mailer.hpp"

namespace boxoffice::app {

// The SMTP password is `config.smtp_password`, or BOXOFFICE_SMTP_PASSWORD when that is empty.
// Both mailers date their messages by the system clock. Logs which adapter it chose. Call it at
// start, before mail is sent: it clears the file mailer's temporaries a crash left behind.
std::unique_ptr<Mailer> BuildMailer(const MailConfig& config,
                                    const std::filesystem::path& data_dir);

}  // namespace boxoffice::app
