#include "mail/smtp_mailer.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sodium.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <sstream>

#include "common/crypto.hpp"
#include "mail/mail_test_support.hpp"

namespace boxoffice::mail {
namespace {

using testing::SmtpTestServer;
using testing::TemporaryDirectory;

MailMessage Confirmation() {
  MailMessage message;
  message.message_id = "<ord_s1.confirmation@boxoffice.test>";
  message.to = "fan@example.com";
  message.subject = "Deine Tickets für Nacht 1";
  message.text = "Your order is confirmed.\n.a line with a leading dot survives SMTP\n";
  message.attachments.push_back({"ticket-tkt_1.svg", "image/svg+xml", "<svg>qr</svg>"});
  return message;
}

// A loopback TCP socket that is bound but does not listen: connecting to its port is refused.
class ClosedPort {
 public:
  explicit ClosedPort(bool listen_without_accepting = false) {
    descriptor_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(descriptor_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    ::getsockname(descriptor_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    // Listening without ever accepting: the kernel completes the handshake, then nothing is said.
    if (listen_without_accepting) ::listen(descriptor_, 8);
  }
  ~ClosedPort() { ::close(descriptor_); }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  std::string Url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

 private:
  int descriptor_ = -1;
  int port_ = 0;
};

// Captures what is logged while it lives.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_));
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string Text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

class SmtpMailerTest : public ::testing::Test {
 protected:
  void SetUp() override { InitCrypto(); }

  SmtpMailerOptions Options(std::string url) const {
    SmtpMailerOptions options;
    options.url = std::move(url);
    options.sender = sender_;
    options.connect_timeout = std::chrono::seconds(10);
    options.total_timeout = std::chrono::seconds(30);
    return options;
  }

  TemporaryDirectory temporary_;
  FakeClock clock_;
  Sender sender_{"tickets@boxoffice.test", "boxoffice"};
};

// A real SMTP server receives the envelope (MAIL FROM, RCPT TO) and exactly the MIME message,
// including a line that starts with a dot (curl stuffs it, the server unstuffs it).
TEST_F(SmtpMailerTest, DeliversTheMessageToARealServer) {
  const SmtpTestServer server(temporary_.path());
  SmtpMailer mailer(Options(server.Url()), clock_);
  Status sent = mailer.Send(Confirmation());
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_TRUE(server.Received());
  const boost::json::object received = server.LastReceived();
  EXPECT_EQ(received.at("mail_from").as_string(), "tickets@boxoffice.test");
  EXPECT_EQ(boost::json::serialize(received.at("rcpt_tos")), R"(["fan@example.com"])");
  // smtpd hands over the data with LF line endings and without the CRLF the terminator took.
  std::string expected = BuildMimeMessage(Confirmation(), sender_, clock_.Now()).value();
  expected.resize(expected.size() - 2);
  std::string lf_expected;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (expected.compare(i, 2, "\r\n") == 0) {
      lf_expected += '\n';
      ++i;
    } else {
      lf_expected += expected[i];
    }
  }
  std::string data = received.at("data_base64").as_string().c_str();
  std::string decoded(data.size(), '\0');
  std::size_t length = 0;
  ASSERT_EQ(sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(),
                              data.data(), data.size(), nullptr, &length, nullptr,
                              sodium_base64_VARIANT_ORIGINAL),
            0);
  decoded.resize(length);
  EXPECT_EQ(decoded, lf_expected);
}

// With a username the mailer logs in (AUTH PLAIN) and the mail goes through.
TEST_F(SmtpMailerTest, AuthenticatesWithUsernameAndPassword) {
  const SmtpTestServer server(temporary_.path(), "accept", "relay-user", "s3cret-pa55");
  SmtpMailerOptions options = Options(server.Url());
  options.username = "relay-user";
  options.password = "s3cret-pa55";
  SmtpMailer mailer(options, clock_);
  Status sent = mailer.Send(Confirmation());
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_TRUE(server.Received());
}

// Rejected credentials are a configuration problem: Unavailable (the mail is kept and retried),
// and the password appears neither in the error nor in the log.
TEST_F(SmtpMailerTest, WrongPasswordIsUnavailableAndNeverLogged) {
  const SmtpTestServer server(temporary_.path(), "accept", "relay-user", "right-password");
  SmtpMailerOptions options = Options(server.Url());
  options.username = "relay-user";
  options.password = "wrong-password-x7";
  SmtpMailer mailer(options, clock_);
  LogCapture log;
  Status sent = mailer.Send(Confirmation());
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, ErrorKind::kUnavailable);
  EXPECT_FALSE(server.Received());
  EXPECT_NE(log.Text().find("mail_send_failed"), std::string::npos) << log.Text();
  EXPECT_EQ(log.Text().find("wrong-password-x7"), std::string::npos) << log.Text();
  EXPECT_EQ(sent.error().message.find("wrong-password-x7"), std::string::npos);
  EXPECT_EQ(boost::json::serialize(sent.error().details).find("wrong-password-x7"),
            std::string::npos);
}

// A 550 to the recipient is permanent: Unprocessable with the reply code.
TEST_F(SmtpMailerTest, RejectedRecipientIsUnprocessable) {
  const SmtpTestServer server(temporary_.path(), "reject-rcpt");
  SmtpMailer mailer(Options(server.Url()), clock_);
  Status sent = mailer.Send(Confirmation());
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, ErrorKind::kUnprocessable);
  EXPECT_EQ(sent.error().code, "mail_rejected");
  EXPECT_EQ(sent.error().details.at("smtp_code").as_int64(), 550);
}

// A 451 is temporary: Unavailable, so the outbox retries.
TEST_F(SmtpMailerTest, TemporaryFailureIsUnavailable) {
  const SmtpTestServer server(temporary_.path(), "tempfail-rcpt");
  SmtpMailer mailer(Options(server.Url()), clock_);
  Status sent = mailer.Send(Confirmation());
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(sent.error().details.at("smtp_code").as_int64(), 451);
}

// Nobody listening: Unavailable.
TEST_F(SmtpMailerTest, ClosedPortIsUnavailable) {
  const ClosedPort closed;
  SmtpMailer mailer(Options(closed.Url()), clock_);
  Status sent = mailer.Send(Confirmation());
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, ErrorKind::kUnavailable);
}

// A server that accepts the connection but never answers is cut off by the total timeout.
TEST_F(SmtpMailerTest, SilentServerTimesOutAsUnavailable) {
  const ClosedPort silent(/*listen_without_accepting=*/true);
  SmtpMailerOptions options = Options(silent.Url());
  options.total_timeout = std::chrono::milliseconds(300);
  SmtpMailer mailer(options, clock_);
  Status sent = mailer.Send(Confirmation());
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, ErrorKind::kUnavailable);
}

// With require_tls, a server that does not offer STARTTLS gets nothing in clear text.
TEST_F(SmtpMailerTest, RequireTlsRefusesAServerWithoutStartTls) {
  const SmtpTestServer server(temporary_.path());
  SmtpMailerOptions options = Options(server.Url());
  options.require_tls = true;
  SmtpMailer mailer(options, clock_);
  Status sent = mailer.Send(Confirmation());
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, ErrorKind::kUnavailable);
  EXPECT_FALSE(server.Received());
}

// Only smtp and smtps URLs are used; anything else fails without touching the network.
TEST_F(SmtpMailerTest, OtherSchemesAreRefused) {
  SmtpMailer mailer(Options("file:///etc/passwd"), clock_);
  Status sent = mailer.Send(Confirmation());
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().kind, ErrorKind::kUnavailable);
}

// A message that breaks a header rule is refused before any connection is made.
TEST_F(SmtpMailerTest, RefusesHeaderInjectionBeforeConnecting) {
  const ClosedPort closed;
  SmtpMailer mailer(Options(closed.Url()), clock_);
  MailMessage message = Confirmation();
  message.to = "fan@example.com>\r\nRCPT TO:<everyone@example.com";
  Status sent = mailer.Send(message);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, "mail_header_injection");
}

// Credentials inside the URL never reach the logs.
TEST(RedactUrlCredentialsTest, RemovesUserInformation) {
  EXPECT_EQ(RedactUrlCredentials("smtp://user:pw@mail.example.com:587/helo"),
            "smtp://mail.example.com:587/helo");
  EXPECT_EQ(RedactUrlCredentials("smtps://mail.example.com"), "smtps://mail.example.com");
  EXPECT_EQ(RedactUrlCredentials("smtp://a@b:c@host/x@y"), "smtp://host/x@y");
  EXPECT_EQ(RedactUrlCredentials("not a url"), "not a url");
}

}  // namespace
}  // namespace boxoffice::mail
