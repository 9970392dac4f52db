#include "app/mail_setup.hpp"

#include <cstdlib>

#include "common/log.hpp"
#include "mail/file_mailer.hpp"
#include "mail/smtp_mailer.hpp"

namespace boxoffice::app {

std::unique_ptr<Mailer> BuildMailer(const MailConfig& config,
                                    const std::filesystem::path& data_dir) {
  static const SystemClock clock;
  const mail::Sender sender{config.from, config.from_name};
  if (config.smtp_url.empty()) {
    const std::filesystem::path directory = data_dir / "mail";
    LogInfo("mailer", {{"adapter", "file"}, {"directory", directory.string()}});
    auto mailer =
        std::make_unique<mail::FileMailer>(mail::FileMailerOptions{directory, sender}, clock);
    mailer->RemoveAbandonedTemporaries();
    return mailer;
  }
  mail::SmtpMailerOptions options;
  options.url = config.smtp_url;
  options.username = config.smtp_user;
  options.password = config.smtp_password;
  if (options.password.empty()) {
    const char* from_environment = std::getenv("BOXOFFICE_SMTP_PASSWORD");
    if (from_environment != nullptr) options.password = from_environment;
  }
  options.sender = sender;
  options.require_tls = config.smtp_require_tls;
  options.total_timeout = std::chrono::seconds(config.smtp_timeout_s);
  options.connect_timeout = std::min(options.total_timeout, std::chrono::milliseconds(10'000));
  LogInfo("mailer", {{"adapter", "smtp"},
                     {"server", mail::RedactUrlCredentials(config.smtp_url)},
                     {"require_tls", config.smtp_require_tls},
                     {"authenticated", !config.smtp_user.empty()}});
  return std::make_unique<mail::SmtpMailer>(std::move(options), clock);
}

}  // namespace boxoffice::app
