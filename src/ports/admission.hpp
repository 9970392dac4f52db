// The `AdmissionCheck` port: how inventory and checkout ask the waiting room whether a fan may
// shop for an event now, and tell it when the fan is done. The waiting room implements it with
// signed access tokens and a table of the fans shopping now; holds and orders only call it, so
// neither domain includes the other.
#pragma once

#include <string_view>

#include "common/result.hpp"

namespace boxoffice {

class AdmissionCheck {
 public:
  virtual ~AdmissionCheck() = default;

  // OK when `access_token` admits the session `session_id` to event `event_id` at this moment;
  // 401 (`missing_access_token`, `invalid_access_token`) otherwise. Only called for events whose
  // queue is enabled. A call that passes is the fan's activity: an admitted fan who makes none
  // for the event's `idle_release_s` gives their active slot back (closed-loop admission).
  virtual Status VerifyAccess(std::string_view event_id, std::string_view session_id,
                              std::string_view access_token) = 0;

  // The fan's order is confirmed: their active slot is free for the next fan at once and, unless
  // the event lets fans buy again (`queue.order_ends_access` false), the token admits no more.
  virtual void OrderConfirmed(std::string_view event_id, std::string_view session_id,
                              std::string_view access_token) = 0;
};

}  // namespace boxoffice
