// Orders: turning a fan's live hold into a sale (POST /v1/orders), nobody charged twice.
//
// Placing an order runs on the service's own bounded worker pool, never on an I/O thread, because
// it waits for the ledger's group commit. It does not wait for the gateway: the authorization is
// sent without blocking, the worker goes on to other orders, and the gateway's answer queues the
// order's second half (steps 4-6) on the pool again. A slow gateway therefore costs memory per
// order in flight (bounded by `in_flight_max`), not threads:
//
//   1. Idempotency-Key: a key already done replays its stored response; in flight → 409
//      idempotency_in_flight; the same key with another body → 422 idempotency_key_reused.
//   2. The hold must be live and the caller's (409 hold_expired); a queue-enabled event needs
//      the waiting room's access token.
//   3. The payment attempt (and the key, in flight) is written durably BEFORE the gateway is
//      asked, so that recovery can void an authorization whose order was never confirmed.
//   4. Authorize through the PaymentGateway port. Declined → 402 payment_declined and the hold
//      stays, so the fan may retry with another card; gateway trouble → 503 with Retry-After.
//   5. The hold's seats become sold in memory (held → sold, versions bump), then one ledger
//      transaction writes the order, its tickets and sold seats, ends the hold, stores the
//      response under the key and queues the outbox row (Ledger::ConfirmOrder).
//   6. If the hold ended meanwhile or the ledger refuses (a seat sold already): the seats go back,
//      the authorization is voided, 409.
//
// The outbox worker (outbox_worker.hpp) then captures, issues the ticket codes and mails them.
// Responses are rendered by the caller's `OrderRendering`, so the bytes stored for an
// idempotent replay are exactly the bytes the first request answered, and this domain code needs
// no HTTP types.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "common/worker_pool.hpp"
#include "inventory/hold_service.hpp"
#include "ports/admission.hpp"
#include "ports/checkout_ledger.hpp"
#include "ports/clock.hpp"
#include "ports/payment_gateway.hpp"

namespace boxoffice {

// Threads placing orders; they wait for the ledger's commits, never for a gateway.
inline constexpr std::size_t kOrderWorkersDefault = 64;
// Orders waiting for a worker beyond this are refused with 503 at once.
inline constexpr std::size_t kOrderQueueMax = 2'048;
// Orders accepted and not yet answered (most of them waiting for the gateway) beyond this are
// refused with 503 at once: a few kilobytes each.
inline constexpr std::size_t kOrdersInFlightMax = 10'000;
inline constexpr std::size_t kIdempotencyKeyMaxChars = 255;
inline constexpr std::size_t kPaymentTokenMaxChars = 255;
inline constexpr int kPaymentRetryAfterS = 2;
// How soon FinishPendingRefunds asks the gateway again for a refund it could not finish, doubling
// up to the most.
inline constexpr std::chrono::milliseconds kRefundRetryFirst{5'000};
inline constexpr std::chrono::milliseconds kRefundRetryMax{5 * 60'000};

struct PlaceOrderRequest {
  std::string session_id;
  std::string customer_id;  // empty for a guest
  std::string hold_id;
  std::string email;
  std::string payment_token;
  std::string access_token;     // X-Access-Token, for queue-enabled events
  std::string idempotency_key;  // empty: the request is not idempotent
  std::string request_hash;     // of the request (method, path, body); compared on a replay
};

// An answer as the api rendered it (OrderRendering). Opaque here: the service never looks at
// the status, it only stores the answer under the Idempotency-Key, so that a replay sends the
// very bytes the first request answered.
struct RenderedAnswer {
  int status = 0;
  std::string body;
  int retry_after_s = 0;  // Retry-After when positive
  bool replayed = false;  // an idempotent replay of an earlier answer
};

// How the api renders the service's outcomes (api/order_routes.cpp).
struct OrderRendering {
  std::function<RenderedAnswer(const OrderRecord&)> placed;    // a confirmed order
  std::function<RenderedAnswer(const OrderRecord&)> refunded;  // a refunded order
  std::function<RenderedAnswer(const Error&)> error;
};

struct RefundRequest {
  std::string order_id;
  std::string idempotency_key;  // scoped to the operator
  std::string request_hash;
};

struct OrderServiceOptions {
  std::size_t workers = kOrderWorkersDefault;
  std::size_t queue_max = kOrderQueueMax;
  std::size_t in_flight_max = kOrdersInFlightMax;
};

// Totals since start, for /metrics and the stats route.
struct OrderCounters {
  std::uint64_t confirmed = 0;
  std::uint64_t declined = 0;
  std::uint64_t hold_expired = 0;
  std::uint64_t conflicts = 0;  // authorized, then voided: the hold ended or a seat was sold
  std::uint64_t payment_failed = 0;
  std::uint64_t replayed = 0;
  std::uint64_t refused = 0;  // 4xx before any payment (validation, idempotency, access)
  std::uint64_t errors = 0;   // ledger trouble
  std::uint64_t refunded = 0;
};

class OrderService {
 public:
  // `payments` may be null: orders then answer 503 payments_unavailable. Every reference must
  // outlive the service.
  OrderService(Catalog& catalog, HoldService& holds, CheckoutLedger& ledger,
               PaymentGateway* payments, AdmissionCheck* admission, const Clock& clock,
               MetricsRegistry& metrics, OrderRendering rendering,
               OrderServiceOptions options = {});
  ~OrderService();  // finishes the orders already accepted (the gateway's answers awaited)
  OrderService(const OrderService&) = delete;
  OrderService& operator=(const OrderService&) = delete;

  // Places an order; `done` runs once, on a worker thread (or at once when refused for load:
  // 503 overloaded when `queue_max` orders wait for a worker or `in_flight_max` are unanswered).
  void Place(PlaceOrderRequest request, std::function<void(RenderedAnswer)> done);
  // Refunds an order (the operator's call): voids the authorization when it was never captured,
  // else refunds at the gateway; then, in one ledger transaction, the order becomes refunded, its
  // tickets are revoked and its seats unsold; the seats go back on sale (versions bump). 200 with
  // the order; 404 order_not_found; 409 order_refunded; 409 refund_in_flight while another
  // refund of the order runs (idempotency_in_flight when it has the same key); 503 when the
  // gateway cannot do it now (nothing changes). `done` runs on a worker thread.
  void Refund(RefundRequest request, std::function<void(RenderedAnswer)> done);
  // The order if `session_id` placed it (or `as_operator`); 404 order_not_found otherwise.
  // A synchronous ledger read: call it from a worker, not an I/O thread (see Run).
  Result<OrderRecord> Get(const std::string& order_id, const std::string& session_id,
                          const std::string& customer_id, bool as_operator);
  // The orders placed with `email` (ASCII case aside), newest first, at most `limit`: the
  // operator's search. A synchronous ledger read, like Get.
  Result<std::vector<OrderRecord>> FindByEmail(const std::string& email, std::size_t limit);
  // A ticket (with its code once the order is completed) if `session_id`'s order holds it, or
  // `as_operator`; 404 ticket_not_found otherwise. For GET /v1/tickets/{id}/qr.svg. A
  // synchronous ledger read, like Get.
  Result<TicketRecord> GetTicket(const std::string& ticket_id, const std::string& session_id,
                                 const std::string& customer_id, bool as_operator);
  // Runs `task` on the order workers; false when their queue is full.
  bool Run(std::function<void()> task);

  // At start, before holds are restored: marks every seat the ledger calls sold as sold in
  // memory (and counted against its buyer's per_customer limit).
  Status RestoreSoldSeats();
  // At start, before serving: every payment attempt left pending by a crash is looked up and
  // voided at the gateway; its idempotency key is forgotten. Attempts the gateway cannot settle
  // now stay pending for the next start. Returns how many were settled.
  Result<std::size_t> RecoverPendingPayments();
  // Finishes every refund cut short (by a crash, or by a gateway answer that was lost): the money
  // given back with the same gateway keys, the order refunded, the answer stored under the
  // operator's key, which until then answers 409 idempotency_in_flight. At start, after
  // RecoverPendingPayments and before serving, then every few seconds; one the gateway cannot
  // make now is tried again later, backing off from kRefundRetryFirst to kRefundRetryMax.
  // Returns how many were finished. Not on two threads at once.
  Result<std::size_t> FinishPendingRefunds();

  // The event's order totals, from the ledger (a synchronous read, for the operator's stats).
  Result<OrderCounts> CountOrders(const std::string& event_id) {
    return ledger_.CountOrders(event_id);
  }

  bool payments_available() const { return payments_ != nullptr; }
  OrderCounters counters() const;
  // Orders accepted and not yet answered.
  std::size_t in_flight() const;
  const OrderRendering& rendering() const { return rendering_; }

 private:
  struct PlacingOrder;
  // Steps 1-3, then the authorization is sent; nullopt when it was (the answer then comes from
  // Complete, once the gateway has answered).
  std::optional<RenderedAnswer> Begin(const std::shared_ptr<PlacingOrder>& order);
  // Steps 4-6, with the gateway's answer.
  RenderedAnswer Complete(PlacingOrder& order, const PaymentResult& authorized);
  // Answers the fan, and counts the order out of those in flight.
  void Answer(PlacingOrder& order, RenderedAnswer answer);
  RenderedAnswer ExecuteRefund(const RefundRequest& request);
  // Who finishes a refund: the operator's request may abandon an attempt the gateway surely did
  // nothing for (they are told to try again); the sweep never does.
  enum class RefundCaller { kOperator, kSweep };
  // Gives back the money of an order whose refund attempt is durable, and refunds it in the
  // ledger (the answer stored under the attempt's key). When the gateway fails, the attempt is
  // abandoned if no call was ambiguous and `caller` is the operator, else it stays pending.
  RenderedAnswer FinishRefund(OrderRecord order, const RefundAttemptRecord& attempt,
                              const std::string& request_hash, RefundCaller caller);
  // An order whose refund runs in this process: one request or sweep at a time per order.
  class RefundClaim {
   public:
    RefundClaim(OrderService* service, std::string order_id)
        : service_(service), order_id_(std::move(order_id)) {}
    RefundClaim(RefundClaim&& other) noexcept
        : service_(std::exchange(other.service_, nullptr)), order_id_(std::move(other.order_id_)) {}
    RefundClaim& operator=(RefundClaim&&) = delete;
    ~RefundClaim();

   private:
    OrderService* service_;
    std::string order_id_;
  };
  // nullopt when the order's refund runs already. `key` is the request's Idempotency-Key ("" for
  // none, and for the sweep).
  std::optional<RefundClaim> ClaimRefund(const std::string& order_id, const std::string& key);
  // The key of the request whose refund of the order runs now; "" when none does (or it has none).
  std::string RefundKeyOf(const std::string& order_id);
  struct RefundRetry {
    TimePoint next_at{};
    std::chrono::milliseconds delay{0};
  };
  // Step 1; nullopt when the request should go on.
  std::optional<RenderedAnswer> CheckIdempotency(const PlaceOrderRequest& request,
                                                 const std::string& scope);
  RenderedAnswer Replay(const IdempotencyRecord& record, const PlaceOrderRequest& request);
  RenderedAnswer Fail(const Error& error, std::uint64_t OrderCounters::*counter);
  // Ends a payment attempt that did not become an order; `response` is stored under the key
  // when given, else the key is forgotten.
  void Settle(const std::string& payment_key, const std::string& state, const PaymentRef& ref,
              const std::string& scope, const PlaceOrderRequest& request,
              const RenderedAnswer* response);
  // Voids an authorization; false when the gateway could not confirm it (recovery retries).
  bool Void(const PaymentRef& ref, const std::string& payment_key);
  void Count(std::uint64_t OrderCounters::*counter);

  Catalog& catalog_;
  HoldService& holds_;
  CheckoutLedger& ledger_;
  PaymentGateway* payments_;
  AdmissionCheck* admission_;
  const Clock& clock_;
  OrderRendering rendering_;
  MetricsRegistry& metrics_;
  Histogram& latency_;

  mutable std::mutex counters_mutex_;
  OrderCounters counters_;

  const std::size_t in_flight_max_;
  Gauge& in_flight_gauge_;
  mutable std::mutex in_flight_mutex_;
  std::condition_variable in_flight_ended_;
  std::size_t in_flight_ = 0;

  std::mutex refunding_mutex_;
  std::map<std::string, std::string> refunding_;  // orders whose refund runs now, with its key
  // FinishPendingRefunds' back-off per order (only it reads or writes this).
  std::map<std::string, RefundRetry> refund_retries_;

  std::unique_ptr<WorkerPool> workers_;  // last: its threads use everything above
};

// The scope an Idempotency-Key belongs to: the customer when signed in, else the session.
std::string IdempotencyScope(const std::string& session_id, const std::string& customer_id);

}  // namespace boxoffice
