#include "mail/smtp_mailer.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include "common/log.hpp"

namespace boxoffice::mail {
namespace {

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// libcurl's global state must be set up once before threads use it.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Upload {
  std::string_view remaining;
};

std::size_t ReadUpload(char* buffer, std::size_t size, std::size_t count, void* user_data) {
  auto* upload = static_cast<Upload*>(user_data);
  const std::size_t length = std::min(size * count, upload->remaining.size());
  std::memcpy(buffer, upload->remaining.data(), length);
  upload->remaining.remove_prefix(length);
  return length;
}

// Replies that reject the message or recipient for good. The 5xx replies about authentication
// and encryption (530 authentication required, 534, 535 bad credentials, 538 encryption
// required) say the relay is misconfigured here, not that the mail is bad, so they are retried.
bool IsPermanentRejection(long smtp_code) {
  if (smtp_code < 500 || smtp_code > 599) return false;
  return smtp_code != 530 && smtp_code != 534 && smtp_code != 535 && smtp_code != 538;
}

}  // namespace

std::string RedactUrlCredentials(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == url.npos) return std::string(url);
  const std::size_t authority_start = scheme_end + 3;
  const std::size_t authority_end = std::min(url.find('/', authority_start), url.size());
  const std::size_t at = url.substr(0, authority_end).rfind('@');
  if (at == url.npos || at < authority_start) return std::string(url);
  return std::string(url.substr(0, authority_start)) + std::string(url.substr(at + 1));
}

SmtpMailer::SmtpMailer(SmtpMailerOptions options, const Clock& clock)
    : options_(std::move(options)),
      server_for_logs_(RedactUrlCredentials(options_.url)),
      clock_(clock) {
  InitCurlOnce();
}

Status SmtpMailer::Send(const MailMessage& message) {
  Result<std::string> bytes = BuildMimeMessage(message, options_.sender, clock_.Now());
  if (!bytes) return bytes.error();

  const std::unique_ptr<CURL, EasyDeleter> handle(curl_easy_init());
  if (!handle) return Error::Internal("libcurl could not create a handle.");
  CURL* curl = handle.get();
  const std::string mail_from = "<" + options_.sender.address + ">";
  const std::unique_ptr<curl_slist, SlistDeleter> recipients(
      curl_slist_append(nullptr, ("<" + message.to + ">").c_str()));
  if (!recipients) return Error::Internal("libcurl could not allocate the recipient list.");
  Upload upload{*bytes};
  char error_buffer[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_USE_SSL,
                   static_cast<long>(options_.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (!options_.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadUpload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(bytes->size()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  // Signals would interrupt other threads' system calls; timeouts work without them.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);

  const CURLcode result = curl_easy_perform(curl);
  if (result == CURLE_OK) return {};

  long smtp_code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &smtp_code);
  const std::string reason = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(result);
  const bool permanent = result != CURLE_LOGIN_DENIED && IsPermanentRejection(smtp_code);
  LogWarn("mail_send_failed", {{"message_id", message.message_id},
                               {"server", server_for_logs_},
                               {"smtp_code", smtp_code},
                               {"curl_code", static_cast<int>(result)},
                               {"reason", reason},
                               {"permanent", permanent}});
  if (permanent) {
    return Error::Make(ErrorKind::kUnprocessable, "mail_rejected",
                       "The mail server refused the mail for good.", {{"smtp_code", smtp_code}});
  }
  return Error::Make(ErrorKind::kUnavailable, "mail_unavailable",
                     "The mail could not be handed to the mail server; it will be retried.",
                     {{"smtp_code", smtp_code}});
}

}  // namespace boxoffice::mail
