// What the card gateways' adapters share. The HTTP client: one libcurl multi handle driven by one
// thread of its own, so that any number of calls wait for the gateway at once without holding a
// thread each (a slow gateway costs memory per call in flight, not threads); keep-alive
// connections shared by every call, a connect timeout and a whole-call timeout, answers capped at
// 1 MiB, and the one judgement every adapter needs after a failed call: whether the request may
// have reached the gateway (then the call is ambiguous) or surely did not. And the log line of a
// call that failed or was ambiguous, alike for every adapter.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
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
  std::size_t idle_connections_max = 32;      // kept-alive connections kept for reuse
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

  using Done = std::function<void(GatewayHttpAnswer)>;

  // POST `body` (or GET when `post` is false) to base_url + `path` with `headers` ("Name:
  // value"). Returns at once; `done` runs once, on the client's own thread, when the call ends.
  // `done` must be quick and must not call Send (it would wait for its own thread). Safe from
  // many threads at once.
  void SendAsync(bool post, std::string path, std::vector<std::string> headers, std::string body,
                 Done done);
  // The same call, waiting for its answer. Never from a `done` callback.
  GatewayHttpAnswer Send(bool post, const std::string& path,
                         const std::vector<std::string>& headers, const std::string& body);

 private:
  struct Loop;
  const GatewayHttpOptions options_;
  std::unique_ptr<Loop> loop_;  // its thread ends every call before the destructor returns
};

// The port's calls, as the log names them.
enum class GatewayOperation { kAuthorize, kCapture, kVoid, kRefund, kLookup };
std::string_view GatewayOperationName(GatewayOperation operation);

// Logs `result` at warning when it is kFailed or kUnknown (its message, never a card or a key).
void LogGatewayFailure(const std::string& gateway, GatewayOperation operation,
                       const PaymentResult& result);

}  // namespace boxoffice
