#include "tools/sim_world.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include "api/api.hpp"
#include "catalog/catalog.hpp"
#include "common/crypto.hpp"
#include "common/metrics.hpp"
#include "inventory/hold_service.hpp"
#include "inventory/hold_table.hpp"
#include "orders/order_service.hpp"
#include "orders/outbox_worker.hpp"
#include "payments/payment_router.hpp"
#include "ports/clock.hpp"
#include "store/ledger_queue_store.hpp"
#include "store/memory/memory_ledger.hpp"
#include "tickets/ticket_code.hpp"
#include "tools/sim_gateway.hpp"
#include "waitingroom/waiting_room.hpp"

namespace boxoffice::tools {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kSimSecret = "boxoffice-sim-server-secret-0123456789";
constexpr std::uint32_t kSimHoldTtlS = 90;
constexpr std::uint32_t kSimAccessTtlS = 240;
constexpr std::uint32_t kSimPerOrder = 4;
// Effects between two crashes, at most: a step makes one to a dozen.
constexpr std::uint64_t kSimCrashCountdownMax = 120;
// Under the room's abandon_after_s (120 s, counted in whole seconds): a fan seen again within
// it surely kept their place.
constexpr auto kSimLeavingGap = std::chrono::seconds(118);

// Waits for a callback-style call to answer.
template <typename T, typename Start>
T Await(Start start) {
  std::promise<T> answered;
  std::future<T> answer = answered.get_future();
  start([&answered](T value) { answered.set_value(std::move(value)); });
  return answer.get();
}

// An answer to a fan, and whether they heard it: not when the process was down by the time it
// was sent (read as the answer leaves, so an answer sent before its write is durable is heard).
template <typename T>
struct Heard {
  T answer;
  bool heard = false;
};

template <typename T, typename Start>
Heard<T> AwaitFan(const SimCrash& crash, Start start) {
  return Await<Heard<T>>([&](auto answered) {
    start([&crash, answered = std::move(answered)](T value) mutable {
      answered(Heard<T>{std::move(value), !crash.crashed()});
    });
  });
}

// "gateway/id": one payment, as orders and the bank both name it.
std::string PaymentName(const std::string& gateway, const std::string& id) {
  return gateway + "/" + id;
}

// The outbox's defaults, but one row at a time (the world is one operation at a time), jitter
// from the seed and a backoff short enough for the world's few minutes.
OutboxOptions SimOutboxOptions(std::uint64_t seed) {
  OutboxOptions options;
  options.concurrency = 1;
  options.backoff_max = std::chrono::seconds(30);
  options.seed = seed + 1;
  return options;
}

// The world is tuned for kSimFansBase fans; with more, time runs slower per step and the room
// admits faster, so that each fan still acts every few seconds of the fake clock.
constexpr std::uint32_t kSimFansBase = 40;

std::string SimEventJson(std::uint32_t seats, std::uint32_t fans) {
  const std::uint32_t speedup = std::max<std::uint32_t>(1, fans / kSimFansBase);
  // Two sections at two prices, so best-available has a choice to make.
  const std::uint32_t front = seats / 2;
  return R"({"name": "Simulated on-sale", "currency": "USD", "hold_ttl_s": )" +
         std::to_string(kSimHoldTtlS) +
         R"(, "price_tiers": [{"id": "A", "price_cents": 9000}, {"id": "B", "price_cents": 4500}],
            "sections": [{"id": "FLOOR", "tier": "A", "rows": [{"label": "A", "seats": )" +
         std::to_string(front) + R"(}]}, {"id": "UPPER", "tier": "B", "rows": [{"label": "K",
            "seats": )" +
         std::to_string(seats - front) + R"(}]}],
            "limits": {"per_order": )" +
         std::to_string(kSimPerOrder) + R"(, "per_customer": )" + std::to_string(kSimPerOrder) +
         R"(}, "queue": {"enabled": true, "admission_rate_per_s": )" + std::to_string(speedup) +
         R"(, "max_active": )" + std::to_string(6 * speedup) + R"(, "access_ttl_s": )" +
         std::to_string(kSimAccessTtlS) + R"(, "idle_release_s": 60}})";
}

std::vector<WeightedGateway> SimGateways(SimBank& bank) {
  std::vector<WeightedGateway> gateways;
  gateways.push_back({std::make_unique<SimGateway>("sim-a", bank), 2});
  gateways.push_back({std::make_unique<SimGateway>("sim-b", bank), 1});
  return gateways;
}

// One incarnation of the server: everything a crash throws away. Built as `serve` builds it.
struct SimServer {
  SimServer(const std::shared_ptr<MemoryLedgerData>& data, SimCrash& crash, SimBank& bank,
            const Clock& clock, std::uint64_t seed)
      : ledger(data,
               [&crash](std::string_view write) -> Status {
                 if (crash.Allow(write)) return {};
                 return Error::Make(ErrorKind::kUnavailable, "crashed", "The process is down.");
               }),
        catalog(ledger, clock),
        queue_store(ledger),
        room(queue_store, clock, SigningSecrets(kSimSecret)),
        holds(catalog, ledger, clock, HoldTable::Factory(clock)),
        router(SimGateways(bank), clock, metrics),
        orders(catalog, holds, ledger, &router, &room, clock, metrics, api::MakeOrderRendering(),
               OrderServiceOptions{1, 16, kOrdersInFlightMax}),
        outbox(ledger, &router, nullptr, signer, clock, metrics, SimOutboxOptions(seed)) {}

  // Waits until the order worker has nothing left to do and every write is applied.
  void Quiesce() {
    std::promise<void> idle;
    if (orders.Run([&idle] { idle.set_value(); })) idle.get_future().wait();
    ledger.Flush();
  }

  MetricsRegistry metrics;
  MemoryLedger ledger;
  Catalog catalog;
  LedgerQueueStore queue_store;
  WaitingRoom room;
  HoldService holds;
  TicketSigner signer{std::string(kSimSecret)};
  PaymentRouter router;
  OrderService orders;
  OutboxWorker outbox;
};

enum class Phase { kArriving, kWaiting, kShopping, kHolding, kDone, kGone };

struct SimFan {
  std::string session;
  Phase phase = Phase::kArriving;
  std::string ticket;
  std::uint64_t sequence = 0;
  std::string access;
  std::optional<Hold> hold;  // acknowledged to the fan
  std::uint32_t quantity = 1;
  std::string key;  // Idempotency-Key of the order being placed
  std::string token = "tok_visa";
  bool unanswered = false;      // the last order request got no answer (a crash)
  std::string admitted_ticket;  // the place the fan was last admitted from
  // The operator's refund of this fan's order: its key, done (answered 200), or asked without
  // an answer yet (a crash, a gateway down), to be asked again with the same key. Until then the
  // bank may be ahead of the ledger; recovery finishes what was cut short.
  std::string refund_key;
  bool refunded = false;
  bool refund_pending = false;
  // Fairness: whether the room has surely kept this fan's place since they joined (no restart,
  // never a gap it could take for leaving), when they were last seen, and who behind them was
  // let in first.
  bool orderly = false;
  TimePoint last_seen{};
  std::string overtaken_by;
  std::string order_id;  // told to the fan
  std::vector<std::string> order_seats;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options)
      : options_(options), dice_(options.seed), crash_(), bank_(options.seed * 7919 + 13, crash_) {
    result_.seed = options.seed;
    SimFaultRates rates;
    rates.failed = options.fault_rate * 0.4;
    rates.lost_request = options.fault_rate * 0.3;
    rates.lost_reply = options.fault_rate * 0.3;
    rates.lookup_failed = options.fault_rate * 0.5;
    rates_ = rates;
    for (std::uint32_t i = 0; i < options.fans; ++i) {
      SimFan fan;
      fan.session = "ses_sim_" + std::to_string(i + 1);
      fan.quantity = 1 + static_cast<std::uint32_t>(Roll(kSimPerOrder));
      if (Chance(0.2)) fan.token = "tok_declined";
      fans_.push_back(std::move(fan));
    }
  }

  SimResult Run() {
    Start(false);
    ArmCrash();
    for (std::uint32_t step = 1; step <= options_.steps && violations_budget_ > 0; ++step) {
      step_ = step;
      Step();
      if (!started_) break;
      if (crash_.crashed()) {
        Restart();
      } else {
        server_->Quiesce();
        if (crash_.crashed()) Restart();
      }
      if (!crash_.crashed()) Check(Moment::kRunning);
    }
    Drain();
    result_.steps = step_;
    result_.gateway_faults = bank_.faults();
    result_.effects = crash_.effects();
    result_.payments = bank_.Payments().size();
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest_));
    result_.digest = hex;
    return std::move(result_);
  }

 private:
  // ---- The dice ---------------------------------------------------------------------------
  std::uint64_t Roll(std::uint64_t bound) {
    return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(dice_);
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(dice_) < p; }

  // ---- The trace and the verdicts ---------------------------------------------------------
  void Trace(const std::string& line) {
    const std::string stamped = std::to_string(step_) + " " + line;
    for (const unsigned char c : stamped + "\n") {
      digest_ ^= c;
      digest_ *= 1'099'511'628'211ull;  // FNV-1a
    }
    if (options_.keep_trace) result_.trace.push_back(stamped);
  }

  void Violation(const std::string& invariant, const std::string& detail) {
    const std::string line = "step " + std::to_string(step_) + ": " + invariant + ": " + detail;
    // The checks run again right after a restart: one broken promise is told once.
    if (!result_.violations.empty() && result_.violations.back() == line) return;
    Trace("VIOLATION " + line);
    result_.violations.push_back(line);
    --violations_budget_;
  }

  // A world that cannot start again cannot go on: its run ends here.
  void Fatal(const std::string& invariant, const std::string& detail) {
    Violation(invariant, detail);
    violations_budget_ = 0;
    started_ = false;
  }

  // ---- Starting, crashing, recovering -----------------------------------------------------
  void Start(bool restore) {
    server_ = std::make_unique<SimServer>(data_, crash_, bank_, clock_, options_.seed);
    started_ = true;
    // Recovery talks to healthy gateways, so that what it settles is checked strictly below.
    bank_.SetFaults({});
    if (Status loaded = server_->catalog.Load(); !loaded) {
      return Fatal("restart", "the catalog did not load: " + loaded.error().message);
    }
    if (!restore) {
      Result<EventDefinition> definition =
          ParseEventDefinition(boost::json::parse(SimEventJson(options_.seats, options_.fans)));
      if (!definition) return Fatal("setup", definition.error().message);
      auto created = Await<Result<std::shared_ptr<Event>>>([&](auto done) {
        server_->catalog.Create(std::move(definition).value(), std::move(done));
      });
      if (!created) return Fatal("setup", created.error().message);
      event_id_ = (*created)->definition().id;
    }
    event_ = server_->catalog.Find(event_id_);
    if (!event_) return Fatal("restart", "the event " + event_id_ + " was lost");
    if (Status sold = server_->orders.RestoreSoldSeats(); !sold) {
      return Fatal("restart", "sold seats did not restore: " + sold.error().message);
    }
    if (Status held = server_->holds.Restore(); !held) {
      return Fatal("restart", "holds did not restore: " + held.error().message);
    }
    Result<std::size_t> settled = server_->orders.RecoverPendingPayments();
    if (!settled) return Fatal("restart", "payments did not recover");
    Result<std::size_t> refunds = server_->orders.FinishPendingRefunds();
    if (!refunds) return Fatal("restart", "refunds did not recover");
    SeatInventory& inventory = server_->holds.InventoryFor(event_);
    const Status attached = Await<Status>([&](auto done) {
      server_->room.Attach(
          event_->definition(),
          [&inventory] {
            const SeatCounts counts = inventory.Counts();
            return InventoryLevel{counts.available, counts.held};
          },
          restore, std::move(done));
    });
    if (!attached) return Fatal("restart", "the queue did not attach");
    server_->Quiesce();
    Trace("start restore=" + std::to_string(restore) + " settled=" + std::to_string(*settled) +
          " refunds=" + std::to_string(*refunds) +
          " sold=" + std::to_string(inventory.Counts().sold));
    if (restore) Check(Moment::kRecovered);
    bank_.SetFaults(rates_);
  }

  void ArmCrash() {
    if (armed_ >= options_.crashes) return;
    ++armed_;
    crash_.Arm(1 + Roll(kSimCrashCountdownMax), Chance(0.5));
  }

  void Restart() {
    server_.reset();  // every in-memory thing goes; only the ledger data and the bank stay
    const std::string point = crash_.Revive();
    ++result_.crashes[point];
    Trace("crash " + point);
    // Fans forget what they never heard; an order request without an answer is retried.
    for (SimFan& fan : fans_) {
      fan.orderly = false;
      fan.overtaken_by.clear();
    }
    Start(true);
    ArmCrash();
  }

  // ---- One step ---------------------------------------------------------------------------
  void Step() {
    const std::uint64_t kind = Roll(100);
    if (kind < 25) {
      // Time passes: up to two seconds (for kSimFansBase fans), now and then a long pause that
      // outlasts holds.
      const double scale = std::min(1.0, static_cast<double>(kSimFansBase) / options_.fans);
      const auto by = Chance(0.03 * scale)
                          ? milliseconds(60'000 + Roll(60'000))
                          : milliseconds(std::max<std::int64_t>(
                                1, static_cast<std::int64_t>((100 + Roll(1'900)) * scale)));
      clock_.Advance(by);
      server_->room.Tick();
      const std::size_t expired = server_->holds.ExpireDue();
      Result<QueueStats> queue = server_->room.Stats(event_id_);
      Trace("tick +" + std::to_string(by.count()) + "ms expired=" + std::to_string(expired) +
            (queue ? " serving=" + std::to_string(queue->serving) +
                         " active=" + std::to_string(queue->active)
                   : ""));
      return;
    }
    if (kind < 32) {
      const std::size_t handled = server_->outbox.RunDue();
      Result<std::size_t> refunds = server_->orders.FinishPendingRefunds();
      Trace("outbox handled=" + std::to_string(handled) +
            " refunds=" + (refunds ? std::to_string(*refunds) : "unreadable"));
      return;
    }
    if (kind < 35) {
      SimFan& buyer = fans_[Roll(fans_.size())];
      if (!buyer.order_id.empty() && !buyer.refunded) RefundOrder(buyer);
      return;
    }
    SimFan& fan = fans_[Roll(fans_.size())];
    switch (fan.phase) {
      case Phase::kArriving:
        return Join(fan);
      case Phase::kWaiting:
        return Poll(fan);
      case Phase::kShopping:
        return HoldSeats(fan);
      case Phase::kHolding:
        return Chance(0.06) ? Abandon(fan) : Place(fan);
      case Phase::kDone:
        return ReadOrder(fan);
      case Phase::kGone:
        return;
    }
  }

  void Join(SimFan& fan) {
    Result<FanView> view = server_->room.Join(event_id_, FanIdentity{fan.session, "", ""});
    if (!view) return Trace(fan.session + " join " + view.error().code);
    fan.ticket = view->queue_ticket;
    fan.sequence = view->sequence.value_or(0);
    fan.orderly = true;  // a new place, at the back
    fan.last_seen = clock_.Now();
    fan.overtaken_by.clear();
    fan.phase = Phase::kWaiting;
    Trace(fan.session + " join seq=" + std::to_string(fan.sequence));
    Observe(fan, *view);
  }

  void Poll(SimFan& fan) {
    Result<FanView> view = server_->room.Poll(event_id_, fan.session, fan.ticket);
    if (!view) {
      Trace(fan.session + " poll " + view.error().code);
      fan.phase = Phase::kArriving;
      return;
    }
    Trace(fan.session + " poll " + std::string(FanStateName(view->state)) +
          (view->position ? " pos=" + std::to_string(*view->position) : ""));
    Observe(fan, *view);
  }

  // What the room told a fan: admitted (shop), waiting (check nobody behind was let in), or
  // the end of the line.
  //
  // The promise checked (DESIGN.md, the waiting room): a fan who keeps polling is never passed
  // by a fan who joined after them. A fan the room has not seen for a while (or not since a
  // restart, which forgets who was waiting) may be passed, and gets the next free slot when
  // back; such a fan is not orderly and the check leaves them out.
  void Observe(SimFan& fan, const FanView& view) {
    if (clock_.Now() - fan.last_seen > kSimLeavingGap) fan.orderly = false;
    if (!fan.orderly) fan.overtaken_by.clear();
    fan.last_seen = clock_.Now();
    switch (view.state) {
      case FanState::kAdmitted:
        fan.access = view.access_token;
        fan.phase = fan.hold ? Phase::kHolding : Phase::kShopping;
        fan.admitted_ticket = fan.ticket;
        fan.overtaken_by.clear();
        // Whatever way this fan came in (the counter, a return), the counter had passed them, so
        // it had passed every orderly fan ahead of them too, and those were let in first.
        for (SimFan& ahead : fans_) {
          if (ahead.orderly && ahead.phase == Phase::kWaiting && ahead.sequence < fan.sequence) {
            ahead.overtaken_by = fan.session + " (seq " + std::to_string(fan.sequence) + ")";
          }
        }
        return;
      case FanState::kWaiting:
      case FanState::kPrequeue:
        if (fan.admitted_ticket == fan.ticket) {
          ++result_.admissions_forgotten;
          fan.admitted_ticket.clear();  // once per admission
        }
        if (!fan.overtaken_by.empty()) {
          Violation("fifo", fan.session + " (seq " + std::to_string(fan.sequence) +
                                ") still waits after " + fan.overtaken_by + " was admitted");
          fan.overtaken_by.clear();
        }
        return;
      case FanState::kSoldOut:
        fan.phase = Phase::kGone;
        return;
      case FanState::kClosed:
        // Access spent or ended: queue again at the back, as a fan who wants more would.
        fan.access.clear();
        fan.phase = Phase::kArriving;
        return;
    }
  }

  void HoldSeats(SimFan& fan) {
    if (Status access = server_->room.VerifyAccess(event_id_, fan.session, fan.access); !access) {
      Trace(fan.session + " access " + access.error().code);
      fan.access.clear();
      fan.phase = Phase::kWaiting;
      return;
    }
    SeatInventory& inventory = server_->holds.InventoryFor(event_);
    Result<Hold> held = inventory.HoldBestAvailable(HoldOwner{fan.session, ""},
                                                    BestAvailableRequest{fan.quantity, {}, false});
    if (!held) {
      Trace(fan.session + " hold " + held.error().code);
      if (fan.quantity > 1) {
        --fan.quantity;
      } else if (inventory.Counts().available == 0 && inventory.Counts().held == 0) {
        fan.phase = Phase::kGone;
      }
      return;
    }
    auto [acknowledged, heard] = AwaitFan<Result<Hold>>(crash_, [&](auto done) {
      server_->holds.Acknowledge(inventory, std::move(held).value(), std::move(done));
    });
    if (!heard) return Trace(fan.session + " hold (no answer)");
    if (!acknowledged) return Trace(fan.session + " hold " + acknowledged.error().code);
    fan.hold = *acknowledged;
    fan.key = "key-" + fan.session + "-" + std::to_string(++keys_);
    fan.phase = Phase::kHolding;
    Trace(fan.session + " hold " + fan.hold->id +
          " seats=" + std::to_string(fan.hold->seats.size()));
  }

  void Abandon(SimFan& fan) {
    const std::string hold_id = fan.hold->id;
    const auto [released, heard] = AwaitFan<Status>(
        crash_, [&](auto done) { server_->holds.Release(hold_id, fan.session, std::move(done)); });
    if (!heard) {
      fan.unanswered = true;  // released or not: the fan cannot tell
      return Trace(fan.session + " release (no answer)");
    }
    (void)server_->room.Leave(event_id_, fan.session, fan.ticket);
    fan.hold.reset();
    fan.phase = Phase::kGone;
    Trace(fan.session + " release " + (released ? "ok" : released.error().code));
  }

  void Place(SimFan& fan) {
    PlaceOrderRequest request;
    request.session_id = fan.session;
    request.hold_id = fan.hold->id;
    request.email = fan.session + "@example.com";
    request.payment_token = fan.token;
    request.access_token = fan.access;
    request.idempotency_key = fan.key;
    request.request_hash = "POST /v1/orders " + fan.hold->id + " " + fan.token;
    const auto [answer, heard] = AwaitFan<RenderedAnswer>(
        crash_, [&](auto done) { server_->orders.Place(std::move(request), std::move(done)); });
    if (!heard) {
      fan.unanswered = true;
      return Trace(fan.session + " order (no answer)");
    }
    fan.unanswered = false;
    const boost::json::value body = boost::json::parse(answer.body);
    std::string code;
    if (const auto* object = body.if_object(); object && object->contains("error")) {
      code = std::string(object->at("error").at("code").as_string());
    }
    Trace(fan.session + " order " + std::to_string(answer.status) + " " + code);
    if (answer.status == 201 || (answer.status == 200 && code.empty())) {
      fan.order_id = std::string(body.at("order_id").as_string());
      for (const HeldSeat& seat : fan.hold->seats) {
        fan.order_seats.push_back(event_->seat_map().SeatId(seat.index));
      }
      fan.phase = Phase::kDone;
      Sabotage(fan);
      return;
    }
    if (code == "payment_declined") {
      fan.token = "tok_visa";  // another card, another request
      fan.key = "key-" + fan.session + "-" + std::to_string(++keys_);
    } else if (code == "hold_expired") {
      fan.hold.reset();
      fan.phase = Phase::kShopping;
    } else if (code == "access_required" || code == "invalid_access_token") {
      fan.access.clear();
      fan.phase = Phase::kWaiting;
    }
    // 503 and idempotency_in_flight: the same key again, later.
  }

  // The operator refunds a fan's order; one without an answer is asked again with its key.
  void RefundOrder(SimFan& fan) {
    if (fan.refund_key.empty()) fan.refund_key = "refund-" + std::to_string(++keys_);
    RefundRequest request{fan.order_id, fan.refund_key, "POST refund " + fan.order_id};
    const auto [answer, heard] = AwaitFan<RenderedAnswer>(
        crash_, [&](auto done) { server_->orders.Refund(std::move(request), std::move(done)); });
    if (!heard) {
      fan.refund_pending = true;
      return Trace("refund " + fan.order_id + " (no answer)");
    }
    Trace("refund " + fan.order_id + " " + std::to_string(answer.status));
    fan.refunded = answer.status == 200;
    fan.refund_pending = !fan.refunded;
  }

  void ReadOrder(SimFan& fan) {
    Result<OrderRecord> order = server_->orders.Get(fan.order_id, fan.session, "", false);
    Trace(fan.session + " read " + fan.order_id + " " + (order ? order->status : "missing"));
    if (!order) Violation("acked order", fan.order_id + " is not readable by its fan");
    fan.phase = Phase::kGone;
  }

  void Sabotage(const SimFan& fan) {
    if (sabotaged_ || options_.sabotage == SimSabotage::kNone) return;
    sabotaged_ = true;
    if (options_.sabotage == SimSabotage::kForgetSale) {
      std::vector<std::uint32_t> seats;
      for (const HeldSeat& seat : fan.hold->seats) seats.push_back(seat.index);
      server_->holds.InventoryFor(event_).Unsell(seats, fan.session);
    } else if (options_.sabotage == SimSabotage::kChargeTwice) {
      AuthorizeRequest again;
      again.idempotency_key = "sabotage-" + fan.order_id;
      again.amount_cents = 100;
      again.currency = "USD";
      again.payment_token = "tok_visa";
      again.reference = fan.order_id;
      bank_.SetFaults({});
      (void)bank_.Authorize("sim-b", again);
      bank_.SetFaults(rates_);
    }
  }

  // ---- The end: every order captured and completed ----------------------------------------
  void Drain() {
    if (!started_ || crash_.crashed()) return;
    crash_.Disarm();
    // A clean restart first: recovery settles what a failed void left pending.
    server_.reset();
    Start(true);
    if (!started_) return;
    bank_.SetFaults({});
    for (SimFan& fan : fans_) {
      if (fan.refund_pending) RefundOrder(fan);
    }
    server_->Quiesce();
    for (int pass = 0; pass < 20; ++pass) {
      clock_.Advance(seconds(60));
      server_->outbox.RunDue();
      server_->Quiesce();
    }
    Check(Moment::kDrained);
  }

  // ---- The promises -----------------------------------------------------------------------
  // How much may still be in flight when the promises are checked.
  enum class Moment {
    kRunning,    // between steps: a failed void may wait for the next start
    kRecovered,  // just restarted, gateways healthy: recovery settled every attempt
    kDrained,    // the end: the outbox captured and completed every order
  };

  void Check(Moment moment) {
    if (!event_) return;
    SeatInventory& inventory = server_->holds.InventoryFor(event_);
    if (!inventory.CheckInvariant()) Violation("seat table", "its invariant does not hold");
    const SeatCounts counted = inventory.Counts();
    const SeatCounts scanned = inventory.Scan();
    if (counted.available != scanned.available || counted.held != scanned.held ||
        counted.sold != scanned.sold) {
      Violation("seat table", "its counters disagree with its seats");
    }
    if (counted.available + counted.held + counted.sold != inventory.size()) {
      Violation("seat table", "seats do not add up to the capacity");
    }

    Result<std::vector<SoldSeatRecord>> sold = server_->ledger.LoadSoldSeats();
    if (!sold) return Violation("ledger", "sold seats unreadable");
    std::map<std::string, std::string> sold_to;  // seat id -> order id
    for (const SoldSeatRecord& seat : *sold) {
      if (seat.event_id != event_id_) continue;
      if (!sold_to.emplace(seat.seat_id, seat.order_id).second) {
        Violation("double sale",
                  seat.seat_id + " is sold to " + sold_to[seat.seat_id] + " and " + seat.order_id);
      }
    }
    for (std::uint32_t index = 0; index < inventory.size(); ++index) {
      const std::string id = event_->seat_map().SeatId(index);
      const bool in_memory = inventory.Seat(index).status == SeatStatus::kSold;
      if (in_memory != sold_to.contains(id)) {
        Violation("seat table vs ledger",
                  id + (in_memory ? " is sold only in memory" : " is sold only in the ledger"));
      }
    }
    result_.seats_sold = sold_to.size();

    // Each order read once per check: fans' orders and those the sold seats name overlap.
    std::map<std::string, std::optional<OrderRecord>> read;
    const auto find_order = [&](const std::string& id) -> const std::optional<OrderRecord>& {
      auto [found, inserted] = read.try_emplace(id);
      if (inserted) {
        Result<std::optional<OrderRecord>> order = server_->ledger.FindOrder(id);
        if (order) found->second = std::move(order).value();
      }
      return found->second;
    };
    for (const SimFan& fan : fans_) {
      if (fan.order_id.empty()) continue;
      const std::optional<OrderRecord>& order = find_order(fan.order_id);
      if (!order) {
        Violation("acked order",
                  fan.order_id + " told to " + fan.session + " is not in the ledger");
        continue;
      }
      if (fan.refunded && order->status != "refunded") {
        Violation("refund", fan.order_id + " was refunded and is " + order->status);
      }
      if (fan.refunded || fan.refund_pending) continue;  // its seats may be on sale again
      std::vector<std::string> seats;
      for (const TicketRecord& ticket : order->tickets) seats.push_back(ticket.seat_id);
      std::vector<std::string> told = fan.order_seats;
      std::sort(seats.begin(), seats.end());
      std::sort(told.begin(), told.end());
      if (seats != told) Violation("acked order", fan.order_id + " holds other seats than told");
      for (const std::string& seat : told) {
        if (const auto to = sold_to.find(seat); to == sold_to.end() || to->second != fan.order_id) {
          Violation("acked order", seat + " of " + fan.order_id + " is not sold to it");
        }
      }
    }
    // Every order in the ledger: through the sold seats (the orders the fans never heard of too).
    std::map<std::string, OrderRecord> orders;
    std::set<std::string> order_payments;  // PaymentName of every order that sells seats
    for (const auto& [seat, order_id] : sold_to) {
      if (orders.contains(order_id)) continue;
      const std::optional<OrderRecord>& order = find_order(order_id);
      if (!order) continue;
      orders.emplace(order_id, *order);
      order_payments.insert(PaymentName(order->gateway, order->payment_id));
    }
    result_.orders = orders.size();
    CheckMoney(orders, order_payments, moment);
    if (moment == Moment::kRecovered) CheckHoldsKept();
  }

  void CheckMoney(const std::map<std::string, OrderRecord>& orders,
                  const std::set<std::string>& order_payments, Moment moment) {
    const bool strict = moment != Moment::kRunning;
    Result<std::vector<PaymentAttemptRecord>> pending = server_->ledger.LoadPendingPayments();
    if (!pending) return Violation("ledger", "pending payments unreadable");
    std::set<std::string> pending_keys;
    for (const PaymentAttemptRecord& attempt : *pending)
      pending_keys.insert(attempt.idempotency_key);
    if (strict && !pending->empty()) {
      Violation("recovery", std::to_string(pending->size()) +
                                " payment attempts still pending with healthy gateways");
    }
    std::map<std::string, int> live_by_reference;
    std::map<std::string, std::string> state_by_payment;
    for (const SimPayment& payment : bank_.Payments()) {
      state_by_payment[PaymentName(payment.gateway, payment.id)] = payment.state;
      if (payment.state != "authorized" && payment.state != "captured") continue;
      if (++live_by_reference[payment.reference] > 1) {
        Violation("charged twice", payment.reference + " holds more than one live payment");
      }
      const std::string name = PaymentName(payment.gateway, payment.id);
      if (!order_payments.contains(name) && (strict || !pending_keys.contains(payment.key))) {
        Violation("orphan charge", name + " (" + payment.state + ") for " + payment.reference +
                                       " belongs to no order" +
                                       (strict ? "" : " and to no pending attempt"));
      }
    }
    Result<std::vector<RefundAttemptRecord>> refunds = server_->ledger.LoadPendingRefunds();
    if (!refunds) return Violation("ledger", "pending refunds unreadable");
    if (strict && !refunds->empty()) {
      Violation("recovery",
                std::to_string(refunds->size()) + " refunds still pending with healthy gateways");
    }
    // Refunds asked and not done, where the bank may be ahead of the ledger while running; after
    // recovery none (it finished every refund cut short, and one answered with an error that it
    // did not keep pending moved no money).
    std::set<std::string> refunding;
    for (const SimFan& fan : fans_) {
      if (!strict && fan.refund_pending) refunding.insert(fan.order_id);
    }
    for (const auto& [id, order] : orders) {
      const std::string& state = state_by_payment[PaymentName(order.gateway, order.payment_id)];
      if (state != "authorized" && state != "captured" && !refunding.contains(id)) {
        Violation("unpaid sale",
                  id + " sold seats on a payment that is " + (state.empty() ? "unknown" : state));
      }
      if (moment == Moment::kDrained && (order.status != "completed" || state != "captured")) {
        Violation("outbox", id + " is " + order.status + " with its payment " + state +
                                " after the outbox drained");
      }
    }
  }

  // After a restart, before anyone acts: every hold a fan was told of and did not order is
  // still theirs until its deadline.
  void CheckHoldsKept() {
    for (const SimFan& fan : fans_) {
      if (!fan.hold || fan.unanswered || fan.phase != Phase::kHolding) continue;
      if (fan.hold->expires_at <= clock_.Now()) continue;
      Result<Hold> hold = server_->holds.Get(fan.hold->id, fan.session);
      if (!hold || hold->status != HoldStatus::kHeld) {
        Violation("acked hold", fan.hold->id + " of " + fan.session + " did not survive a restart");
      }
    }
  }

  SimOptions options_;
  std::mt19937_64 dice_;
  FakeClock clock_;
  std::shared_ptr<MemoryLedgerData> data_ = MemoryLedger::NewData();
  SimCrash crash_;
  SimBank bank_;
  SimFaultRates rates_;
  std::unique_ptr<SimServer> server_;
  std::string event_id_;
  std::shared_ptr<Event> event_;
  std::vector<SimFan> fans_;
  std::uint32_t armed_ = 0;
  std::uint64_t keys_ = 0;
  bool sabotaged_ = false;
  bool started_ = false;
  std::uint32_t step_ = 0;
  int violations_budget_ = 20;  // a broken world stops early, its first violations told
  std::uint64_t digest_ = 14'695'981'039'346'656'037ull;
  SimResult result_;
};

}  // namespace

SimResult RunSimulation(const SimOptions& options) {
  UseDeterministicRandomness(options.seed);
  SimResult result = Simulation(options).Run();
  UseSystemRandomness();
  return result;
}

}  // namespace boxoffice::tools
