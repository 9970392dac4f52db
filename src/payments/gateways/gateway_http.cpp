#include "payments/gateways/gateway_http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/check.hpp"
#include "common/log.hpp"

namespace boxoffice {
namespace {

// A gateway's answer larger than this is refused (the call then counts as ambiguous).
constexpr std::size_t kAnswerBytesMax = 1 << 20;
// The loop wakes at least this often even when nothing happens (curl asks for less when a
// timeout is due sooner).
constexpr int kPollIdleMs = 1'000;
// Easy handles kept for the next calls; each is a few kilobytes, the connections are elsewhere.
constexpr std::size_t kIdleHandlesMax = 256;

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

// The calls in flight and the thread that drives them. The multi handle, the idle easy handles
// and `running` belong to the thread; other threads only hand calls over through `incoming`.
struct GatewayHttp::Loop {
  struct Call {
    bool post = false;
    std::string url;
    std::vector<std::string> headers;
    std::string body;
    Done done;
    curl_slist* header_list = nullptr;
    Collected collected;
  };

  const GatewayHttpOptions& options;
  CURLM* multi = nullptr;
  std::vector<CURL*> idle;  // easy handles to reuse (the connections live in the multi handle)
  std::unordered_map<CURL*, std::unique_ptr<Call>> running;

  std::mutex mutex;
  std::vector<std::unique_ptr<Call>> incoming;
  bool stopping = false;
  std::thread thread;

  explicit Loop(const GatewayHttpOptions& client_options) : options(client_options) {
    multi = curl_multi_init();
    BOXOFFICE_CHECK(multi != nullptr, "libcurl gives a multi handle");
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                      static_cast<long>(std::max<std::size_t>(options.idle_connections_max, 1)));
    thread = std::thread([this] { Run(); });
  }

  ~Loop() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    curl_multi_wakeup(multi);
    thread.join();
    for (CURL* handle : idle) curl_easy_cleanup(handle);
    curl_multi_cleanup(multi);
  }

  void Add(std::unique_ptr<Call> call) {
    {
      std::lock_guard lock(mutex);
      incoming.push_back(std::move(call));
    }
    curl_multi_wakeup(multi);
  }

  // Until stopped and every call has ended: start what was handed over, move the transfers on,
  // end those that finished, and sleep until a socket or a wake-up needs the thread.
  void Run() {
    for (;;) {
      std::vector<std::unique_ptr<Call>> started;
      {
        std::lock_guard lock(mutex);
        started.swap(incoming);
        if (stopping && started.empty() && running.empty()) return;
      }
      for (std::unique_ptr<Call>& call : started) Start(std::move(call));
      int active = 0;
      curl_multi_perform(multi, &active);
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
        if (message->msg == CURLMSG_DONE) End(message->easy_handle, message->data.result);
      }
      curl_multi_poll(multi, nullptr, 0, kPollIdleMs, nullptr);
    }
  }

  void Start(std::unique_ptr<Call> call) {
    CURL* handle = nullptr;
    if (!idle.empty()) {
      handle = idle.back();
      idle.pop_back();
      curl_easy_reset(handle);
    } else {
      handle = curl_easy_init();
    }
    if (handle == nullptr) {
      GatewayHttpAnswer answer;
      answer.transport_error = curl_easy_strerror(CURLE_FAILED_INIT);
      Finish(*call, std::move(answer));
      return;
    }
    call->header_list = curl_slist_append(nullptr, "Expect:");
    for (const std::string& header : call->headers)
      call->header_list = curl_slist_append(call->header_list, header.c_str());
    curl_easy_setopt(handle, CURLOPT_URL, call->url.c_str());
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &Collect);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &call->collected);
    if (call->post) {
      curl_easy_setopt(handle, CURLOPT_POST, 1L);
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, call->body.c_str());
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(call->body.size()));
    } else {
      curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, call->header_list);
    if (const CURLMcode added = curl_multi_add_handle(multi, handle); added != CURLM_OK) {
      curl_slist_free_all(call->header_list);
      curl_easy_cleanup(handle);
      GatewayHttpAnswer answer;
      answer.transport_error = curl_multi_strerror(added);
      Finish(*call, std::move(answer));
      return;
    }
    running.emplace(handle, std::move(call));
  }

  void End(CURL* handle, CURLcode code) {
    auto found = running.find(handle);
    if (found == running.end()) return;
    std::unique_ptr<Call> call = std::move(found->second);
    running.erase(found);
    curl_multi_remove_handle(multi, handle);
    curl_slist_free_all(call->header_list);
    GatewayHttpAnswer answer;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &answer.status);
    if (code != CURLE_OK) {
      answer.transport_error =
          call->collected.too_large ? "answer larger than 1 MiB" : curl_easy_strerror(code);
      // Once the connection is up the request may be on the wire: from then on a failure is
      // ambiguous, unless the error itself proves that no connection was made.
      curl_off_t pretransfer_us = 0;
      curl_easy_getinfo(handle, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
      answer.maybe_sent = !FailedBeforeSending(code) && pretransfer_us > 0;
      // Its connection was closed with the failure; the handle itself may be used again.
    } else {
      answer.body = std::move(call->collected.body);
    }
    if (idle.size() < kIdleHandlesMax) {
      idle.push_back(handle);
    } else {
      curl_easy_cleanup(handle);
    }
    Finish(*call, std::move(answer));
  }

  static void Finish(Call& call, GatewayHttpAnswer answer) { call.done(std::move(answer)); }
};

GatewayHttp::GatewayHttp(GatewayHttpOptions options)
    : options_(WithoutTrailingSlash(std::move(options))) {
  InitCurlOnce();
  loop_ = std::make_unique<Loop>(options_);
}

GatewayHttp::~GatewayHttp() = default;

void GatewayHttp::SendAsync(bool post, std::string path, std::vector<std::string> headers,
                            std::string body, Done done) {
  auto call = std::make_unique<Loop::Call>();
  call->post = post;
  call->url = options_.base_url + path;
  call->headers = std::move(headers);
  call->body = std::move(body);
  call->done = std::move(done);
  loop_->Add(std::move(call));
}

GatewayHttpAnswer GatewayHttp::Send(bool post, const std::string& path,
                                    const std::vector<std::string>& headers,
                                    const std::string& body) {
  BOXOFFICE_CHECK(std::this_thread::get_id() != loop_->thread.get_id(),
                  "a gateway call's callback never waits for another call");
  // Shared: the loop may still be inside set_value when this thread wakes and returns.
  auto answered = std::make_shared<std::promise<GatewayHttpAnswer>>();
  std::future<GatewayHttpAnswer> answer = answered->get_future();
  SendAsync(post, path, headers, body,
            [answered](GatewayHttpAnswer done) { answered->set_value(std::move(done)); });
  return answer.get();
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
