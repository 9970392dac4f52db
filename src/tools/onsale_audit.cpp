#include "tools/onsale_audit.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "common/crypto.hpp"
#include "tools/onsale_statistics.hpp"
#include "waitingroom/shuffle.hpp"

namespace boxoffice::tools::onsale {
namespace {

namespace json = boost::json;

// Examples named in a failing detail, at most.
constexpr std::size_t kExamplesMax = 3;
// The sell-out's time is known to a second (the monitor's samples) plus a request's latency.
constexpr double kSoldOutAdmissionSlackS = 2;

std::string Fixed(double value, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

const json::string* StringField(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value != nullptr && value->is_string() ? &value->get_string() : nullptr;
}

// Appends `item` to a comma-separated list of examples while there is room.
void Example(std::string& examples, std::size_t& count, const std::string& item) {
  if (count++ < kExamplesMax) examples += (examples.empty() ? "" : ", ") + item;
}

}  // namespace

json::object CheckJson(const Check& check) {
  json::object out{{"name", check.name}, {"passed", check.passed}, {"detail", check.detail}};
  if (check.skipped) out["skipped"] = true;
  return out;
}

Check AuditSeatsSold(std::span<const ConfirmedOrder> orders, const SoldSeats& server) {
  Check check{"seats sold == distinct tickets <= capacity", false, ""};
  std::unordered_map<std::string, std::string> owner;  // seat -> order
  std::size_t tickets = 0;
  std::size_t doubles = 0;
  std::string examples;
  for (const ConfirmedOrder& order : orders) {
    for (const std::string& seat : order.seats) {
      ++tickets;
      auto [it, inserted] = owner.try_emplace(seat, order.order_id);
      if (!inserted)
        Example(examples, doubles, seat + " in " + it->second + " and " + order.order_id);
    }
  }
  const std::uint64_t distinct = owner.size();
  std::string detail = std::to_string(distinct) + " distinct tickets in " +
                       std::to_string(orders.size()) + " orders, capacity " +
                       std::to_string(server.capacity);
  bool passed = doubles == 0 && distinct <= server.capacity;
  if (server.sold_after) {
    const std::uint64_t before = server.sold_before.value_or(0);
    const std::uint64_t sold = *server.sold_after - std::min(before, *server.sold_after);
    detail = std::to_string(sold) + " sold" +
             (before > 0 ? " in the run (" + std::to_string(*server.sold_after) + " in all)" : "") +
             ", " + detail;
    passed = passed && sold == distinct && *server.sold_after <= server.capacity;
  } else {
    detail += "; the server's stats did not answer";
    passed = false;
  }
  if (server.sold_ids) {
    const std::unordered_set<std::string> listed(server.sold_ids->begin(), server.sold_ids->end());
    std::size_t missing = 0;
    std::string missing_examples;
    for (const auto& [seat, order] : owner) {
      if (!listed.contains(seat)) Example(missing_examples, missing, seat);
    }
    detail += "; seats?status=sold lists " + std::to_string(listed.size());
    if (missing > 0) {
      detail +=
          ", missing " + std::to_string(missing) + " ticketed seats (" + missing_examples + ")";
      passed = false;
    }
    const std::uint64_t before = server.sold_before.value_or(0);
    if (listed.size() != distinct + before) passed = false;
  }
  if (doubles > 0) {
    detail += "; " + std::to_string(doubles) + " seats in two orders (" + examples + ")";
  }
  if (tickets != distinct && doubles == 0) {
    detail += "; " + std::to_string(tickets - distinct) + " repeated tickets";
    passed = false;
  }
  check.passed = passed;
  check.detail = detail;
  return check;
}

LedgerOrder ParseLedgerOrder(const json::object& order) {
  LedgerOrder out;
  out.found = true;
  if (const json::string* status = StringField(order, "status")) out.status = *status;
  const json::value* tickets = order.if_contains("tickets");
  if (tickets == nullptr || !tickets->is_array()) return out;
  for (const json::value& ticket : tickets->get_array()) {
    if (!ticket.is_object()) continue;
    if (const json::string* seat = StringField(ticket.get_object(), "seat_id")) {
      out.seats.emplace_back(*seat);
    }
    if (const json::string* code = StringField(ticket.get_object(), "code");
        code && !code->empty()) {
      ++out.codes;
    }
  }
  return out;
}

Check AuditLedger(std::span<const ConfirmedOrder> orders, std::span<const LedgerOrder> ledger) {
  Check check{"every confirmed order is in the ledger", false, ""};
  std::size_t missing = 0;
  std::size_t wrong_seats = 0;
  std::size_t by_operator = 0;
  std::size_t shown = 0;
  std::string examples;
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const LedgerOrder* read = i < ledger.size() ? &ledger[i] : nullptr;
    if (read == nullptr || !read->found) {
      ++missing;
      Example(examples, shown,
              orders[i].order_id + (read && !read->error.empty() ? " (" + read->error + ")" : ""));
      continue;
    }
    if (read->by_operator) ++by_operator;
    std::vector<std::string> confirmed = orders[i].seats;
    std::vector<std::string> kept = read->seats;
    std::sort(confirmed.begin(), confirmed.end());
    std::sort(kept.begin(), kept.end());
    if (confirmed != kept) {
      ++wrong_seats;
      Example(examples, shown, orders[i].order_id + " with other seats");
    }
  }
  const std::size_t found = orders.size() - missing;
  check.passed = missing == 0 && wrong_seats == 0;
  check.detail = std::to_string(found) + " of " + std::to_string(orders.size()) +
                 " confirmed orders found with their seats";
  if (found > 0) {
    check.detail += " (" + std::to_string(by_operator) + " read with the operator key";
    if (by_operator < found) {
      check.detail += ", " + std::to_string(found - by_operator) +
                      " with the buyer's session: operator reads were rate limited; allow the "
                      "simulator's address with the server's --defense-allowlist to read all "
                      "with the key";
    }
    check.detail += ")";
  }
  if (wrong_seats > 0) check.detail += "; " + std::to_string(wrong_seats) + " with other seats";
  if (!examples.empty()) check.detail += "; e.g. " + examples;
  return check;
}

Check AuditTickets(std::span<const ConfirmedOrder> orders, std::span<const LedgerOrder> ledger,
                   double waited_s) {
  Check check{"no confirmed order without tickets", false, ""};
  std::size_t complete = 0;
  std::size_t bad = 0;
  std::string examples;
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const LedgerOrder* read = i < ledger.size() ? &ledger[i] : nullptr;
    const std::size_t seats = orders[i].seats.size();
    if (read != nullptr && read->found && read->status == "completed" &&
        read->seats.size() == seats && read->codes == seats && seats > 0) {
      ++complete;
      continue;
    }
    std::string why = read == nullptr || !read->found ? "not found"
                      : read->status != "completed"   ? read->status
                                                    : std::to_string(read->codes) + " codes for " +
                                                          std::to_string(seats) + " seats";
    Example(examples, bad, orders[i].order_id + " " + why);
  }
  check.passed = bad == 0;
  check.detail = std::to_string(complete) + " of " + std::to_string(orders.size()) +
                 " orders completed with a coded ticket per seat (waited " + Fixed(waited_s, 1) +
                 " s for the outbox)";
  if (!examples.empty()) check.detail += "; e.g. " + examples;
  return check;
}

std::vector<PaymentIntent> ParsePaymentIntents(const json::object& records) {
  std::vector<PaymentIntent> intents;
  const json::value* list = records.if_contains("payment_intents");
  if (list == nullptr || !list->is_array()) return intents;
  for (const json::value& item : list->get_array()) {
    if (!item.is_object()) continue;
    const json::object& object = item.get_object();
    PaymentIntent intent;
    if (const json::string* id = StringField(object, "id")) intent.id = *id;
    if (const json::string* status = StringField(object, "status")) intent.status = *status;
    if (const json::string* key = StringField(object, "idempotency_key")) {
      intent.idempotency_key = *key;
    }
    if (const json::value* metadata = object.if_contains("metadata");
        metadata != nullptr && metadata->is_object()) {
      if (const json::string* reference = StringField(metadata->get_object(), "reference")) {
        intent.reference = *reference;
      }
    }
    if (const json::value* received = object.if_contains("amount_received");
        received != nullptr && received->is_number()) {
      intent.amount_received = received->to_number<std::int64_t>();
    }
    intents.push_back(std::move(intent));
  }
  return intents;
}

Check AuditPayments(std::span<const PaymentIntent> intents, std::span<const std::string> ignore,
                    std::span<const ConfirmedOrder> orders, std::uint64_t completed_orders) {
  Check check{"no payment authorized or captured twice", false, ""};
  const std::unordered_set<std::string> before(ignore.begin(), ignore.end());
  std::unordered_set<std::string> ours;
  for (const ConfirmedOrder& order : orders) ours.insert(order.order_id);
  std::unordered_map<std::string, int> live_per_order;  // authorized or captured
  std::unordered_map<std::string, int> per_key;
  std::uint64_t considered = 0;
  std::uint64_t captured_ours = 0;
  std::uint64_t captured_other = 0;
  std::size_t orphans = 0;  // money held for no order a fan was told of
  std::string orphan_examples;
  for (const PaymentIntent& intent : intents) {
    if (before.contains(intent.id)) continue;
    ++considered;
    const bool live = intent.status == "requires_capture" || intent.status == "succeeded";
    if (live && !intent.reference.empty()) ++live_per_order[intent.reference];
    if (live && !ours.contains(intent.reference)) Example(orphan_examples, orphans, intent.id);
    if (!intent.idempotency_key.empty()) ++per_key[intent.idempotency_key];
    if (intent.status == "succeeded") {
      (ours.contains(intent.reference) ? captured_ours : captured_other) += 1;
    }
  }
  std::size_t twice = 0;
  std::string examples;
  for (const auto& [order, count] : live_per_order) {
    if (count > 1) Example(examples, twice, order + " x" + std::to_string(count));
  }
  std::size_t keys_twice = 0;
  for (const auto& [key, count] : per_key) {
    if (count > 1) Example(examples, keys_twice, "key " + key + " x" + std::to_string(count));
  }
  check.passed = twice == 0 && keys_twice == 0 && orphans == 0 && captured_ours == completed_orders;
  check.detail = std::to_string(considered) + " intents in the run; " +
                 std::to_string(captured_ours) + " captured for " +
                 std::to_string(completed_orders) + " completed orders";
  if (twice > 0) check.detail += "; " + std::to_string(twice) + " orders paid twice";
  if (keys_twice > 0) {
    check.detail += "; " + std::to_string(keys_twice) + " idempotency keys with two intents";
  }
  if (orphans > 0) {
    // An authorization whose order never reached a fan must have been voided (by the order's
    // own undo, or by recovery at the next start): money held for nothing otherwise.
    check.detail += "; " + std::to_string(orphans) +
                    " authorized or captured for no order confirmed to a fan (" +
                    std::to_string(captured_other) + " of them captured), e.g. " + orphan_examples;
  }
  if (!examples.empty()) check.detail += "; e.g. " + examples;
  return check;
}

std::uint64_t ServedPlace(std::uint64_t sequence, const std::string& seed,
                          std::uint64_t prequeue_size) {
  if (sequence == 0 || sequence > prequeue_size) return sequence;
  // Building the permutation derives its key: callers with many fans use one Shuffle (below).
  return Shuffle(seed, prequeue_size).Permute(sequence - 1) + 1;
}

QueueOrderVerdict AuditQueueOrder(QueueOrder input) {
  QueueOrderVerdict verdict;
  Check& check = verdict.check;
  check.name = "admission order follows join order";
  const bool shuffled = input.policy == "shuffle_prequeue";
  std::string commitment;
  bool commitment_ok = true;
  if (shuffled) {
    if (!input.seed || !input.seed_sha256) {
      commitment = "; the seed or its commitment was not published";
      commitment_ok = false;
    } else if (Sha256Hex(*input.seed) != *input.seed_sha256) {
      commitment = "; the published seed does not match the seed_sha256 seen before the opening";
      commitment_ok = false;
    } else {
      commitment = "; the published seed matches its commitment";
    }
  }
  // The ordinal of an admission counts within one life of the server (a restart starts it
  // again), so pairs are compared within a life only: tau is the pair-weighted mean of each
  // life's tau (Kendall's tau of the stratified sample).
  std::optional<Shuffle> shuffle;
  if (shuffled && input.seed && input.prequeue_size)
    shuffle.emplace(*input.seed, *input.prequeue_size);
  std::map<std::uint32_t, std::vector<std::pair<double, double>>> lives;
  for (std::size_t i = 0; i < input.places.size(); ++i) {
    const auto [sequence, admitted_as] = input.places[i];
    const std::uint64_t place = shuffle && sequence >= 1 && sequence <= shuffle->size()
                                    ? shuffle->Permute(sequence - 1) + 1
                                    : sequence;
    const std::uint32_t life = i < input.lives.size() ? input.lives[i] : 0;
    lives[life].emplace_back(static_cast<double>(place), static_cast<double>(admitted_as));
  }
  // The verdict is the first life's: after a restart the room no longer knows who was still
  // waiting, so fans it skipped as unknown are put in as they come back, out of join order by
  // design. Later lives' taus are shown, not judged.
  double weighted = 0;
  double weights = 0;
  std::optional<double> first_life_tau;
  std::string later_lives;
  for (auto& [life, pairs] : lives) {
    const std::size_t fans = pairs.size();
    const double weight = 0.5 * static_cast<double>(fans) * (fans - 1.0);
    const std::optional<double> tau = KendallTau(pairs);
    if (!tau) continue;
    weighted += *tau * weight;
    weights += weight;
    if (life == lives.begin()->first) {
      first_life_tau = tau;
    } else {
      later_lives += (later_lives.empty() ? "" : ", ") + Fixed(*tau, 4) + " over " +
                     std::to_string(fans) + " fans";
    }
  }
  if (weights > 0) verdict.tau = weighted / weights;
  const std::size_t measured = input.places.size();
  std::string over =
      std::to_string(measured) + " of " + std::to_string(input.admitted_fans) + " admitted fans";
  if (lives.size() > 1) {
    over += " in " + std::to_string(lives.size()) +
            " lives of the server (admitted_as starts again at a restart; pairs are compared "
            "within a life)";
  }
  if (!verdict.tau) {
    check.passed = commitment_ok;
    check.skipped = commitment_ok;
    check.detail = "not measurable: " + over +
                   " showed both `sequence` and `admitted_as` (the server may not send them)" +
                   commitment;
    return verdict;
  }
  if (shuffled && !input.prequeue_size) commitment += "; prequeue_size was not published";
  const double judged = first_life_tau.value_or(*verdict.tau);
  check.passed = judged >= kQueueOrderTauMin && commitment_ok;
  check.detail = "Kendall tau " + Fixed(*verdict.tau, 4) + " over " + over +
                 (shuffled ? " (join order after the published draw)" : "") + "; ";
  if (lives.size() > 1) {
    check.detail += "before the first restart " + Fixed(judged, 4) +
                    ", needs >= " + Fixed(kQueueOrderTauMin, 2) +
                    "; after restarts (not judged: the room forgets "
                    "who was waiting, returning fans are put in as they come back) " +
                    (later_lives.empty() ? "too few fans" : later_lives);
  } else {
    check.detail += "needs >= " + Fixed(kQueueOrderTauMin, 2);
  }
  check.detail += commitment;
  return verdict;
}

ToldVerdict AuditEveryoneTold(std::optional<double> sold_out_s, std::span<const QueuedFan> fans) {
  ToldVerdict verdict;
  Check& check = verdict.check;
  check.name = "sold out and everyone told";
  if (!sold_out_s) {
    check.passed = true;
    check.skipped = true;
    check.detail = "the event did not sell out during the run";
    return verdict;
  }
  const double sold_out = *sold_out_s;
  std::size_t waiting = 0;
  std::size_t told = 0;
  std::size_t admitted_after = 0;
  double last_told = sold_out;
  for (const QueuedFan& fan : fans) {
    if (fan.joined_s < 0) continue;
    // An admitted fan learns it from its hold, not from the queue. One admitted well after the
    // sell-out is worth a word (the room should have stopped), though the sell-out's time is
    // only known to the monitor's second.
    if (fan.admitted_s >= 0) {
      admitted_after += fan.admitted_s > sold_out + kSoldOutAdmissionSlackS;
      continue;
    }
    if (fan.ended_s >= 0 && fan.ended_s < sold_out) continue;  // had gone already
    if (fan.abandoned && fan.told_s < 0) continue;             // left on its own first
    ++waiting;
    if (fan.told_s >= 0) {
      ++told;
      last_told = std::max(last_told, fan.told_s);
    }
  }
  check.passed = told == waiting;
  check.detail = "sold out at " + Fixed(sold_out, 1) + " s; " + std::to_string(told) + " of " +
                 std::to_string(waiting) + " fans in the queue then or later were told";
  if (told > 0) {
    verdict.all_knew_after_s = last_told - sold_out;
    check.detail += ", the last " + Fixed(last_told - sold_out, 1) + " s after";
  }
  if (told < waiting) check.detail += "; " + std::to_string(waiting - told) + " never were";
  if (admitted_after > 0) {
    check.detail += "; " + std::to_string(admitted_after) +
                    " fans first saw `admitted` more than " + Fixed(kSoldOutAdmissionSlackS, 0) +
                    " s after it (admitted before it and polled late, or admitted after it)";
  }
  return verdict;
}

}  // namespace boxoffice::tools::onsale
