#include "orders/order_service.hpp"

#include <boost/json/object.hpp>
#include <future>
#include <map>
#include <utility>

#include "common/check.hpp"
#include "common/crypto.hpp"
#include "common/failpoint.hpp"
#include "common/log.hpp"
#include "common/time.hpp"

namespace boxoffice {
namespace {

constexpr std::size_t kOrderIdChars = 20;
constexpr std::size_t kTicketIdChars = 18;

Error HoldExpired(const std::string& hold_id) {
  return Error::Make(ErrorKind::kConflict, "hold_expired",
                     "The hold has expired or is not yours; hold the seats again.",
                     {{"hold_id", hold_id}});
}

Error PaymentUnavailable(std::string message) {
  Error error = Error::Make(ErrorKind::kUnavailable, "payments_unavailable", std::move(message));
  error.retry_after_s = kPaymentRetryAfterS;
  return error;
}

// The gateway's keys are derived from the order id, so a retry of the same step after a crash
// or a timeout reuses its key and the gateway does the step at most once.
std::string VoidKey(const std::string& payment_key) { return payment_key + ":void"; }

struct OutcomeName {
  std::uint64_t OrderCounters::*counter;
  const char* name;
};
constexpr OutcomeName kOutcomes[] = {
    {&OrderCounters::confirmed, "confirmed"},
    {&OrderCounters::declined, "declined"},
    {&OrderCounters::hold_expired, "hold_expired"},
    {&OrderCounters::conflicts, "conflict"},
    {&OrderCounters::payment_failed, "payment_failed"},
    {&OrderCounters::replayed, "replayed"},
    {&OrderCounters::refused, "refused"},
    {&OrderCounters::errors, "error"},
    {&OrderCounters::refunded, "refunded"},
};

constexpr std::string_view kOperatorScope = "operator";

// The attempt written before the gateway hears of the payment: what a crash recovery needs to
// finish or void it, and the idempotency key it holds while in flight (none without a key).
struct BeginPaymentRecord {
  PaymentAttemptRecord attempt;
  IdempotencyRecord in_flight;
};

BeginPaymentRecord AttemptRecord(const PlaceOrderRequest& request, const std::string& scope,
                                 const EventDefinition& definition, const Hold& hold,
                                 const std::string& order_id, std::int64_t now_ms) {
  BeginPaymentRecord record;
  record.attempt = PaymentAttemptRecord{order_id,
                                        order_id,
                                        definition.id,
                                        hold.total_cents,
                                        definition.currency,
                                        "pending",
                                        "",
                                        "",
                                        now_ms,
                                        now_ms,
                                        request.idempotency_key.empty() ? "" : scope,
                                        request.idempotency_key};
  if (!request.idempotency_key.empty()) {
    record.in_flight = IdempotencyRecord{
        scope, request.idempotency_key, request.request_hash, "in_flight", 0, "", now_ms};
  }
  return record;
}

// The confirmed order for the seats `sold` holds, with one ticket per seat.
OrderRecord ConfirmedOrder(const PlaceOrderRequest& request, const Event& event, const Hold& sold,
                           const PaymentRef& payment, const std::string& order_id,
                           std::int64_t now_ms) {
  const EventDefinition& definition = event.definition();
  OrderRecord order;
  order.id = order_id;
  order.event_id = definition.id;
  order.hold_id = sold.id;
  order.session_id = request.session_id;
  order.customer_id = request.customer_id;
  order.email = request.email;
  order.total_cents = sold.total_cents;
  order.currency = definition.currency;
  order.status = "confirmed";
  order.gateway = payment.gateway;
  order.payment_id = payment.id;
  order.payment_status = "authorized";
  order.created_at_ms = now_ms;
  order.updated_at_ms = now_ms;
  const std::string ticket_prefix = "tkt_" + RandomToken(kTicketIdChars);
  const SeatMap& map = event.seat_map();
  for (std::size_t i = 0; i < sold.seats.size(); ++i) {
    const std::uint32_t index = sold.seats[i].index;
    // One character per ticket keeps ids ordered as the seats are (at most kPerOrderMax).
    order.tickets.push_back(TicketRecord{ticket_prefix + static_cast<char>('a' + i), order_id,
                                         definition.id, map.SeatId(index),
                                         map.TierOf(index).price_cents, "", 0});
  }
  return order;
}

// What the fan hears when the ledger refuses to confirm a sale memory made. A seat the ledger
// says another order has stays sold in memory: it is taken out of `seats_to_unsell`.
Error ConfirmRefusal(Error error, const PlaceOrderRequest& request, const Event& event,
                     std::vector<std::uint32_t>& seats_to_unsell) {
  if (error.code == "hold_consumed") return HoldExpired(request.hold_id);
  if (error.code != "seat_sold") return error;
  const SeatMap& map = event.seat_map();
  const std::string seat_id =
      error.details.contains("seat_id") && error.details.at("seat_id").is_string()
          ? std::string(error.details.at("seat_id").get_string())
          : "";
  std::erase_if(seats_to_unsell, [&](std::uint32_t index) { return map.SeatId(index) == seat_id; });
  LogError("the ledger refused a seat memory had sold; the seat stays sold",
           {{"event_id", event.definition().id}, {"seat_id", seat_id}});
  return Error::Make(ErrorKind::kConflict, "seat_conflict",
                     "A seat of the hold was sold to another order; nothing was charged.",
                     {{"conflicts", boost::json::array{boost::json::value(seat_id)}},
                      {"alternatives", boost::json::array{}}});
}

}  // namespace

std::string IdempotencyScope(const std::string& session_id, const std::string& customer_id) {
  return customer_id.empty() ? session_id : customer_id;
}

OrderService::OrderService(Catalog& catalog, HoldService& holds, CheckoutLedger& ledger,
                           PaymentGateway* payments, AdmissionCheck* admission, const Clock& clock,
                           MetricsRegistry& metrics, OrderRendering rendering,
                           OrderServiceOptions options)
    : catalog_(catalog),
      holds_(holds),
      ledger_(ledger),
      payments_(payments),
      admission_(admission),
      clock_(clock),
      rendering_(std::move(rendering)),
      metrics_(metrics),
      latency_(metrics.GetHistogram("boxoffice_order_seconds",
                                    "Time to place an order, from accepting it to its answer.")),
      in_flight_max_(options.in_flight_max),
      in_flight_gauge_(metrics.GetGauge(
          "boxoffice_orders_in_flight",
          "Orders accepted and not yet answered, most of them waiting for their gateway.")),
      workers_(std::make_unique<WorkerPool>(options.workers, options.queue_max)) {
  for (const OutcomeName& outcome : kOutcomes) {
    metrics_.GetCounter("boxoffice_orders_total", "Orders placed, by outcome.",
                        {{"outcome", outcome.name}});
  }
}

OrderService::~OrderService() {
  // Orders waiting for a gateway come back to the pool: let them, then stop it.
  {
    std::unique_lock lock(in_flight_mutex_);
    in_flight_ended_.wait(lock, [this] { return in_flight_ == 0; });
  }
  workers_.reset();
}

bool OrderService::Run(std::function<void()> task) { return workers_->TrySubmit(std::move(task)); }

void OrderService::Count(std::uint64_t OrderCounters::*counter) {
  {
    std::lock_guard lock(counters_mutex_);
    ++(counters_.*counter);
  }
  for (const OutcomeName& outcome : kOutcomes) {
    if (outcome.counter == counter) {
      metrics_
          .GetCounter("boxoffice_orders_total", "Orders placed, by outcome.",
                      {{"outcome", outcome.name}})
          .Inc();
    }
  }
}

OrderCounters OrderService::counters() const {
  std::lock_guard lock(counters_mutex_);
  return counters_;
}

std::size_t OrderService::in_flight() const {
  std::lock_guard lock(in_flight_mutex_);
  return in_flight_;
}

RenderedAnswer OrderService::Fail(const Error& error, std::uint64_t OrderCounters::*counter) {
  Count(counter);
  return rendering_.error(error);
}

// One order between its acceptance and its answer: what the saga's second half needs.
struct OrderService::PlacingOrder {
  PlaceOrderRequest request;
  std::function<void(RenderedAnswer)> done;
  std::chrono::steady_clock::time_point started;
  // Filled by Begin for Complete.
  std::string scope;
  std::string order_id;
  std::shared_ptr<Event> event;
  SeatInventory* table = nullptr;
};

void OrderService::Place(PlaceOrderRequest request, std::function<void(RenderedAnswer)> done) {
  auto order = std::make_shared<PlacingOrder>();
  order->request = std::move(request);
  order->done = std::move(done);
  order->started = std::chrono::steady_clock::now();
  bool room = false;
  {
    std::lock_guard lock(in_flight_mutex_);
    room = in_flight_ < in_flight_max_;
    in_flight_ += room;
    in_flight_gauge_.Set(static_cast<double>(in_flight_));
  }
  const bool accepted = room && workers_->TrySubmit([this, order] {
    if (std::optional<RenderedAnswer> answer = Begin(order)) Answer(*order, std::move(*answer));
  });
  if (!accepted) {
    if (room) {
      std::lock_guard lock(in_flight_mutex_);
      in_flight_gauge_.Set(static_cast<double>(--in_flight_));
    }
    Error busy = Error::Make(ErrorKind::kUnavailable, "overloaded",
                             "Too many orders are being placed; try again shortly.");
    busy.retry_after_s = 1;
    order->done(Fail(busy, &OrderCounters::refused));
  }
}

void OrderService::Answer(PlacingOrder& order, RenderedAnswer answer) {
  latency_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - order.started).count());
  order.done(std::move(answer));
  std::lock_guard lock(in_flight_mutex_);
  in_flight_gauge_.Set(static_cast<double>(--in_flight_));
  if (in_flight_ == 0) in_flight_ended_.notify_all();
}

std::optional<RenderedAnswer> OrderService::CheckIdempotency(const PlaceOrderRequest& request,
                                                             const std::string& scope) {
  Result<std::optional<IdempotencyRecord>> found =
      ledger_.FindIdempotency(scope, request.idempotency_key);
  if (!found) return Fail(found.error(), &OrderCounters::errors);
  if (!found->has_value()) return std::nullopt;
  return Replay(**found, request);
}

RenderedAnswer OrderService::Replay(const IdempotencyRecord& record,
                                    const PlaceOrderRequest& request) {
  if (record.request_hash != request.request_hash) {
    return Fail(Error::Make(ErrorKind::kUnprocessable, "idempotency_key_reused",
                            "This Idempotency-Key was used with a different request.",
                            {{"idempotency_key", request.idempotency_key}}),
                &OrderCounters::refused);
  }
  if (record.state != "done") {
    Error in_flight = Error::Make(ErrorKind::kConflict, "idempotency_in_flight",
                                  "A request with this Idempotency-Key is still being processed.",
                                  {{"idempotency_key", request.idempotency_key}});
    in_flight.retry_after_s = 1;
    return Fail(in_flight, &OrderCounters::refused);
  }
  Count(&OrderCounters::replayed);
  return RenderedAnswer{record.response_status, record.response_body, 0, true};
}

bool OrderService::Void(const PaymentRef& ref, const std::string& payment_key) {
  PaymentRef target = ref;
  if (target.id.empty()) {
    // The gateway did not name the payment (a timeout): find it by its key first.
    const PaymentResult found = payments_->Lookup(payment_key);
    if (found.outcome == PaymentOutcome::kNotFound) return true;  // nothing to void
    if (found.outcome != PaymentOutcome::kSucceeded) return false;
    target = found.payment;
  }
  const PaymentResult voided = payments_->Void(target, VoidKey(payment_key));
  if (voided.outcome == PaymentOutcome::kSucceeded) return true;
  LogError("voiding an authorization failed; recovery will retry at the next start",
           {{"payment_key", payment_key},
            {"gateway", target.gateway},
            {"outcome", PaymentOutcomeName(voided.outcome)},
            {"message", voided.message}});
  return false;
}

void OrderService::Settle(const std::string& payment_key, const std::string& state,
                          const PaymentRef& ref, const std::string& scope,
                          const PlaceOrderRequest& request, const RenderedAnswer* response) {
  PaymentSettlement settlement;
  settlement.payment_key = payment_key;
  settlement.state = state;
  settlement.gateway = ref.gateway;
  settlement.payment_id = ref.id;
  settlement.at_ms = ToUnixMillis(clock_.Now());
  if (!request.idempotency_key.empty()) {
    settlement.idempotency = IdempotencyRecord{scope,
                                               request.idempotency_key,
                                               request.request_hash,
                                               response != nullptr ? "done" : "forget",
                                               response != nullptr ? response->status : 0,
                                               response != nullptr ? response->body : "",
                                               settlement.at_ms};
  }
  Status settled = WaitForDurable(
      [&](DurableDone done) { ledger_.SettlePayment(std::move(settlement), std::move(done)); });
  if (!settled) {
    // The attempt stays pending, so the next start settles it (and voids what needs voiding).
    LogError("settling a payment attempt failed",
             {{"payment_key", payment_key}, {"error", settled.error().message}});
  }
}

// The order saga: check the hold, write the attempt, authorize, sell in memory, confirm in the
// ledger, and undo each step a later one refuses. It is two functions only because the gateway
// answers on its own time: Begin up to the authorization, Complete from its answer. What a crash
// leaves behind is decided by the order of the durable writes and the gateway calls, and that
// order reads from top to bottom across the two. The records they write are built by
// AttemptRecord and ConfirmedOrder above.
std::optional<RenderedAnswer> OrderService::Begin(const std::shared_ptr<PlacingOrder>& order) {
  const PlaceOrderRequest& request = order->request;
  if (payments_ == nullptr) {
    return Fail(PaymentUnavailable("No payment gateway is configured on this server."),
                &OrderCounters::payment_failed);
  }
  const std::string scope = IdempotencyScope(request.session_id, request.customer_id);
  if (!request.idempotency_key.empty()) {
    if (std::optional<RenderedAnswer> early = CheckIdempotency(request, scope)) return *early;
  }

  // The hold: live, and the caller's.
  auto hold_expired = [&]() -> RenderedAnswer {
    // A duplicate of this request may have ordered the hold since the check above: then the
    // answer is that request's, not a 409.
    if (!request.idempotency_key.empty()) {
      if (std::optional<RenderedAnswer> raced = CheckIdempotency(request, scope)) return *raced;
    }
    return Fail(HoldExpired(request.hold_id), &OrderCounters::hold_expired);
  };
  std::shared_ptr<Event> event = catalog_.Find(HoldService::EventIdOfHold(request.hold_id));
  if (!event) return hold_expired();
  const EventDefinition& definition = event->definition();
  SeatInventory& table = holds_.InventoryFor(event);
  std::optional<Hold> hold = table.Find(request.hold_id);
  if (!hold || hold->session_id != request.session_id || hold->status != HoldStatus::kHeld) {
    return hold_expired();
  }
  if (definition.queue.enabled && admission_ != nullptr) {
    if (Status admitted =
            admission_->VerifyAccess(definition.id, request.session_id, request.access_token);
        !admitted) {
      return Fail(admitted.error(), &OrderCounters::refused);
    }
  }

  // The attempt is durable before the gateway hears of it.
  const std::string order_id = "ord_" + RandomToken(kOrderIdChars);
  const std::string& payment_key = order_id;
  BeginPaymentRecord attempt =
      AttemptRecord(request, scope, definition, *hold, order_id, ToUnixMillis(clock_.Now()));
  Status begun = WaitForDurable([&](DurableDone done) {
    ledger_.BeginPayment(std::move(attempt.attempt), std::move(attempt.in_flight), std::move(done));
  });
  if (!begun) {
    if (begun.error().code == "idempotency_key_used") {
      // A duplicate raced this one between the check and the write: answer as a replay would.
      if (std::optional<RenderedAnswer> raced = CheckIdempotency(request, scope)) return *raced;
    }
    return Fail(begun.error(), &OrderCounters::errors);
  }

  BOXOFFICE_FAILPOINT("order.payment_begun");
  order->scope = scope;
  order->order_id = order_id;
  order->event = std::move(event);
  order->table = &table;
  // The worker is free while the gateway answers; its answer brings the order back to the pool.
  payments_->AuthorizeAsync(AuthorizeRequest{payment_key, hold->total_cents, definition.currency,
                                             request.payment_token, order_id},
                            [this, order](PaymentResult authorized) {
                              workers_->Submit([this, order, authorized = std::move(authorized)] {
                                Answer(*order, Complete(*order, authorized));
                              });
                            });
  return std::nullopt;
}

RenderedAnswer OrderService::Complete(PlacingOrder& placing, const PaymentResult& authorized) {
  const PlaceOrderRequest& request = placing.request;
  const std::string& scope = placing.scope;
  const std::string& order_id = placing.order_id;
  const std::string& payment_key = order_id;
  const Event& event = *placing.event;
  const EventDefinition& definition = event.definition();
  SeatInventory& table = *placing.table;
  if (authorized.outcome == PaymentOutcome::kDeclined) {
    RenderedAnswer response = rendering_.error(Error::Make(
        ErrorKind::kPaymentRequired, "payment_declined", "The card was declined.",
        {{"decline_code", authorized.decline_code}, {"gateway", authorized.payment.gateway}}));
    Settle(payment_key, "declined", authorized.payment, scope, request, &response);
    Count(&OrderCounters::declined);
    return response;
  }
  if (authorized.outcome != PaymentOutcome::kSucceeded) {
    // Failed did nothing; Unknown may have authorized, so it is voided (or left for recovery).
    const bool clean =
        authorized.outcome == PaymentOutcome::kFailed || Void(authorized.payment, payment_key);
    LogWarn("authorization failed", {{"order_id", order_id},
                                     {"outcome", PaymentOutcomeName(authorized.outcome)},
                                     {"message", authorized.message}});
    Settle(payment_key, clean ? "failed" : "pending", authorized.payment, scope, request, nullptr);
    return Fail(PaymentUnavailable("The payment could not be processed now; try again shortly."),
                &OrderCounters::payment_failed);
  }

  // Authorized: sell the seats in memory, then confirm in the ledger.
  BOXOFFICE_FAILPOINT("order.authorized");
  auto undo = [&](const Error& error, const std::vector<std::uint32_t>& seats,
                  const std::string& owner_key) -> RenderedAnswer {
    if (!seats.empty()) table.Unsell(seats, owner_key);
    const bool voided = Void(authorized.payment, payment_key);
    if (error.kind == ErrorKind::kConflict) {
      RenderedAnswer response = rendering_.error(error);
      Settle(payment_key, voided ? "voided" : "pending", authorized.payment, scope, request,
             &response);
      Count(&OrderCounters::conflicts);
      return response;
    }
    Settle(payment_key, voided ? "voided" : "pending", authorized.payment, scope, request, nullptr);
    return Fail(error, &OrderCounters::errors);
  };
  Result<Hold> sold = table.Sell(request.hold_id, request.session_id);
  if (!sold) return undo(sold.error(), {}, "");

  const std::int64_t now_ms = ToUnixMillis(clock_.Now());
  const OrderRecord order =
      ConfirmedOrder(request, event, *sold, authorized.payment, order_id, now_ms);
  std::vector<std::uint32_t> seat_indexes;
  for (const HeldSeat& seat : sold->seats) seat_indexes.push_back(seat.index);
  RenderedAnswer response = rendering_.placed(order);
  ConfirmOrderRecord record;
  record.order = order;
  record.payment_key = payment_key;
  if (!request.idempotency_key.empty()) {
    record.idempotency = IdempotencyRecord{scope,  request.idempotency_key, request.request_hash,
                                           "done", response.status,         response.body,
                                           now_ms};
  }
  record.first_outbox_attempt_at_ms = now_ms;
  Status confirmed = WaitForDurable(
      [&](DurableDone done) { ledger_.ConfirmOrder(std::move(record), std::move(done)); });
  if (!confirmed) {
    const std::string owner_key = IdempotencyScope(request.session_id, request.customer_id);
    // The journal still calls the hold live; end it so a restart does not hold the seats again.
    holds_.EndInJournal(request.hold_id, "order_failed");
    const Error error = ConfirmRefusal(confirmed.error(), request, event, seat_indexes);
    return undo(error, seat_indexes, owner_key);
  }
  BOXOFFICE_FAILPOINT("order.confirmed");
  Count(&OrderCounters::confirmed);
  if (definition.queue.enabled && admission_ != nullptr) {
    admission_->OrderConfirmed(definition.id, request.session_id, request.access_token);
  }
  return response;
}

void OrderService::Refund(RefundRequest request, std::function<void(RenderedAnswer)> done) {
  auto shared = std::make_shared<RefundRequest>(std::move(request));
  auto finish = std::make_shared<std::function<void(RenderedAnswer)>>(std::move(done));
  if (!workers_->TrySubmit([this, shared, finish] { (*finish)(ExecuteRefund(*shared)); })) {
    Error busy = Error::Make(ErrorKind::kUnavailable, "overloaded",
                             "Too many orders are being processed; try again shortly.");
    busy.retry_after_s = 1;
    (*finish)(Fail(busy, &OrderCounters::refused));
  }
}

// The refund saga: claim the order, write the attempt, give the money back, then refund in the
// ledger. The attempt (with the operator's key in flight) is durable before the gateway hears of
// it, so a second refund of the order waits for the first, and one cut short (a crash, a lost
// answer) is finished later by FinishPendingRefunds.
RenderedAnswer OrderService::ExecuteRefund(const RefundRequest& request) {
  if (payments_ == nullptr) {
    return Fail(PaymentUnavailable("No payment gateway is configured on this server."),
                &OrderCounters::payment_failed);
  }
  const std::string scope(kOperatorScope);
  // The answer already given under the operator's key, or 409 while it is in flight.
  auto replay = [&]() -> std::optional<RenderedAnswer> {
    if (request.idempotency_key.empty()) return std::nullopt;
    Result<std::optional<IdempotencyRecord>> found =
        ledger_.FindIdempotency(scope, request.idempotency_key);
    if (!found) return Fail(found.error(), &OrderCounters::errors);
    if (!found->has_value()) return std::nullopt;
    PlaceOrderRequest as_order;
    as_order.idempotency_key = request.idempotency_key;
    as_order.request_hash = request.request_hash;
    return Replay(**found, as_order);
  };
  // Another refund of the order runs: this one's answer if it is a duplicate that has one, else
  // 409: idempotency_in_flight when the one running is this request (its key), refund_in_flight
  // when it is another.
  auto busy = [&](const std::string& order_id, bool same_request) {
    if (std::optional<RenderedAnswer> raced = replay()) return *raced;
    Error error = same_request
                      ? Error::Make(ErrorKind::kConflict, "idempotency_in_flight",
                                    "A request with this Idempotency-Key is still being processed.",
                                    {{"idempotency_key", request.idempotency_key}})
                      : Error::Make(ErrorKind::kConflict, "refund_in_flight",
                                    "A refund of this order is in progress; ask again shortly.",
                                    {{"order_id", order_id}});
    error.retry_after_s = 1;
    return Fail(error, &OrderCounters::refused);
  };
  auto refunded_already = [&](const std::string& order_id) {
    // A duplicate of this request may have refunded the order since the check above: then the
    // answer is that request's, not a 409.
    if (std::optional<RenderedAnswer> raced = replay()) return *raced;
    return Fail(Error::Make(ErrorKind::kConflict, "order_refunded",
                            "The order has been refunded already.", {{"order_id", order_id}}),
                &OrderCounters::refused);
  };
  if (std::optional<RenderedAnswer> early = replay()) return *early;
  std::optional<RefundClaim> claim = ClaimRefund(request.order_id, request.idempotency_key);
  if (!claim) {
    return busy(request.order_id, !request.idempotency_key.empty() &&
                                      RefundKeyOf(request.order_id) == request.idempotency_key);
  }
  Result<OrderRecord> found = Get(request.order_id, "", "", true);
  if (!found) return Fail(found.error(), &OrderCounters::refused);
  OrderRecord order = std::move(found).value();
  if (order.status == "refunded") return refunded_already(order.id);

  const std::int64_t now_ms = ToUnixMillis(clock_.Now());
  RefundAttemptRecord attempt{order.id, "pending", now_ms, now_ms, "", ""};
  IdempotencyRecord in_flight;
  if (!request.idempotency_key.empty()) {
    attempt.request_scope = scope;
    attempt.request_key = request.idempotency_key;
    in_flight = IdempotencyRecord{
        scope, request.idempotency_key, request.request_hash, "in_flight", 0, "", now_ms};
  }
  Status begun = WaitForDurable([&](DurableDone done) {
    ledger_.BeginRefund(attempt, std::move(in_flight), std::move(done));
  });
  if (!begun) {
    const std::string& code = begun.error().code;
    if (code == "order_refunded") return refunded_already(order.id);
    // A duplicate that wrote its attempt first, or an attempt left by a lost answer that
    // FinishPendingRefunds will finish.
    if (code == "idempotency_key_used") return busy(order.id, true);
    if (code == "refund_in_flight") return busy(order.id, false);
    return Fail(begun.error(), &OrderCounters::errors);
  }
  return FinishRefund(std::move(order), attempt, request.request_hash, RefundCaller::kOperator);
}

RenderedAnswer OrderService::FinishRefund(OrderRecord order, const RefundAttemptRecord& attempt,
                                          const std::string& request_hash, RefundCaller caller) {
  // Not captured yet: a void suffices. If the outbox captured meanwhile the void is refused and
  // the refund below undoes the capture instead; both are idempotent by their keys, which are the
  // order's, so a refund finished later never moves money twice.
  const PaymentRef ref{order.gateway, order.payment_id};
  std::string payment_status;
  bool ambiguous = false;  // a call whose answer was lost may have given the money back
  if (order.payment_status == "authorized") {
    const PaymentResult voided = payments_->Void(ref, VoidKey(order.id));
    if (voided.outcome == PaymentOutcome::kSucceeded) payment_status = "voided";
    ambiguous = voided.outcome == PaymentOutcome::kUnknown;
  }
  if (payment_status.empty()) {
    const PaymentResult refunded = payments_->Refund(ref, order.total_cents, order.id + ":refund");
    if (refunded.outcome != PaymentOutcome::kSucceeded) {
      ambiguous = ambiguous || refunded.outcome == PaymentOutcome::kUnknown;
      LogWarn("refund failed at the gateway", {{"order_id", order.id},
                                               {"outcome", PaymentOutcomeName(refunded.outcome)},
                                               {"ambiguous", ambiguous},
                                               {"message", refunded.message}});
      if (ambiguous || caller == RefundCaller::kSweep) {
        // The attempt stays pending: the money may be back already, so the order must not stay
        // sold; FinishPendingRefunds asks the gateway again, with the same keys.
        return Fail(PaymentUnavailable("The gateway's answer was lost; the refund will be "
                                       "finished shortly. Ask again with the same "
                                       "Idempotency-Key to learn its outcome."),
                    &OrderCounters::payment_failed);
      }
      // Nothing moved: the attempt ends, and the operator may ask again with the same key.
      Status abandoned = WaitForDurable([&](DurableDone done) {
        ledger_.AbandonRefund(RefundAbandonRecord{order.id, ToUnixMillis(clock_.Now())},
                              std::move(done));
      });
      if (!abandoned) {
        LogError("abandoning a refund attempt failed; it will be tried again",
                 {{"order_id", order.id}, {"error", abandoned.error().message}});
      }
      return Fail(PaymentUnavailable("The gateway could not refund the order now; try again."),
                  &OrderCounters::payment_failed);
    }
    payment_status = "refunded";
  }
  BOXOFFICE_FAILPOINT("refund.gateway_done");
  const std::int64_t now_ms = ToUnixMillis(clock_.Now());
  order.status = "refunded";
  order.payment_status = payment_status;
  order.updated_at_ms = now_ms;
  for (TicketRecord& ticket : order.tickets) ticket.revoked_at_ms = now_ms;
  RenderedAnswer response = rendering_.refunded(order);
  RefundOrderRecord record{order.id, payment_status, now_ms, {}};
  if (!attempt.request_key.empty()) {
    record.idempotency =
        IdempotencyRecord{attempt.request_scope, attempt.request_key, request_hash, "done",
                          response.status,       response.body,       now_ms};
  }
  Status written = WaitForDurable(
      [&](DurableDone done) { ledger_.RefundOrder(std::move(record), std::move(done)); });
  if (!written) {
    return Fail(written.error(), written.error().kind == ErrorKind::kConflict
                                     ? &OrderCounters::refused
                                     : &OrderCounters::errors);
  }
  // Back on sale only once the ledger no longer calls the seats sold.
  if (std::shared_ptr<Event> event = catalog_.Find(order.event_id)) {
    std::vector<std::uint32_t> seats;
    for (const TicketRecord& ticket : order.tickets) {
      if (std::optional<std::uint32_t> index = event->seat_map().Find(ticket.seat_id)) {
        seats.push_back(*index);
      }
    }
    holds_.InventoryFor(event).Unsell(seats, IdempotencyScope(order.session_id, order.customer_id));
  }
  Count(&OrderCounters::refunded);
  LogInfo("order refunded", {{"order_id", order.id}, {"payment_status", payment_status}});
  return response;
}

std::optional<OrderService::RefundClaim> OrderService::ClaimRefund(const std::string& order_id,
                                                                   const std::string& key) {
  std::lock_guard lock(refunding_mutex_);
  if (!refunding_.emplace(order_id, key).second) return std::nullopt;
  return RefundClaim(this, order_id);
}

std::string OrderService::RefundKeyOf(const std::string& order_id) {
  std::lock_guard lock(refunding_mutex_);
  const auto found = refunding_.find(order_id);
  return found == refunding_.end() ? std::string() : found->second;
}

OrderService::RefundClaim::~RefundClaim() {
  if (service_ == nullptr) return;
  std::lock_guard lock(service_->refunding_mutex_);
  service_->refunding_.erase(order_id_);
}

Result<OrderRecord> OrderService::Get(const std::string& order_id, const std::string& session_id,
                                      const std::string& customer_id, bool as_operator) {
  auto not_found = [&order_id] {
    return Error::Make(ErrorKind::kNotFound, "order_not_found", "No order of yours has this id.",
                       {{"order_id", order_id}});
  };
  if (!order_id.starts_with("ord_") || order_id.size() > 64) return not_found();
  Result<std::optional<OrderRecord>> found = ledger_.FindOrder(order_id);
  if (!found) return found.error();
  if (!found->has_value()) return not_found();
  const OrderRecord& order = **found;
  const bool owner =
      order.session_id == session_id || (!customer_id.empty() && order.customer_id == customer_id);
  if (!as_operator && !owner) return not_found();
  return std::move(**found);
}

Result<std::vector<OrderRecord>> OrderService::FindByEmail(const std::string& email,
                                                           std::size_t limit) {
  return ledger_.FindOrdersByEmail(email, limit);
}

Result<TicketRecord> OrderService::GetTicket(const std::string& ticket_id,
                                             const std::string& session_id,
                                             const std::string& customer_id, bool as_operator) {
  auto not_found = [&ticket_id] {
    return Error::Make(ErrorKind::kNotFound, "ticket_not_found", "No ticket of yours has this id.",
                       {{"ticket_id", ticket_id}});
  };
  if (!ticket_id.starts_with("tkt_") || ticket_id.size() > 64) return not_found();
  Result<std::optional<TicketRecord>> ticket = ledger_.FindTicket(ticket_id);
  if (!ticket) return ticket.error();
  if (!ticket->has_value()) return not_found();
  // Ownership is the order's: the same answer as GET /v1/orders/{id}, 404 for a stranger.
  Result<OrderRecord> order = Get((*ticket)->order_id, session_id, customer_id, as_operator);
  if (!order) return order.error().kind == ErrorKind::kNotFound ? not_found() : order.error();
  return std::move(**ticket);
}

Status OrderService::RestoreSoldSeats() {
  Result<std::vector<SoldSeatRecord>> sold = ledger_.LoadSoldSeats();
  if (!sold) return sold.error();
  // (event, owner) -> seat indexes: one RestoreSold call per buyer.
  std::map<std::pair<std::string, std::string>, std::vector<std::uint32_t>> groups;
  std::map<std::string, std::shared_ptr<Event>> events;
  std::size_t seats = 0;
  for (const SoldSeatRecord& record : *sold) {
    auto [entry, inserted] = events.try_emplace(record.event_id);
    if (inserted) entry->second = catalog_.Find(record.event_id);
    if (!entry->second) {
      LogWarn("a sold seat names an unknown event", {{"event_id", record.event_id}});
      continue;
    }
    const std::optional<std::uint32_t> index = entry->second->seat_map().Find(record.seat_id);
    if (!index) {
      return Error::Internal("sold seat " + record.seat_id + " is not in event " + record.event_id +
                             "'s seat map");
    }
    groups[{record.event_id, record.owner_key}].push_back(*index);
    ++seats;
  }
  std::map<std::string, std::uint32_t> sold_per_event;
  for (const auto& [key, indexes] : groups) {
    SeatInventory& table = holds_.InventoryFor(events.at(key.first));
    if (Status restored = table.RestoreSold(indexes, key.second); !restored) {
      return Error::Internal("restoring sold seats of event " + key.first + ": " +
                             restored.error().message);
    }
    sold_per_event[key.first] += static_cast<std::uint32_t>(indexes.size());
  }
  // Read back: memory now sells exactly the seats the ledger says are sold.
  for (const auto& [event_id, count] : sold_per_event) {
    BOXOFFICE_CHECK(holds_.InventoryFor(events.at(event_id)).Counts().sold == count,
                    "the seats restored as sold are the ledger's sold seats");
  }
  LogInfo("sold seats restored", {{"seats", seats}});
  return {};
}

Result<std::size_t> OrderService::RecoverPendingPayments() {
  Result<std::vector<PaymentAttemptRecord>> pending = ledger_.LoadPendingPayments();
  if (!pending) return pending.error();
  if (pending->empty()) return std::size_t{0};
  if (payments_ == nullptr) {
    LogWarn("payment attempts left pending by a crash wait for a gateway",
            {{"pending", pending->size()}});
    return std::size_t{0};
  }
  std::size_t settled = 0;
  for (const PaymentAttemptRecord& attempt : *pending) {
    const PaymentResult found = payments_->Lookup(attempt.idempotency_key);
    std::string state;
    PaymentRef ref;
    if (found.outcome == PaymentOutcome::kNotFound) {
      state = "failed";  // the gateway never authorized it
    } else if (found.outcome == PaymentOutcome::kSucceeded) {
      ref = found.payment;
      const PaymentResult voided = payments_->Void(ref, VoidKey(attempt.idempotency_key));
      if (voided.outcome == PaymentOutcome::kSucceeded) state = "voided";
    }
    if (state.empty()) {
      LogWarn("a pending payment attempt could not be settled now",
              {{"payment_key", attempt.idempotency_key},
               {"outcome", PaymentOutcomeName(found.outcome)}});
      continue;
    }
    PaymentSettlement settlement;
    settlement.payment_key = attempt.idempotency_key;
    settlement.state = state;
    settlement.gateway = ref.gateway;
    settlement.payment_id = ref.id;
    settlement.at_ms = ToUnixMillis(clock_.Now());
    if (!attempt.request_key.empty()) {
      settlement.idempotency.scope = attempt.request_scope;
      settlement.idempotency.key = attempt.request_key;
      settlement.idempotency.state = "forget";
    }
    Status written = WaitForDurable(
        [&](DurableDone done) { ledger_.SettlePayment(std::move(settlement), std::move(done)); });
    if (!written) return written.error();
    ++settled;
    LogInfo("payment attempt without an order settled",
            {{"payment_key", attempt.idempotency_key}, {"state", state}});
  }
  return settled;
}

Result<std::size_t> OrderService::FinishPendingRefunds() {
  Result<std::vector<RefundAttemptRecord>> pending = ledger_.LoadPendingRefunds();
  if (!pending) return pending.error();
  if (pending->empty()) return std::size_t{0};
  if (payments_ == nullptr) {
    LogWarn("refunds left pending wait for a gateway", {{"pending", pending->size()}});
    return std::size_t{0};
  }
  const TimePoint now = clock_.Now();
  std::size_t finished = 0;
  for (const RefundAttemptRecord& attempt : *pending) {
    // One the operator's request runs now is theirs to finish.
    std::optional<RefundClaim> claim = ClaimRefund(attempt.order_id, "");
    if (!claim) continue;
    RefundRetry& retry = refund_retries_[attempt.order_id];
    if (now < retry.next_at) continue;
    Result<std::optional<OrderRecord>> order = ledger_.FindOrder(attempt.order_id);
    if (!order) return order.error();
    if (!order->has_value() || (*order)->status == "refunded") {
      // Cannot be (the attempt ends with the refund); ended so that it blocks nothing.
      Status abandoned = WaitForDurable([&](DurableDone done) {
        ledger_.AbandonRefund(RefundAbandonRecord{attempt.order_id, ToUnixMillis(now)},
                              std::move(done));
      });
      if (!abandoned) return abandoned.error();
      refund_retries_.erase(attempt.order_id);
      continue;
    }
    // The operator's request hash is in the in-flight record already; the answer goes there.
    const RenderedAnswer answer =
        FinishRefund(std::move(**order), attempt, "", RefundCaller::kSweep);
    if (answer.status == 200) {
      ++finished;
      refund_retries_.erase(attempt.order_id);
      LogInfo("a refund cut short was finished", {{"order_id", attempt.order_id}});
      continue;
    }
    retry.delay = std::min(kRefundRetryMax, retry.delay == std::chrono::milliseconds::zero()
                                                ? kRefundRetryFirst
                                                : retry.delay * 2);
    retry.next_at = now + retry.delay;
    LogWarn("a refund cut short could not be finished yet; it will be tried again",
            {{"order_id", attempt.order_id},
             {"status", answer.status},
             {"retry_in_ms", static_cast<std::int64_t>(retry.delay.count())}});
  }
  return finished;
}

}  // namespace boxoffice
