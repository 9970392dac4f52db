// The waiting room's admission check at its port (ports/admission.hpp), for the tests of the
// routes that need an access token: it admits exactly the token "good" and remembers what it was
// asked last and how many orders it was told of.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "ports/admission.hpp"

namespace boxoffice::test_support {

class FakeAdmission final : public AdmissionCheck {
 public:
  static constexpr std::string_view kGoodToken = "good";

  Status VerifyAccess(std::string_view event_id, std::string_view session_id,
                      std::string_view access_token) override {
    std::lock_guard lock(mutex_);
    last_event_id_ = event_id;
    last_session_id_ = session_id;
    if (access_token.empty()) {
      return Error::Make(ErrorKind::kUnauthenticated, "missing_access_token", "No token.");
    }
    if (access_token != kGoodToken) {
      return Error::Make(ErrorKind::kUnauthenticated, "invalid_access_token", "Bad token.");
    }
    return {};
  }
  void OrderConfirmed(std::string_view event_id, std::string_view session_id,
                      std::string_view access_token) override {
    std::lock_guard lock(mutex_);
    last_event_id_ = event_id;
    last_session_id_ = session_id;
    if (access_token == kGoodToken) ++orders_confirmed_;
  }
  int orders_confirmed() const {
    std::lock_guard lock(mutex_);
    return orders_confirmed_;
  }
  std::string last_event_id() const {
    std::lock_guard lock(mutex_);
    return last_event_id_;
  }
  std::string last_session_id() const {
    std::lock_guard lock(mutex_);
    return last_session_id_;
  }

 private:
  mutable std::mutex mutex_;
  std::string last_event_id_;
  std::string last_session_id_;
  int orders_confirmed_ = 0;
};

}  // namespace boxoffice::test_support
