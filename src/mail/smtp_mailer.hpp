// The `Mailer` that really sends: SMTP over libcurl to a relay (a provider's submission port or a
// local MTA). `smtp://host:587` upgrades with STARTTLS when the server offers it (or insists on
// it with `require_tls`); `smtps://host:465` is TLS from the first byte. Each send is one short
// connection, so there is no session state to share between the outbox worker's threads.
#pragma once

#include <chrono>
#include <string>

#include "mail/mime.hpp"
#include "ports/clock.hpp"
#include "ports/mailer.hpp"

namespace boxoffice::mail {

struct SmtpMailerOptions {
  std::string url;           // smtp://host[:port] or smtps://host[:port]; other schemes are refused
  std::string username;      // empty: no AUTH
  std::string password;      // never logged
  Sender sender;             // From: header and MAIL FROM
  bool require_tls = false;  // fail rather than send in clear text when STARTTLS is not offered
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{60'000};  // bounds how long Send may block
};

class SmtpMailer final : public Mailer {
 public:
  // `clock` dates the messages and must outlive the mailer.
  SmtpMailer(SmtpMailerOptions options, const Clock& clock);

  // Unprocessable when the message breaks a rule of BuildMimeMessage, or the server refuses it
  // for good (a 5xx reply to the recipient or the data: `mail_rejected`, `details.smtp_code`).
  // Unavailable (retry later) for everything a later attempt may fix: a refused or lost
  // connection, a timeout, a 4xx reply, failed TLS, or rejected credentials — a configuration
  // mistake must not throw the fan's mail away. Safe from many threads.
  Status Send(const MailMessage& message) override;

 private:
  SmtpMailerOptions options_;
  std::string server_for_logs_;  // the URL without user information
  const Clock& clock_;
};

// `url` with any "user:password@" removed, for logs and errors.
std::string RedactUrlCredentials(std::string_view url);

}  // namespace boxoffice::mail
