#include "app/mail_setup.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/crypto.hpp"
#include "mail/mail_test_support.hpp"
#include "mail/mime.hpp"

namespace boxoffice::app {
namespace {

using mail::testing::SmtpTestServer;
using mail::testing::TemporaryDirectory;

MailConfig ParseMail(std::vector<std::string> args) {
  CLI::App command{"test"};
  ServeConfig config;
  AddServeOptions(command, config);
  std::vector<const char*> argv = {"serve"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  command.parse(static_cast<int>(argv.size()), argv.data());
  return config.mail;
}

MailMessage Confirmation() {
  MailMessage message;
  message.message_id = "<ord_m1.confirmation@boxoffice.test>";
  message.to = "fan@example.com";
  message.subject = "Your tickets";
  message.text = "Confirmed.\n";
  return message;
}

// Without mail settings, mails go to files; the flags and their environment variables fill the
// SMTP settings; bad URLs, addresses and names are refused by the parser.
TEST(MailConfigTest, ParsesMailOptions) {
  const MailConfig defaults = ParseMail({});
  EXPECT_TRUE(defaults.smtp_url.empty());
  EXPECT_EQ(defaults.from, "tickets@boxoffice.invalid");
  EXPECT_EQ(defaults.smtp_timeout_s, 30u);
  ::setenv("BOXOFFICE_SMTP_USER", "relay-user", 1);
  const MailConfig smtp =
      ParseMail({"--smtp-url", "smtps://mail.example.com:465", "--smtp-require-tls", "--mail-from",
                 "tickets@example.com", "--mail-from-name", "Arena Tickets"});
  ::unsetenv("BOXOFFICE_SMTP_USER");
  EXPECT_EQ(smtp.smtp_url, "smtps://mail.example.com:465");
  EXPECT_EQ(smtp.smtp_user, "relay-user");
  EXPECT_TRUE(smtp.smtp_require_tls);
  EXPECT_EQ(smtp.from, "tickets@example.com");
  EXPECT_EQ(smtp.from_name, "Arena Tickets");
  EXPECT_THROW(ParseMail({"--smtp-url", "http://mail.example.com"}), CLI::ValidationError);
  EXPECT_THROW(ParseMail({"--mail-from", "Tickets <t@example.com>"}), CLI::ValidationError);
  EXPECT_THROW(ParseMail({"--mail-from-name", "a\nBcc: x@y"}), CLI::ValidationError);
}

// The default mailer writes the mail into <data-dir>/mail/.
TEST(MailSetupTest, DefaultIsTheFileMailerInTheDataDir) {
  InitCrypto();
  const TemporaryDirectory data_dir;
  const std::unique_ptr<Mailer> mailer = BuildMailer(MailConfig{}, data_dir.path());
  ASSERT_TRUE(mailer->Send(Confirmation()));
  EXPECT_TRUE(
      std::filesystem::exists(data_dir.path() / "mail" / "ord_m1.confirmation@boxoffice.test.eml"));
}

// With an SMTP URL the mail goes to that server, logged in with the password from the
// environment, and nothing is written into the data dir.
TEST(MailSetupTest, SmtpUrlSendsThroughTheRelay) {
  InitCrypto();
  const TemporaryDirectory data_dir;
  const SmtpTestServer server(data_dir.path(), "accept", "relay-user", "env-password");
  MailConfig config;
  config.smtp_url = server.Url();
  config.smtp_user = "relay-user";
  config.from = "tickets@example.com";
  ::setenv("BOXOFFICE_SMTP_PASSWORD", "env-password", 1);
  const std::unique_ptr<Mailer> mailer = BuildMailer(config, data_dir.path());
  ::unsetenv("BOXOFFICE_SMTP_PASSWORD");
  Status sent = mailer->Send(Confirmation());
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_TRUE(server.Received());
  EXPECT_EQ(server.LastReceived().at("mail_from").as_string(), "tickets@example.com");
  EXPECT_FALSE(std::filesystem::exists(data_dir.path() / "mail"));
}

}  // namespace
}  // namespace boxoffice::app
