#include "store/memory/memory_ledger.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "common/check.hpp"
#include "common/text.hpp"

namespace boxoffice {

// Tables as the SQLite schema has them, with the same uniqueness rules.
struct MemoryLedgerData {
  struct JournaledHold {
    HoldRecord record;
    bool ended = false;
  };
  struct Outbox {
    OutboxRecord record;
    bool done = false;
  };
  struct SoldSeat {
    std::string ticket_id;
    std::string order_id;
  };

  std::mutex mutex;
  std::vector<EventRecord> events;                     // oldest first
  std::map<std::string, CustomerRecord> customers;     // by id
  std::map<std::string, std::string> customer_emails;  // email -> id
  std::map<std::string, std::string> settings;
  std::map<std::string, std::vector<CidrListRecord>> cidr_lists;
  std::vector<JournaledHold> holds;               // journal order
  std::map<std::string, std::size_t> hold_index;  // id -> position in holds
  std::map<std::pair<std::string, std::string>, IdempotencyRecord> idempotency;  // (scope, key)
  std::map<std::string, PaymentAttemptRecord> attempts;  // by idempotency_key
  std::map<std::string, RefundAttemptRecord> refunds;    // by order id
  std::map<std::string, OrderRecord> orders;             // by id, without tickets
  std::vector<std::string> order_sequence;               // ids, oldest first
  std::set<std::string> ordered_holds;                   // orders' hold ids: one order per hold
  std::map<std::string, TicketRecord> tickets;           // by id
  std::map<std::string, std::vector<std::string>> order_tickets;  // order id -> ticket ids
  std::map<std::pair<std::string, std::string>, SoldSeat> sold;   // (event, seat)
  std::map<std::int64_t, Outbox> outbox;                          // by id
  std::map<std::string, CheckInRecord> check_ins;                 // by ticket id
  std::map<std::string, ScannerKeyRecord> scanner_keys;           // by id
  std::map<std::string, std::string> scanner_key_hashes;          // hash -> id
  struct OperatorKey {
    OperatorKeyRecord record;
    bool revoked = false;
  };
  std::vector<OperatorKey> operator_keys;                 // mint order, revoked ones kept
  std::map<std::string, std::size_t> operator_key_index;  // id -> position in operator_keys
  std::vector<AuditRecord> audit;                         // audit[i].id == i + 1
};

namespace {

Error Conflict(std::string code, std::string message, boost::json::object details = {}) {
  return Error::Make(ErrorKind::kConflict, std::move(code), std::move(message), std::move(details));
}

// Stores a response under its key, "done", whether or not an in-flight record was written.
void StoreResponse(MemoryLedgerData& data, const IdempotencyRecord& record) {
  auto [at, inserted] = data.idempotency.try_emplace({record.scope, record.key}, record);
  if (!inserted) {
    at->second.state = "done";
    at->second.response_status = record.response_status;
    at->second.response_body = record.response_body;
  }
  at->second.state = "done";
}

Status ApplyConfirm(MemoryLedgerData& data, const ConfirmOrderRecord& confirm) {
  const OrderRecord& order = confirm.order;
  const auto hold = data.hold_index.find(order.hold_id);
  if (hold == data.hold_index.end() || data.holds[hold->second].ended ||
      data.ordered_holds.contains(order.hold_id) || data.orders.contains(order.id)) {
    return Conflict("hold_consumed", "The hold has ended or was ordered already.",
                    {{"hold_id", order.hold_id}});
  }
  for (const TicketRecord& ticket : order.tickets) {
    if (data.sold.contains({ticket.event_id, ticket.seat_id})) {
      return Conflict("seat_sold", "A seat of the order is sold.", {{"seat_id", ticket.seat_id}});
    }
  }
  const auto attempt = data.attempts.find(confirm.payment_key);
  if (attempt == data.attempts.end() || attempt->second.state != "pending") {
    return Conflict("payment_not_pending", "The payment attempt is not pending.",
                    {{"payment_key", confirm.payment_key}});
  }
  // Every check passed: the whole transaction applies.
  data.holds[hold->second].ended = true;
  OrderRecord stored = order;
  stored.tickets.clear();
  data.orders.emplace(order.id, std::move(stored));
  data.order_sequence.push_back(order.id);
  data.ordered_holds.insert(order.hold_id);
  std::vector<std::string>& ticket_ids = data.order_tickets[order.id];
  for (const TicketRecord& ticket : order.tickets) {
    data.sold.emplace(std::make_pair(ticket.event_id, ticket.seat_id),
                      MemoryLedgerData::SoldSeat{ticket.id, order.id});
    TicketRecord live = ticket;
    live.revoked_at_ms = 0;
    data.tickets.insert_or_assign(ticket.id, std::move(live));
    ticket_ids.push_back(ticket.id);
  }
  std::sort(ticket_ids.begin(), ticket_ids.end());
  attempt->second.state = "confirmed";
  attempt->second.gateway = order.gateway;
  attempt->second.payment_id = order.payment_id;
  attempt->second.updated_at_ms = order.created_at_ms;
  if (!confirm.idempotency.key.empty()) StoreResponse(data, confirm.idempotency);
  const std::int64_t outbox_id = data.outbox.empty() ? 1 : data.outbox.rbegin()->first + 1;
  data.outbox.emplace(outbox_id, MemoryLedgerData::Outbox{
                                     OutboxRecord{outbox_id, "fulfil_order", order.id, 0,
                                                  confirm.first_outbox_attempt_at_ms, false, ""},
                                     false});
  return {};
}

Status ApplyRefund(MemoryLedgerData& data, const RefundOrderRecord& refund) {
  const auto order = data.orders.find(refund.order_id);
  if (order == data.orders.end()) {
    return Error::Make(ErrorKind::kNotFound, "order_not_found", "No order has this id.",
                       {{"order_id", refund.order_id}});
  }
  if (order->second.status == "refunded") {
    return Conflict("order_refunded", "The order has been refunded already.",
                    {{"order_id", refund.order_id}});
  }
  order->second.status = "refunded";
  order->second.payment_status = refund.payment_status;
  order->second.updated_at_ms = refund.at_ms;
  for (const std::string& ticket_id : data.order_tickets[refund.order_id]) {
    TicketRecord& ticket = data.tickets.at(ticket_id);
    if (ticket.revoked_at_ms == 0) ticket.revoked_at_ms = refund.at_ms;
  }
  std::erase_if(data.sold,
                [&](const auto& entry) { return entry.second.order_id == refund.order_id; });
  for (auto& [id, row] : data.outbox) {
    if (row.record.order_id == refund.order_id) row.done = true;
  }
  if (const auto attempt = data.refunds.find(refund.order_id);
      attempt != data.refunds.end() && attempt->second.state == "pending") {
    attempt->second.state = "done";
    attempt->second.updated_at_ms = refund.at_ms;
  }
  if (!refund.idempotency.key.empty()) StoreResponse(data, refund.idempotency);
  return {};
}

// kConflict idempotency_key_used when `in_flight`'s key (in its scope) has a record already.
Status KeyUnused(const MemoryLedgerData& data, const IdempotencyRecord& in_flight) {
  if (in_flight.key.empty() || !data.idempotency.contains({in_flight.scope, in_flight.key})) {
    return {};
  }
  return Conflict("idempotency_key_used", "This Idempotency-Key has been used before.",
                  {{"key", in_flight.key}});
}

// Records `in_flight` as in flight, with no response yet; nothing when its key is empty.
void RecordInFlight(MemoryLedgerData& data, const IdempotencyRecord& in_flight) {
  if (in_flight.key.empty()) return;
  IdempotencyRecord record = in_flight;
  record.state = "in_flight";
  record.response_status = 0;
  record.response_body.clear();
  data.idempotency.emplace(std::make_pair(record.scope, record.key), std::move(record));
}

void ForgetInFlight(MemoryLedgerData& data, const std::string& scope, const std::string& key) {
  if (const auto found = data.idempotency.find({scope, key});
      found != data.idempotency.end() && found->second.state == "in_flight") {
    data.idempotency.erase(found);
  }
}

Status ApplyCheckIn(MemoryLedgerData& data, const CheckInRecord& check_in) {
  const auto ticket = data.tickets.find(check_in.ticket_id);
  if (ticket == data.tickets.end() || ticket->second.event_id != check_in.event_id ||
      ticket->second.revoked_at_ms != 0) {
    const bool revoked =
        ticket != data.tickets.end() && ticket->second.event_id == check_in.event_id;
    return Error::Make(ErrorKind::kUnprocessable, "invalid_ticket",
                       revoked ? "The ticket has been revoked (its order was refunded)."
                               : "No ticket of this event has this id.",
                       {{"ticket_id", check_in.ticket_id}});
  }
  const auto [first, inserted] = data.check_ins.try_emplace(check_in.ticket_id, check_in);
  if (!inserted) {
    return Conflict(
        "already_checked_in", "This ticket has been checked in already.",
        {{"ticket_id", check_in.ticket_id}, {"first_checked_in_at_ms", first->second.at_ms}});
  }
  return {};
}

}  // namespace

MemoryLedger::MemoryLedger() : MemoryLedger(NewData()) {}

MemoryLedger::MemoryLedger(std::shared_ptr<MemoryLedgerData> data, WriteGate gate)
    : data_(std::move(data)), gate_(std::move(gate)), writer_([this] { WriterLoop(); }) {}

MemoryLedger::~MemoryLedger() {
  {
    std::lock_guard lock(queue_mutex_);
    closing_ = true;
  }
  work_ready_.notify_one();
  BOXOFFICE_CHECK(std::this_thread::get_id() != writer_.get_id(),
                  "the ledger is not destroyed inside one of its own dones");
  writer_.join();
}

std::shared_ptr<MemoryLedgerData> MemoryLedger::NewData() {
  return std::make_shared<MemoryLedgerData>();
}

void MemoryLedger::Submit(std::string_view name, Write write, Done done) {
  {
    std::lock_guard lock(queue_mutex_);
    // Refused writes travel through the queue too, so their `done` runs on the writer thread.
    if (closing_) write = [](MemoryLedgerData&) -> Status { return LedgerClosedError(); };
    queue_.push_back(Queued{name, std::move(write), std::move(done)});
    ++submitted_;
  }
  work_ready_.notify_one();
}

void MemoryLedger::WriterLoop() {
  for (;;) {
    Queued next;
    {
      std::unique_lock lock(queue_mutex_);
      work_ready_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and every queued write has completed
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    // The gate may refuse the write (a simulated crash): then nothing of it is applied.
    Status status = gate_ ? gate_(next.name) : Status();
    if (status) {
      std::lock_guard lock(data_->mutex);
      status = next.write(*data_);
    }
    if (next.done) next.done(std::move(status));
    {
      std::lock_guard lock(queue_mutex_);
      ++completed_count_;
    }
    completed_.notify_all();
  }
}

void MemoryLedger::Flush() {
  BOXOFFICE_CHECK(std::this_thread::get_id() != writer_.get_id(),
                  "Flush is not called inside one of the ledger's own dones");
  std::unique_lock lock(queue_mutex_);
  const std::uint64_t target = submitted_;
  completed_.wait(lock, [&] { return completed_count_ >= target; });
}

// ---- Events, customers, settings, defence lists -----------------------------------------------

void MemoryLedger::InsertEvent(EventRecord event, Done done) {
  Submit(
      "InsertEvent",
      [event = std::move(event)](MemoryLedgerData& data) -> Status {
        const bool taken = std::any_of(data.events.begin(), data.events.end(),
                                       [&](const EventRecord& e) { return e.id == event.id; });
        if (taken) {
          return Conflict("event_exists", "An event with id " + event.id + " already exists.");
        }
        data.events.push_back(event);
        return {};
      },
      std::move(done));
}

Result<std::vector<EventRecord>> MemoryLedger::LoadEvents() {
  std::lock_guard lock(data_->mutex);
  return data_->events;
}

void MemoryLedger::InsertCustomer(CustomerRecord customer, Done done) {
  Submit(
      "InsertCustomer",
      [customer = std::move(customer)](MemoryLedgerData& data) -> Status {
        if (data.customers.contains(customer.id)) {
          return Conflict("customer_exists",
                          "A customer with id " + customer.id + " already exists.");
        }
        if (data.customer_emails.contains(customer.email)) {
          return Conflict("email_taken", "An account with this email already exists.");
        }
        data.customer_emails.emplace(customer.email, customer.id);
        data.customers.emplace(customer.id, customer);
        return {};
      },
      std::move(done));
}

Result<std::optional<CustomerRecord>> MemoryLedger::FindCustomerByEmail(const std::string& email) {
  std::lock_guard lock(data_->mutex);
  const auto id = data_->customer_emails.find(email);
  if (id == data_->customer_emails.end()) return std::optional<CustomerRecord>();
  return std::optional<CustomerRecord>(data_->customers.at(id->second));
}

void MemoryLedger::PutSetting(std::string key, std::string value, Done done) {
  Submit(
      "PutSetting",
      [key = std::move(key), value = std::move(value)](MemoryLedgerData& data) -> Status {
        data.settings.insert_or_assign(key, value);
        return {};
      },
      std::move(done));
}

Result<std::optional<std::string>> MemoryLedger::GetSetting(const std::string& key) {
  std::lock_guard lock(data_->mutex);
  const auto found = data_->settings.find(key);
  if (found == data_->settings.end()) return std::optional<std::string>();
  return std::optional<std::string>(found->second);
}

void MemoryLedger::SaveCidrList(std::string list, std::vector<CidrListRecord> entries, Done done) {
  Submit(
      "SaveCidrList",
      [list = std::move(list), entries = std::move(entries)](MemoryLedgerData& data) -> Status {
        data.cidr_lists.insert_or_assign(list, entries);
        return {};
      },
      std::move(done));
}

Result<std::vector<CidrListRecord>> MemoryLedger::LoadCidrList(const std::string& list) {
  std::lock_guard lock(data_->mutex);
  const auto found = data_->cidr_lists.find(list);
  if (found == data_->cidr_lists.end()) return std::vector<CidrListRecord>();
  return found->second;
}

// ---- Hold journal -----------------------------------------------------------------------------

void MemoryLedger::InsertHold(HoldRecord hold, Done done) {
  Submit(
      "InsertHold",
      [hold = std::move(hold)](MemoryLedgerData& data) -> Status {
        if (data.hold_index.contains(hold.id)) {
          return Conflict("hold_exists", "A hold with id " + hold.id + " already exists.");
        }
        data.hold_index.emplace(hold.id, data.holds.size());
        data.holds.push_back(MemoryLedgerData::JournaledHold{hold, false});
        return {};
      },
      std::move(done));
}

void MemoryLedger::EndHold(std::string hold_id, std::string /*reason*/,
                           std::int64_t /*ended_at_ms*/, Done done) {
  Submit(
      "EndHold",
      [hold_id = std::move(hold_id)](MemoryLedgerData& data) -> Status {
        const auto found = data.hold_index.find(hold_id);
        if (found == data.hold_index.end()) {
          return Error::Make(ErrorKind::kNotFound, "hold_not_found", "No hold has this id.",
                             {{"hold_id", hold_id}});
        }
        data.holds[found->second].ended = true;  // a second end keeps the first: still ended
        return {};
      },
      std::move(done));
}

Result<std::vector<HoldRecord>> MemoryLedger::LoadLiveHolds() {
  std::lock_guard lock(data_->mutex);
  std::vector<HoldRecord> live;
  for (const MemoryLedgerData::JournaledHold& hold : data_->holds) {
    if (!hold.ended) live.push_back(hold.record);
  }
  return live;
}

// ---- Checkout ---------------------------------------------------------------------------------

void MemoryLedger::BeginPayment(PaymentAttemptRecord attempt, IdempotencyRecord in_flight,
                                Done done) {
  Submit(
      "BeginPayment",
      [attempt = std::move(attempt),
       in_flight = std::move(in_flight)](MemoryLedgerData& data) -> Status {
        if (Status unused = KeyUnused(data, in_flight); !unused) return unused;
        if (data.attempts.contains(attempt.idempotency_key)) {
          return Conflict("payment_exists", "A payment attempt with this key exists.",
                          {{"payment_key", attempt.idempotency_key}});
        }
        RecordInFlight(data, in_flight);
        PaymentAttemptRecord pending = attempt;
        pending.state = "pending";
        pending.updated_at_ms = pending.created_at_ms;
        data.attempts.emplace(pending.idempotency_key, std::move(pending));
        return {};
      },
      std::move(done));
}

void MemoryLedger::SettlePayment(PaymentSettlement settlement, Done done) {
  Submit(
      "SettlePayment",
      [settlement = std::move(settlement)](MemoryLedgerData& data) -> Status {
        const auto attempt = data.attempts.find(settlement.payment_key);
        if (attempt == data.attempts.end()) {
          return Error::Make(ErrorKind::kNotFound, "payment_not_found",
                             "No payment attempt has this key.",
                             {{"payment_key", settlement.payment_key}});
        }
        // Only a pending attempt moves: a settlement repeated after a restart changes nothing.
        if (attempt->second.state == "pending") {
          attempt->second.state = settlement.state;
          attempt->second.gateway = settlement.gateway;
          attempt->second.payment_id = settlement.payment_id;
          attempt->second.updated_at_ms = settlement.at_ms;
        }
        const IdempotencyRecord& key = settlement.idempotency;
        if (key.key.empty()) return {};
        if (key.state == "done") {
          StoreResponse(data, key);
        } else {
          ForgetInFlight(data, key.scope, key.key);
        }
        return {};
      },
      std::move(done));
}

void MemoryLedger::ConfirmOrder(ConfirmOrderRecord record, Done done) {
  Submit(
      "ConfirmOrder",
      [record = std::move(record)](MemoryLedgerData& data) { return ApplyConfirm(data, record); },
      std::move(done));
}

void MemoryLedger::CompleteOrder(CompleteOrderRecord record, Done done) {
  Submit(
      "CompleteOrder",
      [record = std::move(record)](MemoryLedgerData& data) -> Status {
        for (const auto& [ticket_id, code] : record.ticket_codes) {
          if (const auto ticket = data.tickets.find(ticket_id);
              ticket != data.tickets.end() && ticket->second.order_id == record.order_id) {
            ticket->second.code = code;
          }
        }
        if (const auto order = data.orders.find(record.order_id);
            order != data.orders.end() && order->second.status == "confirmed") {
          order->second.status = "completed";
          order->second.payment_status = "captured";
          order->second.updated_at_ms = record.at_ms;
        }
        if (const auto row = data.outbox.find(record.outbox_id); row != data.outbox.end()) {
          row->second.done = true;
        }
        return {};
      },
      std::move(done));
}

void MemoryLedger::RetryOutbox(OutboxRetryRecord record, Done done) {
  Submit(
      "RetryOutbox",
      [record = std::move(record)](MemoryLedgerData& data) -> Status {
        const auto row = data.outbox.find(record.outbox_id);
        if (row == data.outbox.end() || row->second.done) return {};
        row->second.record.attempts = record.attempts;
        row->second.record.next_attempt_at_ms = record.next_attempt_at_ms;
        row->second.record.dead = record.dead;
        row->second.record.last_error = record.last_error;
        return {};
      },
      std::move(done));
}

void MemoryLedger::RefundOrder(RefundOrderRecord record, Done done) {
  Submit(
      "RefundOrder",
      [record = std::move(record)](MemoryLedgerData& data) { return ApplyRefund(data, record); },
      std::move(done));
}

void MemoryLedger::BeginRefund(RefundAttemptRecord attempt, IdempotencyRecord in_flight,
                               Done done) {
  Submit(
      "BeginRefund",
      [attempt = std::move(attempt),
       in_flight = std::move(in_flight)](MemoryLedgerData& data) -> Status {
        if (Status unused = KeyUnused(data, in_flight); !unused) return unused;
        const auto found = data.refunds.find(attempt.order_id);
        if (found != data.refunds.end() && found->second.state == "pending") {
          return Conflict("refund_in_flight", "A refund of this order is in progress.",
                          {{"order_id", attempt.order_id}});
        }
        if (found != data.refunds.end() && found->second.state == "done") {
          return Conflict("order_refunded", "The order has been refunded already.",
                          {{"order_id", attempt.order_id}});
        }
        RecordInFlight(data, in_flight);
        RefundAttemptRecord pending = attempt;
        pending.state = "pending";
        data.refunds.insert_or_assign(attempt.order_id, std::move(pending));
        return {};
      },
      std::move(done));
}

void MemoryLedger::AbandonRefund(RefundAbandonRecord record, Done done) {
  Submit(
      "AbandonRefund",
      [record = std::move(record)](MemoryLedgerData& data) -> Status {
        const auto found = data.refunds.find(record.order_id);
        if (found == data.refunds.end() || found->second.state != "pending") return {};
        found->second.state = "failed";
        found->second.updated_at_ms = record.at_ms;
        if (!found->second.request_key.empty()) {
          ForgetInFlight(data, found->second.request_scope, found->second.request_key);
        }
        return {};
      },
      std::move(done));
}

Result<std::optional<IdempotencyRecord>> MemoryLedger::FindIdempotency(const std::string& scope,
                                                                       const std::string& key) {
  std::lock_guard lock(data_->mutex);
  const auto found = data_->idempotency.find({scope, key});
  if (found == data_->idempotency.end()) return std::optional<IdempotencyRecord>();
  return std::optional<IdempotencyRecord>(found->second);
}

Result<std::optional<OrderRecord>> MemoryLedger::FindOrder(const std::string& order_id) {
  std::lock_guard lock(data_->mutex);
  const auto found = data_->orders.find(order_id);
  if (found == data_->orders.end()) return std::optional<OrderRecord>();
  OrderRecord order = found->second;
  for (const std::string& ticket_id : data_->order_tickets[order_id]) {
    order.tickets.push_back(data_->tickets.at(ticket_id));
  }
  return std::optional<OrderRecord>(std::move(order));
}

Result<std::vector<OrderRecord>> MemoryLedger::FindOrdersByEmail(const std::string& email,
                                                                 std::size_t limit) {
  std::lock_guard lock(data_->mutex);
  std::vector<OrderRecord> orders;
  for (auto id = data_->order_sequence.rbegin();
       id != data_->order_sequence.rend() && orders.size() < limit; ++id) {
    const OrderRecord& order = data_->orders.at(*id);
    if (!EqualsIgnoreAsciiCase(order.email, email)) continue;
    OrderRecord found = order;
    for (const std::string& ticket_id : data_->order_tickets[*id]) {
      found.tickets.push_back(data_->tickets.at(ticket_id));
    }
    orders.push_back(std::move(found));
  }
  return orders;
}

Result<std::optional<TicketRecord>> MemoryLedger::FindTicket(const std::string& ticket_id) {
  std::lock_guard lock(data_->mutex);
  const auto found = data_->tickets.find(ticket_id);
  if (found == data_->tickets.end()) return std::optional<TicketRecord>();
  return std::optional<TicketRecord>(found->second);
}

Result<std::vector<SoldSeatRecord>> MemoryLedger::LoadSoldSeats() {
  std::lock_guard lock(data_->mutex);
  std::vector<SoldSeatRecord> seats;
  // In order of the orders, as the SQLite ledger lists them.
  for (const std::string& order_id : data_->order_sequence) {
    const OrderRecord& order = data_->orders.at(order_id);
    const std::string owner = order.customer_id.empty() ? order.session_id : order.customer_id;
    for (const std::string& ticket_id : data_->order_tickets[order_id]) {
      const TicketRecord& ticket = data_->tickets.at(ticket_id);
      const auto sold = data_->sold.find({ticket.event_id, ticket.seat_id});
      if (sold != data_->sold.end() && sold->second.order_id == order_id) {
        seats.push_back(SoldSeatRecord{ticket.event_id, ticket.seat_id, order_id, owner});
      }
    }
  }
  return seats;
}

Result<std::vector<PaymentAttemptRecord>> MemoryLedger::LoadPendingPayments() {
  std::lock_guard lock(data_->mutex);
  std::vector<PaymentAttemptRecord> pending;
  for (const auto& [key, attempt] : data_->attempts) {
    if (attempt.state == "pending") pending.push_back(attempt);
  }
  std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) {
    return std::tie(a.created_at_ms, a.idempotency_key) <
           std::tie(b.created_at_ms, b.idempotency_key);
  });
  return pending;
}

Result<std::vector<RefundAttemptRecord>> MemoryLedger::LoadPendingRefunds() {
  std::lock_guard lock(data_->mutex);
  std::vector<RefundAttemptRecord> pending;
  for (const auto& [order_id, attempt] : data_->refunds) {
    if (attempt.state == "pending") pending.push_back(attempt);
  }
  std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) {
    return std::tie(a.created_at_ms, a.order_id) < std::tie(b.created_at_ms, b.order_id);
  });
  return pending;
}

Result<std::vector<OutboxRecord>> MemoryLedger::LoadDueOutbox(std::int64_t now_ms,
                                                              std::size_t limit) {
  std::lock_guard lock(data_->mutex);
  std::vector<OutboxRecord> due;
  for (const auto& [id, row] : data_->outbox) {
    if (!row.done && !row.record.dead && row.record.next_attempt_at_ms <= now_ms) {
      due.push_back(row.record);
    }
  }
  std::sort(due.begin(), due.end(), [](const OutboxRecord& a, const OutboxRecord& b) {
    return std::tie(a.next_attempt_at_ms, a.id) < std::tie(b.next_attempt_at_ms, b.id);
  });
  if (due.size() > limit) due.resize(limit);
  return due;
}

Result<OrderCounts> MemoryLedger::CountOrders(const std::string& event_id) {
  std::lock_guard lock(data_->mutex);
  OrderCounts counts;
  for (const auto& [id, order] : data_->orders) {
    if (order.event_id != event_id) continue;
    if (order.status == "confirmed") ++counts.confirmed;
    if (order.status == "completed") ++counts.completed;
    if (order.status == "refunded") ++counts.refunded;
    if (order.status != "refunded") counts.revenue_cents += order.total_cents;
  }
  for (const auto& [seat, sold] : data_->sold) counts.tickets_sold += seat.first == event_id;
  for (const auto& [id, row] : data_->outbox) {
    if (row.done || data_->orders.at(row.record.order_id).event_id != event_id) continue;
    ++(row.record.dead ? counts.outbox_dead : counts.outbox_pending);
  }
  return counts;
}

// ---- Check-in ---------------------------------------------------------------------------------

void MemoryLedger::CheckIn(CheckInRecord record, Done done) {
  Submit(
      "CheckIn",
      [record = std::move(record)](MemoryLedgerData& data) { return ApplyCheckIn(data, record); },
      std::move(done));
}

void MemoryLedger::InsertScannerKey(ScannerKeyRecord key, Done done) {
  Submit(
      "InsertScannerKey",
      [key = std::move(key)](MemoryLedgerData& data) -> Status {
        if (data.scanner_keys.contains(key.id) || data.scanner_key_hashes.contains(key.key_hash)) {
          return Conflict("scanner_key_exists", "A scanner key with this id or key exists.");
        }
        data.scanner_key_hashes.emplace(key.key_hash, key.id);
        data.scanner_keys.emplace(key.id, key);
        return {};
      },
      std::move(done));
}

Result<std::optional<ScannerKeyRecord>> MemoryLedger::FindScannerKey(const std::string& key_hash) {
  std::lock_guard lock(data_->mutex);
  const auto id = data_->scanner_key_hashes.find(key_hash);
  if (id == data_->scanner_key_hashes.end()) return std::optional<ScannerKeyRecord>();
  return std::optional<ScannerKeyRecord>(data_->scanner_keys.at(id->second));
}

// ---- Operator keys and the audit log ------------------------------------------------------------

void MemoryLedger::InsertOperatorKey(OperatorKeyRecord key, Done done) {
  Submit(
      "InsertOperatorKey",
      [key = std::move(key)](MemoryLedgerData& data) -> Status {
        if (data.operator_key_index.contains(key.id)) {
          return Conflict("operator_key_exists", "An operator key with id " + key.id + " exists.");
        }
        data.operator_key_index.emplace(key.id, data.operator_keys.size());
        data.operator_keys.push_back(MemoryLedgerData::OperatorKey{key, false});
        return {};
      },
      std::move(done));
}

void MemoryLedger::RevokeOperatorKey(std::string id, std::int64_t /*revoked_at_ms*/, Done done) {
  Submit(
      "RevokeOperatorKey",
      [id = std::move(id)](MemoryLedgerData& data) -> Status {
        const auto found = data.operator_key_index.find(id);
        if (found == data.operator_key_index.end() || data.operator_keys[found->second].revoked) {
          return Error::Make(ErrorKind::kNotFound, "operator_key_not_found",
                             "No live operator key has this id.", {{"id", id}});
        }
        data.operator_keys[found->second].revoked = true;
        return {};
      },
      std::move(done));
}

Result<std::vector<OperatorKeyRecord>> MemoryLedger::LoadLiveOperatorKeys() {
  std::lock_guard lock(data_->mutex);
  std::vector<OperatorKeyRecord> live;
  for (const MemoryLedgerData::OperatorKey& key : data_->operator_keys) {
    if (!key.revoked) live.push_back(key.record);
  }
  return live;
}

void MemoryLedger::AppendAudit(AuditRecord record, Done done) {
  Submit(
      "AppendAudit",
      [record = std::move(record)](MemoryLedgerData& data) mutable -> Status {
        record.id = static_cast<std::int64_t>(data.audit.size()) + 1;
        data.audit.push_back(std::move(record));
        return {};
      },
      std::move(done));
}

Result<AuditPage> MemoryLedger::LoadAudit(std::int64_t after_id, std::size_t limit) {
  std::lock_guard lock(data_->mutex);
  AuditPage page;
  page.latest_id = static_cast<std::int64_t>(data_->audit.size());
  // Ids are positions plus one, so the first entry above `after_id` is at index `after_id`.
  const std::size_t first =
      after_id <= 0 ? 0 : std::min(static_cast<std::size_t>(after_id), data_->audit.size());
  const std::size_t end = first + std::min(limit, data_->audit.size() - first);
  page.entries.assign(data_->audit.begin() + static_cast<std::ptrdiff_t>(first),
                      data_->audit.begin() + static_cast<std::ptrdiff_t>(end));
  return page;
}

}  // namespace boxoffice
