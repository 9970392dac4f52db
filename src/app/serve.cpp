#include "app/serve.hpp"

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "accounts/accounts.hpp"
#include "api/api.hpp"
#include "api/defense_middleware.hpp"
#include "api/routes.hpp"
#include "app/data_dir.hpp"
#include "app/mail_setup.hpp"
#include "app/openapi.hpp"
#include "app/payments_setup.hpp"
#include "catalog/catalog.hpp"
#include "catalog/demo_event.hpp"
#include "common/cidr.hpp"
#include "common/log.hpp"
#include "common/worker_pool.hpp"
#include "defense/defense.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "inventory/hold_service.hpp"
#include "orders/order_service.hpp"
#include "orders/outbox_worker.hpp"
#include "ports/clock.hpp"
#include "ports/mailer.hpp"
#include "ports/payment_gateway.hpp"
#include "store/ledger_queue_store.hpp"
#include "store/sqlite/sqlite_ledger.hpp"
#include "tickets/check_in.hpp"
#include "tickets/ticket_code.hpp"
#include "tools/gateway_sim.hpp"
#include "waitingroom/waiting_room.hpp"

namespace boxoffice::app {
namespace {

constexpr std::size_t kServerSecretBytes = 32;
constexpr std::size_t kAdminKeyBytes = 24;
constexpr std::size_t kHashingQueueMax = 256;
// Holds expire within this of their deadline (GET and DELETE see the exact deadline at once).
constexpr auto kHoldSweepInterval = std::chrono::milliseconds(100);
// The full scan behind the seat invariant check is O(seats); it runs this often.
constexpr auto kInvariantCheckInterval = std::chrono::seconds(10);

// Expires holds on time and checks the seat invariant now and then, on its own thread.
class HoldSweeper {
 public:
  explicit HoldSweeper(HoldService& holds) : holds_(holds), thread_([this] { Run(); }) {}
  ~HoldSweeper() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

 private:
  void Run() {
    auto next_check = std::chrono::steady_clock::now() + kInvariantCheckInterval;
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, kHoldSweepInterval, [this] { return stopping_; })) {
      lock.unlock();
      holds_.ExpireDue();
      if (std::chrono::steady_clock::now() >= next_check) {
        next_check = std::chrono::steady_clock::now() + kInvariantCheckInterval;
        holds_.ForEachInventory([](const Event& event, SeatInventory& inventory) {
          if (!inventory.CheckInvariant()) {
            LogError("seat invariant broken: available + held + sold != capacity",
                     {{"event_id", event.definition().id}});
          }
        });
      }
      lock.lock();
    }
  }

  HoldService& holds_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

// The admission controller's step: fine enough that a rate of 10/s admits one fan at a time.
constexpr auto kQueueTick = std::chrono::milliseconds(100);

int Fail(std::string_view what, const Error& error) {
  LogError(what, {{"error", error.message}, {"code", error.code}});
  return 1;
}

// Creates the demo event unless the catalog already holds events (a restart keeps the old one).
Result<std::string> EnsureDemoEvent(Catalog& catalog) {
  if (catalog.size() > 0) {
    Result<EventPage> page = catalog.List(1, std::nullopt);
    return page ? Result<std::string>(page->items.front()->definition().id) : page.error();
  }
  Result<EventDefinition> definition = ParseEventDefinition(DemoEventJson());
  if (!definition) return definition.error();
  std::promise<Result<std::shared_ptr<Event>>> created;
  catalog.Create(std::move(definition).value(), [&created](Result<std::shared_ptr<Event>> event) {
    created.set_value(std::move(event));
  });
  Result<std::shared_ptr<Event>> event = created.get_future().get();
  if (!event) return event.error();
  return (*event)->definition().id;
}

}  // namespace

int RunServe(const ServeConfig& config) {
  Result<http::ServerOptions> server_options = ToServerOptions(config);
  if (!server_options) return Fail("invalid configuration", server_options.error());
  if (Status made = EnsureDataDir(config.data_dir); !made) {
    return Fail("cannot prepare data dir", made.error());
  }
  Result<StoredSecret> secret = LoadOrCreateSecret(
      config.data_dir + "/secret.key", std::getenv("BOXOFFICE_SECRET"), kServerSecretBytes);
  if (!secret) return Fail("cannot load the server secret", secret.error());
  Result<StoredSecret> admin_key = LoadOrCreateSecret(
      config.data_dir + "/admin.key", std::getenv("BOXOFFICE_ADMIN_KEY"), kAdminKeyBytes);
  if (!admin_key) return Fail("cannot load the operator key", admin_key.error());
  if (admin_key->generated) {
    // Printed once, on the start that generated it; later starts point at the file.
    std::cout << "boxoffice: generated operator key (stored in " << config.data_dir
              << "/admin.key): " << admin_key->value << std::endl;
  }

  Result<std::unique_ptr<SqliteLedger>> ledger =
      SqliteLedger::Open(SqliteLedgerOptions{.path = config.data_dir + "/ledger.db"});
  if (!ledger) return Fail("cannot open the ledger", ledger.error());

  SystemClock clock;
  MetricsRegistry metrics;
  Catalog catalog(**ledger, clock);
  if (Status loaded = catalog.Load(); !loaded) return Fail("cannot load events", loaded.error());

  LedgerQueueStore queue_store(**ledger);
  WaitingRoom waiting_room(queue_store, clock, secret->value);
  HoldService holds(catalog, **ledger, clock);

  // Checkout: the card gateways behind the router, and the mailer of the confirmation mails.
  Result<std::vector<GatewayConfig>> gateways = ParseGateways(config.gateways);
  if (!gateways) return Fail("invalid --gateway", gateways.error());
  std::unique_ptr<tools::GatewaySim> demo_gateway;
  if (gateways->empty() && config.demo) {
    // The demo shop takes test cards (tok_visa, ...) through a simulator of its own, so that
    // `make run` sells tickets end to end with nothing else running.
    tools::GatewaySimOptions demo_options;
    demo_options.stop_on_signals = false;
    demo_gateway = std::make_unique<tools::GatewaySim>(demo_options);
    demo_gateway->Start();
    gateways->push_back(GatewayConfig{.name = "demo-sim",
                                      .url = demo_gateway->base_url(),
                                      .api_key = tools::GatewaySimOptions{}.api_key});
    LogWarn("demo: payments go to an in-process gateway simulator (test cards only)",
            {{"url", demo_gateway->base_url()}});
  }
  std::unique_ptr<PaymentGateway> payment_router;
  if (!gateways->empty()) {
    Result<std::unique_ptr<PaymentGateway>> built = BuildPaymentRouter(*gateways, clock, metrics);
    if (!built) return Fail("cannot set up the payment gateways", built.error());
    payment_router = std::move(built).value();
  }
  PaymentGateway* payments = payment_router.get();
  if (payments == nullptr) {
    LogWarn(
        "no payment gateway is configured (--gateway): orders answer 503 "
        "payments_unavailable");
  }
  std::unique_ptr<Mailer> mail = BuildMailer(config.mail, config.data_dir);
  Mailer* mailer = mail.get();
  TicketSigner ticket_signer(secret->value);
  OrderService orders(catalog, holds, **ledger, payments, &waiting_room, clock, metrics,
                      api::MakeOrderRendering());
  // Sold seats first: a journaled hold naming a sold seat is then ended as superseded.
  if (Status restored = orders.RestoreSoldSeats(); !restored) {
    return Fail("cannot restore sold seats", restored.error());
  }
  if (Status restored = holds.Restore(); !restored) {
    return Fail("cannot restore holds", restored.error());
  }
  if (Result<std::size_t> recovered = orders.RecoverPendingPayments(); !recovered) {
    return Fail("cannot recover pending payments", recovered.error());
  }
  OutboxWorker outbox(**ledger, payments, mailer, ticket_signer, clock, metrics);
  CheckInService check_in(**ledger, ticket_signer, clock);

  WorkerPool hashing_pool(config.hashing_threads, kHashingQueueMax);
  Accounts accounts(**ledger, clock, secret->value, std::chrono::seconds(config.session_ttl_s),
                    hashing_pool);

  Result<CidrList> allowlist = CidrList::Parse(config.defense_allowlist);
  if (!allowlist) return Fail("invalid --defense-allowlist", allowlist.error());
  Result<RiskModel> risk_model = LoadRiskModel(config.data_dir + "/risk-model.json");
  if (!risk_model) return Fail("invalid risk model", risk_model.error());
  LogInfo("risk_model", {{"version", risk_model->version()}});
  Defense defense(**ledger, clock,
                  DefenseOptions{config.rate_limit_slots, *allowlist, config.rate_limits,
                                 secret->value, *risk_model});
  if (Status loaded = defense.Load(); !loaded) {
    return Fail("cannot load the block and allow lists", loaded.error());
  }

  http::Router router;
  router.Use(api::DefenseMiddleware(defense, accounts, catalog, metrics));
  http::Server* server_for_ready = nullptr;
  api::ApiContext context{
      catalog,
      accounts,
      defense,
      metrics,
      admin_key->value,
      [&server_for_ready] { return server_for_ready != nullptr && server_for_ready->accepting(); },
      std::string(OpenApiYaml()),
      &holds,
      nullptr};
  context.waiting_room = &waiting_room;
  context.orders = &orders;
  context.tickets = &ticket_signer;
  context.check_in = &check_in;
  // Holds of queue-enabled events need the waiting room's access token.
  context.admission = &waiting_room;
  waiting_room.SetPublicChangeHook(
      [&context](const std::string& event_id) { api::RefreshEventJson(context, event_id); });
  // The demo event is created before the events are attached to the waiting room, so that its
  // queue works on the very first start too.
  std::optional<std::string> demo_event_id;
  if (config.demo) {
    Result<std::string> demo = EnsureDemoEvent(catalog);
    if (!demo) return Fail("cannot create the demo event", demo.error());
    demo_event_id = std::move(demo).value();
  }
  for (std::optional<std::string> cursor;;) {
    Result<EventPage> page = catalog.List(kEventsMax, cursor);
    if (!page) return Fail("cannot list events", page.error());
    for (const auto& event : page->items) {
      api::AttachEventQueue(context, std::const_pointer_cast<Event>(event), true);
    }
    if (!page->next_cursor) break;
    cursor = page->next_cursor;
  }
  // Every restored queue's next block of sequence numbers is durable before a fan can join.
  queue_store.Flush();
  api::RegisterRoutes(router, context);
  api::RegisterHoldMetrics(metrics, catalog, holds);
  HoldSweeper sweeper(holds);
  api::RegisterQueueMetrics(metrics, waiting_room);
  metrics.AddSampledFamily(
      "boxoffice_events", "Events in the catalog.", MetricType::kGauge,
      [&catalog](const MetricEmit& emit) { emit({}, static_cast<double>(catalog.size())); });
  metrics.AddSampledFamily("boxoffice_ledger_commits_total",
                           "Group commits of the ledger (one fsync each).", MetricType::kCounter,
                           [&ledger = **ledger](const MetricEmit& emit) {
                             emit({}, static_cast<double>(ledger.commits()));
                           });
  metrics.AddSampledFamily("boxoffice_defense_limiter_evictions_total",
                           "Rate-limit keys evicted while still limiting.", MetricType::kCounter,
                           [&defense](const MetricEmit& emit) {
                             emit({}, static_cast<double>(defense.limiter().evictions()));
                           });

  http::Server server(*server_options, router, metrics);
  try {
    server.Listen();
  } catch (const std::exception& error) {
    return Fail("cannot listen", Error::Internal(error.what()));
  }
  server_for_ready = &server;
  const std::string base_url = "http://" +
                               (server_options->listen_host.find(':') != std::string::npos
                                    ? "[" + server_options->listen_host + "]"
                                    : server_options->listen_host) +
                               ":" + std::to_string(server.port());
  LogInfo("listening", {{"url", base_url}, {"data_dir", config.data_dir}});
  if (demo_event_id) {
    std::cout << "boxoffice: demo event at " << base_url << "/v1/events/" << *demo_event_id
              << std::endl;
  }
  // Tests and scripts read the bound port from this line.
  std::cout << "boxoffice: listening on " << base_url << std::endl;

  // The admission controller runs on its own thread, so the domain stays a plain class that
  // tests drive with a fake clock.
  std::mutex ticker_mutex;
  std::condition_variable_any ticker_wake;
  std::jthread ticker([&](std::stop_token stop) {
    while (!stop.stop_requested()) {
      waiting_room.Tick();
      std::unique_lock lock(ticker_mutex);
      ticker_wake.wait_for(lock, stop, kQueueTick, [] { return false; });
    }
  });

  outbox.Start();
  server.Run();
  ticker.request_stop();
  ticker.join();
  outbox.Stop();
  LogInfo("ledger_flushing");
  (*ledger)->Flush();
  LogInfo("stopped");
  return 0;
}

}  // namespace boxoffice::app
