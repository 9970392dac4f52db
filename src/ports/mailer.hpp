// The `Mailer` port: sends a fan's order confirmation and tickets. The outbox worker calls it
// after a sale is captured, retrying on failure, so `Send` may block (at most the adapter's
// timeout) and must be safe to repeat: a repeated message is a duplicate mail, never a lost one.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace boxoffice {

struct MailAttachment {
  std::string filename;      // e.g. "ticket-tkt_abc.svg"
  std::string content_type;  // e.g. "image/svg+xml"
  std::string data;          // raw bytes; the adapter encodes them
};

struct MailMessage {
  std::string message_id;  // unique and stable per mail, e.g. "<ord_abc.confirmation@host>"
  std::string to;          // one address
  std::string subject;
  std::string text;  // plain-text body, UTF-8
  std::vector<MailAttachment> attachments;
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Unavailable (retry later) when the mail could not be handed on; Unprocessable when it never
  // can be (an invalid address).
  virtual Status Send(const MailMessage& message) = 0;
};

}  // namespace boxoffice
