#include "payments/gateways/gateway_http.hpp"

#include <curl/curl.h>

#include <mutex>
#include <utility>

#include "common/log.hpp"

namespace boxoffice {
namespace {

// A gateway's answer larger than this is refused (the call then counts as ambiguous).
constexpr std::size_t kAnswerBytesMax = 1 << 20;

struct Collected {
  std::string body;
  bool too_large = false;
};

std::size_t Collect(char* data, std::size_t size, std::size_t count, void* user) {
  auto* collected = static_cast<Collected*>(user);
  const std::size_t bytes = size * count;
  if (collected->body.size() + bytes > kAnswerBytesMax) {
    collected->too_large = true;
    return 0;  // aborts the transfer
  }
  collected->body.append(data, bytes);
  return bytes;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Errors that prove the request never left: the connection was never made.
bool FailedBeforeSending(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
      return true;
    default:
      return false;
  }
}

GatewayHttpOptions WithoutTrailingSlash(GatewayHttpOptions options) {
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  return options;
}

}  // namespace

// Idle curl handles; a handle keeps its connections alive between calls.
struct GatewayHttp::Pool {
  std::mutex mutex;
  std::vector<CURL*> idle;

  ~Pool() {
    for (CURL* handle : idle) curl_easy_cleanup(handle);
  }

  CURL* Take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        CURL* handle = idle.back();
        idle.pop_back();
        curl_easy_reset(handle);  // keeps the live connections
        return handle;
      }
    }
    return curl_easy_init();
  }

  void Give(CURL* handle, std::size_t idle_max) {
    std::lock_guard lock(mutex);
    if (idle.size() < idle_max) {
      idle.push_back(handle);
    } else {
      curl_easy_cleanup(handle);
    }
  }
};

GatewayHttp::GatewayHttp(GatewayHttpOptions options)
    : options_(WithoutTrailingSlash(std::move(options))), pool_(std::make_unique<Pool>()) {
  InitCurlOnce();
}

GatewayHttp::~GatewayHttp() = default;

GatewayHttpAnswer GatewayHttp::Send(bool post, const std::string& path,
                                    const std::vector<std::string>& headers,
                                    const std::string& body) {
  GatewayHttpAnswer answer;
  CURL* handle = pool_->Take();
  if (handle == nullptr) {
    answer.transport_error = curl_easy_strerror(CURLE_FAILED_INIT);
    return answer;
  }
  curl_slist* header_list = curl_slist_append(nullptr, "Expect:");
  for (const std::string& header : headers)
    header_list = curl_slist_append(header_list, header.c_str());
  Collected collected;
  const std::string url = options_.base_url + path;
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &collected);
  if (post) {
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, header_list);
  const CURLcode code = curl_easy_perform(handle);
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_slist_free_all(header_list);
  if (code != CURLE_OK) {
    answer.transport_error =
        collected.too_large ? "answer larger than 1 MiB" : curl_easy_strerror(code);
    // Once the connection is up the request may be on the wire: from then on a failure is
    // ambiguous, unless the error itself proves that no connection was made.
    curl_off_t pretransfer_us = 0;
    curl_easy_getinfo(handle, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
    answer.maybe_sent = !FailedBeforeSending(code) && pretransfer_us > 0;
    // A broken connection must not be offered to the next call.
    curl_easy_cleanup(handle);
    return answer;
  }
  answer.body = std::move(collected.body);
  pool_->Give(handle, options_.idle_connections_max);
  return answer;
}

std::string_view GatewayOperationName(GatewayOperation operation) {
  switch (operation) {
    case GatewayOperation::kAuthorize:
      return "authorize";
    case GatewayOperation::kCapture:
      return "capture";
    case GatewayOperation::kVoid:
      return "void";
    case GatewayOperation::kRefund:
      return "refund";
    case GatewayOperation::kLookup:
      return "lookup";
  }
  return "unknown";
}

void LogGatewayFailure(const std::string& gateway, GatewayOperation operation,
                       const PaymentResult& result) {
  if (result.outcome != PaymentOutcome::kFailed && result.outcome != PaymentOutcome::kUnknown) {
    return;
  }
  LogWarn("payment_gateway_call_failed", {{"gateway", gateway},
                                          {"operation", GatewayOperationName(operation)},
                                          {"outcome", PaymentOutcomeName(result.outcome)},
                                          {"detail", result.message}});
}

}  // namespace boxoffice
