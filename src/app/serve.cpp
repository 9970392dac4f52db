#include "app/serve.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "accounts/accounts.hpp"
#include "api/api.hpp"
#include "api/defense_middleware.hpp"
#include "api/routes.hpp"
#include "api/stats_series.hpp"
#include "app/data_dir.hpp"
#include "app/mail_setup.hpp"
#include "app/openapi.hpp"
#include "app/payments_setup.hpp"
#include "catalog/catalog.hpp"
#include "catalog/demo_event.hpp"
#include "common/cidr.hpp"
#include "common/failpoint.hpp"
#include "common/log.hpp"
#include "common/token.hpp"
#include "common/worker_pool.hpp"
#include "defense/defense.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/static_site.hpp"
#include "inventory/hold_service.hpp"
#include "inventory/hold_table.hpp"
#include "operators/audit_trail.hpp"
#include "operators/operator_keys.hpp"
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
// How often refunds cut short by a lost gateway answer are looked for (each backs off on its own,
// OrderService::FinishPendingRefunds).
constexpr auto kRefundSweepInterval = std::chrono::seconds(1);

int Fail(std::string_view what, const Error& error) {
  LogError(what, {{"error", error.message}, {"code", error.code}});
  return 1;
}

// Runs `step` every `interval` on a thread of its own, so that what it drives (the admission
// controller's tick, the sweep of refunds cut short) stays a plain class that tests step with a
// fake clock.
class Ticker {
 public:
  Ticker(std::chrono::milliseconds interval, std::function<void()> step)
      : thread_([this, interval, step = std::move(step)](std::stop_token stop) {
          while (!stop.stop_requested()) {
            step();
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, stop, interval, [] { return false; });
          }
        }) {}

 private:
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::jthread thread_;  // last: starts after the members it uses, stops and joins first
};

// Takes the stats history's sample at each whole second of the wall clock, on a thread of its own:
// a pass reads every sampled event's stats, the orders' from the ledger, which no I/O thread may
// wait on. The time stamp is the second itself, so samples are one second apart in the series
// whatever a pass costs; a pass that overran skips the seconds it missed rather than crowding
// them.
class StatsTicker {
 public:
  StatsTicker(api::StatsSampler& sampler, const Clock& clock)
      : thread_([this, &sampler, &clock](std::stop_token stop) {
          using std::chrono::seconds;
          std::int64_t last_sampled_s = 0;
          while (!stop.stop_requested()) {
            const TimePoint now = clock.Now();
            const std::int64_t second = std::chrono::floor<seconds>(now).time_since_epoch().count();
            // A wake-up just before the second's boundary sees the same second again.
            if (second != last_sampled_s) {
              sampler.Sample(second);
              last_sampled_s = second;
            }
            const TimePoint next = TimePoint(seconds(last_sampled_s + api::kStatsSeriesIntervalS));
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, stop, next - clock.Now(), [] { return false; });
          }
        }) {}

 private:
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::jthread thread_;  // last: starts after the members it uses, stops and joins first
};

struct Secrets {
  std::vector<std::string> server;  // sign tokens and challenges, newest first
  std::vector<std::string> admin;   // the operator keys
};

// The data dir, and the secrets in it (or from the environment); a generated operator key is
// printed once, on the start that generated it.
Result<Secrets> LoadSecrets(const ServeConfig& config) {
  if (Status made = EnsureDataDir(config.data_dir); !made) return made.error();
  Result<StoredSecrets> secret = LoadOrCreateSecrets(config.data_dir, kServerSecrets);
  if (!secret) return secret.error();
  Result<StoredSecrets> admin_key = LoadOrCreateSecrets(config.data_dir, kOperatorKeys);
  if (!admin_key) return admin_key.error();
  if (admin_key->generated) {
    std::cout << "boxoffice: generated operator key (stored in " << config.data_dir
              << "/admin.key): " << admin_key->values.front() << std::endl;
  }
  // Ids only: which key signs, and how many more verify, tell a rotation's progress.
  LogInfo("keys", {{"signing_key_id", KeyId(secret->values.front())},
                   {"verifying_keys", std::to_string(secret->values.size())},
                   {"operator_keys", std::to_string(admin_key->values.size())}});
  return Secrets{std::move(secret->values), std::move(admin_key->values)};
}

struct Payments {
  // The demo's in-process simulators, if any: one per API, as the design routes over several.
  std::vector<std::unique_ptr<tools::GatewaySim>> demo_gateways;
  std::unique_ptr<PaymentRouter> router;  // null: no gateway, orders answer 503
};

// The demo's gateways: the Stripe simulator takes 70 of every 100 authorizations and the
// Braintree one 30 (the first order of a fresh server goes to the Stripe one, "demo-sim").
struct DemoGateway {
  std::string_view name;
  std::string_view api;
  unsigned weight;
};
constexpr DemoGateway kDemoGateways[] = {{"demo-sim", "stripe", 70},
                                         {"demo-braintree", "braintree", 30}};

// The card gateways behind the router. The demo shop takes test cards (tok_visa, ...) through
// simulators of its own, so that `make run` sells tickets end to end with nothing else running.
Result<Payments> StartPayments(const ServeConfig& config, const Clock& clock,
                               MetricsRegistry& metrics) {
  Result<std::vector<GatewayConfig>> gateways = ParseGateways(config.gateways);
  if (!gateways) return gateways.error();
  Payments payments;
  if (gateways->empty() && config.demo) {
    for (const DemoGateway& spec : kDemoGateways) {
      tools::GatewaySimOptions options;
      options.api = std::string(spec.api);
      options.stop_on_signals = false;
      auto& sim = payments.demo_gateways.emplace_back(std::make_unique<tools::GatewaySim>(options));
      sim->Start();
      GatewayConfig demo;
      demo.name = std::string(spec.name);
      demo.api = options.api;
      demo.url = sim->base_url();
      demo.api_key = options.api_key;
      demo.public_key = options.public_key;
      demo.weight = spec.weight;
      gateways->push_back(std::move(demo));
      LogWarn("demo: payments go to an in-process gateway simulator (test cards only)",
              {{"gateway", spec.name}, {"api", spec.api}, {"url", sim->base_url()}});
    }
  }
  if (gateways->empty()) {
    LogWarn(
        "no payment gateway is configured (--gateway): orders answer 503 "
        "payments_unavailable");
    return payments;
  }
  Result<std::unique_ptr<PaymentRouter>> router = BuildPaymentRouter(*gateways, clock, metrics);
  if (!router) return router.error();
  payments.router = std::move(router).value();
  return payments;
}

// The cards the fan page offers: the demo simulator's test tokens; none for real gateways, whose
// card forms the page would show instead.
std::vector<std::string> TestCards(const Payments& payments) {
  if (payments.demo_gateways.empty()) return {};
  const std::span<const std::string_view> cards = tools::GatewaySimTestCards();
  return std::vector<std::string>(cards.begin(), cards.end());
}

// What a crash left behind, before anyone is served: sold seats first (a journaled hold naming a
// sold seat is then ended as superseded), then live holds, then payments left pending, then
// refunds cut short (which put their seats back on sale).
Status RestoreSales(OrderService& orders, HoldService& holds) {
  if (Status restored = orders.RestoreSoldSeats(); !restored) return restored;
  if (Status restored = holds.Restore(); !restored) return restored;
  if (Result<std::size_t> recovered = orders.RecoverPendingPayments(); !recovered) {
    return recovered.error();
  }
  if (Result<std::size_t> recovered = orders.FinishPendingRefunds(); !recovered) {
    return recovered.error();
  }
  return {};
}

Result<DefenseOptions> LoadDefenseOptions(const ServeConfig& config,
                                          const std::vector<std::string>& secrets) {
  Result<CidrList> allowlist = CidrList::Parse(config.defense_allowlist);
  if (!allowlist) return allowlist.error();
  Result<RiskModel> risk_model = LoadRiskModel(config.data_dir + "/risk-model.json");
  if (!risk_model) return risk_model.error();
  LogInfo("risk_model", {{"version", risk_model->version()}});
  return DefenseOptions{config.rate_limit_slots, *allowlist, config.rate_limits, secrets,
                        *risk_model};
}

// The fan page's files: --web-dir when given (and then it must load), else web/dist beside the
// binary's folder (build/boxoffice finds the repository's web/dist) when it is there. Without one
// the server answers the API alone and says so.
Result<std::optional<http::StaticSite>> LoadWebPages(const ServeConfig& config) {
  std::string dir = config.web_dir;
  if (dir.empty()) {
    std::error_code error;
    const std::filesystem::path binary = std::filesystem::read_symlink("/proc/self/exe", error);
    const std::filesystem::path beside = binary.parent_path().parent_path() / "web" / "dist";
    if (error || !std::filesystem::is_regular_file(beside / "index.html", error)) {
      LogWarn(
          "no fan page: --web-dir is not set and web/dist is not beside the binary; "
          "build it with `make web`");
      return std::optional<http::StaticSite>();
    }
    dir = beside.string();
  }
  Result<http::StaticSite> site = http::StaticSite::Load(dir);
  if (!site) return site.error();
  LogInfo("fan page loaded",
          {{"web_dir", dir}, {"files", site->files().size()}, {"bytes", site->bytes()}});
  return std::optional<http::StaticSite>(std::move(site).value());
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

// Every event's queue joins the waiting room, and its next block of sequence numbers is durable
// before a fan can join.
Status AttachQueues(api::ApiContext& context, QueueStore& queue_store) {
  for (std::optional<std::string> cursor;;) {
    Result<EventPage> page = context.catalog.List(kEventsMax, cursor);
    if (!page) return page.error();
    for (const auto& event : page->items) {
      api::AttachEventQueue(context, std::const_pointer_cast<Event>(event), true);
    }
    if (!page->next_cursor) break;
    cursor = page->next_cursor;
  }
  queue_store.Flush();
  return {};
}

// The process's own families: what no domain counts.
// The process's resident memory from /proc/self/statm (the second field, in pages); 0 where
// there is no /proc.
double ResidentBytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  unsigned long long size = 0;
  unsigned long long resident = 0;
  const int read = std::fscanf(statm, "%llu %llu", &size, &resident);
  std::fclose(statm);
  return read == 2 ? static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) : 0;
}

double CpuSeconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void RegisterProcessMetrics(MetricsRegistry& metrics, const Catalog& catalog,
                            const SqliteLedger& ledger, const Defense& defense) {
  // The names Prometheus's own client libraries use, so dashboards find them.
  metrics.AddSampledFamily("process_resident_memory_bytes", "Resident memory size in bytes.",
                           MetricType::kGauge,
                           [](const MetricEmit& emit) { emit({}, ResidentBytes()); });
  const double started_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  metrics.AddSampledFamily(
      "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
      MetricType::kGauge, [started_s](const MetricEmit& emit) { emit({}, started_s); });
  metrics.AddSampledFamily("process_cpu_seconds_total",
                           "Total user and system CPU time spent in seconds.", MetricType::kCounter,
                           [](const MetricEmit& emit) { emit({}, CpuSeconds()); });
  metrics.AddSampledFamily(
      "boxoffice_events", "Events in the catalog.", MetricType::kGauge,
      [&catalog](const MetricEmit& emit) { emit({}, static_cast<double>(catalog.size())); });
  metrics.AddSampledFamily(
      "boxoffice_ledger_commits_total", "Group commits of the ledger (one fsync each).",
      MetricType::kCounter,
      [&ledger](const MetricEmit& emit) { emit({}, static_cast<double>(ledger.commits())); });
  metrics.AddSampledFamily("boxoffice_defense_limiter_evictions_total",
                           "Rate-limit keys evicted while still limiting.", MetricType::kCounter,
                           [&defense](const MetricEmit& emit) {
                             emit({}, static_cast<double>(defense.limiter().evictions()));
                           });
}

std::string BaseUrl(const http::ServerOptions& options, std::uint16_t port) {
  const std::string& host = options.listen_host;
  const std::string scheme = options.tls_cert_file.empty() ? "http://" : "https://";
  return scheme + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

// Says where the server listens, in the log and on stdout, where tests and scripts read the bound
// port from the last line.
void AnnounceListening(const std::string& base_url, const std::string& data_dir,
                       const std::optional<std::string>& demo_event_id) {
  LogInfo("listening", {{"url", base_url}, {"data_dir", data_dir}});
  if (demo_event_id) {
    std::cout << "boxoffice: demo event at " << base_url << "/v1/events/" << *demo_event_id
              << std::endl;
  }
  std::cout << "boxoffice: listening on " << base_url << std::endl;
}

}  // namespace

// Opens the data dir and the ledger, builds every service on its ports in dependency order,
// restores what a crash left, wires the routes, and serves until SIGTERM/SIGINT. Each step that
// can fail is a function above; what remains here is the order of construction, which is also
// the reverse order of destruction at the stop.
int RunServe(const ServeConfig& config) {
  if (Status armed = failpoint::CheckEnvironment(); !armed) {
    return Fail("invalid failpoints", armed.error());
  }
  Result<http::ServerOptions> server_options = ToServerOptions(config);
  if (!server_options) return Fail("invalid configuration", server_options.error());
  Result<Secrets> secrets = LoadSecrets(config);
  if (!secrets) return Fail("cannot prepare the data dir and its secrets", secrets.error());
  Result<std::unique_ptr<SqliteLedger>> opened =
      SqliteLedger::Open(SqliteLedgerOptions{.path = config.data_dir + "/ledger.db"});
  if (!opened) return Fail("cannot open the ledger", opened.error());
  SqliteLedger& ledger = **opened;

  SystemClock clock;
  MetricsRegistry metrics;
  Catalog catalog(ledger, clock);
  if (Status loaded = catalog.Load(); !loaded) return Fail("cannot load events", loaded.error());
  LedgerQueueStore queue_store(ledger);
  WaitingRoomOptions room_options;
  room_options.sequence_block = config.queue_sequence_block;
  WaitingRoom waiting_room(queue_store, clock, secrets->server, room_options);
  HoldService holds(catalog, ledger, clock, HoldTable::Factory(clock));

  Result<Payments> payments = StartPayments(config, clock, metrics);
  if (!payments) return Fail("cannot set up the payment gateways", payments.error());
  std::unique_ptr<Mailer> mailer = BuildMailer(config.mail, config.data_dir);
  // Ticket keys come from the oldest secret, never rotated: printed tickets and offline scanners
  // hold them for the event's life (docs/security.md, "Rotating keys").
  TicketSigner ticket_signer(secrets->server.back());
  OrderService orders(catalog, holds, ledger, payments->router.get(), &waiting_room, clock, metrics,
                      api::MakeOrderRendering(),
                      OrderServiceOptions{config.order_workers, config.order_queue_max,
                                          config.orders_in_flight_max});
  if (Status restored = RestoreSales(orders, holds); !restored) {
    return Fail("cannot restore the sales a crash left", restored.error());
  }
  OutboxOptions outbox_options;
  outbox_options.concurrency = config.outbox_concurrency;
  outbox_options.attempts_max = static_cast<int>(config.outbox_attempts_max);
  outbox_options.backoff_base = std::chrono::milliseconds(config.outbox_backoff_base_ms);
  outbox_options.backoff_max = std::chrono::seconds(config.outbox_backoff_max_s);
  OutboxWorker outbox(ledger, payments->router.get(), mailer.get(), ticket_signer, clock, metrics,
                      outbox_options);
  CheckInService check_in(ledger, ticket_signer, clock);
  WorkerPool hashing_pool(config.hashing_threads, kHashingQueueMax);
  Accounts accounts(ledger, clock, secrets->server, std::chrono::seconds(config.session_ttl_s),
                    hashing_pool);
  Result<DefenseOptions> defense_options = LoadDefenseOptions(config, secrets->server);
  if (!defense_options) return Fail("invalid defence settings", defense_options.error());
  Defense defense(ledger, clock, std::move(defense_options).value());
  if (Status loaded = defense.Load(); !loaded) {
    return Fail("cannot load the block and allow lists", loaded.error());
  }
  // Minted keys are signed with the server secret, as sessions are, and checked in memory.
  OperatorKeys operator_keys(ledger, clock, secrets->server);
  if (Status loaded = operator_keys.Load(); !loaded) {
    return Fail("cannot load the operator keys", loaded.error());
  }
  AuditTrail audit(ledger, clock, metrics);

  Result<std::optional<http::StaticSite>> site = LoadWebPages(config);
  if (!site) return Fail("cannot load the fan page", site.error());

  api::StatsSeries stats_series;
  http::Router router;
  router.Use(api::DefenseMiddleware(defense, accounts, catalog, metrics));
  http::Server* server_for_ready = nullptr;
  api::ApiContext context{.catalog = catalog,
                          .accounts = accounts,
                          .defense = defense,
                          .metrics = metrics,
                          .admin_keys = secrets->admin,
                          .ready =
                              [&server_for_ready] {
                                return server_for_ready != nullptr && server_for_ready->accepting();
                              },
                          .openapi_yaml = std::string(OpenApiYaml()),
                          .holds = &holds,
                          // Holds of queue-enabled events need the waiting room's access token.
                          .admission = &waiting_room,
                          .waiting_room = &waiting_room,
                          .orders = &orders,
                          .tickets = &ticket_signer,
                          .check_in = &check_in,
                          .site = *site ? &**site : nullptr,
                          .test_cards = TestCards(*payments),
                          .stats_series = &stats_series};
  context.operator_keys = &operator_keys;
  context.audit = &audit;
  context.payment_router = payments->router.get();
  waiting_room.SetPublicChangeHook(
      [&context](const std::string& event_id) { api::RefreshEventJson(context, event_id); });
  // The demo event is created before the queues are attached, so that its queue works on the
  // very first start too.
  std::optional<std::string> demo_event_id;
  if (config.demo) {
    Result<std::string> demo = EnsureDemoEvent(catalog);
    if (!demo) return Fail("cannot create the demo event", demo.error());
    demo_event_id = std::move(demo).value();
  }
  if (Status attached = AttachQueues(context, queue_store); !attached) {
    return Fail("cannot attach the events' queues", attached.error());
  }
  api::RegisterRoutes(router, context);
  api::RegisterHoldMetrics(metrics, catalog, holds);
  api::RegisterQueueMetrics(metrics, waiting_room);
  RegisterProcessMetrics(metrics, catalog, ledger, defense);
  HoldSweeper sweeper(holds);

  http::Server server(*server_options, router, metrics);
  try {
    server.Listen();
  } catch (const std::exception& error) {
    return Fail("cannot listen", Error::Internal(error.what()));
  }
  server_for_ready = &server;
  AnnounceListening(BaseUrl(*server_options, server.port()), config.data_dir, demo_event_id);

  api::StatsSampler stats_sampler(context, stats_series);
  {
    Ticker admission_ticker(kQueueTick, [&waiting_room] { waiting_room.Tick(); });
    Ticker refund_ticker(kRefundSweepInterval, [&orders] {
      if (Result<std::size_t> swept = orders.FinishPendingRefunds(); !swept) {
        LogError("cannot read the refunds left pending", {{"error", swept.error().message}});
      }
    });
    StatsTicker stats_ticker(stats_sampler, clock);
    outbox.Start();
    server.Run();
  }  // the tickers stop here, before the outbox and the ledger the stats read
  outbox.Stop();
  LogInfo("ledger_flushing");
  ledger.Flush();
  LogInfo("stopped");
  return 0;
}

}  // namespace boxoffice::app
