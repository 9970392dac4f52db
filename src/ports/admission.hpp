// The `AdmissionCheck` port: how inventory and checkout ask the waiting room whether a fan may
// shop for an event now. The waiting room implements it with signed access tokens; holds and
// orders only call it, so neither domain includes the other.
#pragma once

#include <string_view>

#include "common/result.hpp"

namespace boxoffice {

class AdmissionCheck {
 public:
  virtual ~AdmissionCheck() = default;

  // OK when `access_token` admits the session `session_id` to event `event_id` at this moment;
  // 401 (`missing_access_token`, `invalid_access_token`) otherwise. Only called for events whose
  // queue is enabled.
  virtual Status VerifyAccess(std::string_view event_id, std::string_view session_id,
                              std::string_view access_token) const = 0;
};

}  // namespace boxoffice
