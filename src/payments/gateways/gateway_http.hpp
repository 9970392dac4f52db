// What the card gateways' adapters share. The HTTP client: libcurl easy handles kept alive
// between calls in a small pool, a connect timeout and a whole-call timeout, answers capped at
// 1 MiB, and the one judgement every adapter needs after a failed call: whether the request may
// have reached the gateway (then the call is ambiguous) or surely did not. And the log line of a
// call that failed or was ambiguous, alike for every adapter.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ports/payment_gateway.hpp"

namespace boxoffice {

struct GatewayHttpOptions {
  std::string base_url;  // no trailing slash needed: one is dropped
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds timeout{10'000};  // the whole call, connect included
  std::size_t idle_connections_max = 32;      // kept-alive handles kept for reuse
};

// One call's answer. `transport_error` empty: `status` and `body` are the gateway's.
struct GatewayHttpAnswer {
  std::string transport_error;  // curl's words for why there is no answer (or it was too large)
  bool maybe_sent = false;      // with a transport error: the request may have reached the gateway
  long status = 0;
  std::string body;
};

class GatewayHttp {
 public:
  explicit GatewayHttp(GatewayHttpOptions options);
  ~GatewayHttp();
  GatewayHttp(const GatewayHttp&) = delete;
  GatewayHttp& operator=(const GatewayHttp&) = delete;

  // POST `body` (or GET when `post` is false) to base_url + `path` with `headers` ("Name:
  // value"); safe from many threads at once.
  GatewayHttpAnswer Send(bool post, const std::string& path,
                         const std::vector<std::string>& headers, const std::string& body);

 private:
  struct Pool;
  const GatewayHttpOptions options_;
  std::unique_ptr<Pool> pool_;
};

// The port's calls, as the log names them.
enum class GatewayOperation { kAuthorize, kCapture, kVoid, kRefund, kLookup };
std::string_view GatewayOperationName(GatewayOperation operation);

// Logs `result` at warning when it is kFailed or kUnknown (its message, never a card or a key).
void LogGatewayFailure(const std::string& gateway, GatewayOperation operation,
                       const PaymentResult& result);

}  // namespace boxoffice
