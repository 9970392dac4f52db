// After an `onsale` run: reading back what the server, its ledger and the gateway simulator kept,
// for the audit (onsale_audit.hpp decides; this only fetches). Every confirmed order is read with
// the operator key; when the server rate-limits the operator's address (it allows 20 calls a
// second unless the address is allowlisted), the rest are read as their buyers, with the buyer's
// session and address, which the ledger answers the same way.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tools/http_client.hpp"
#include "tools/onsale_audit.hpp"

namespace boxoffice::tools::onsale {

// The headers a buyer (by fan number) sends.
using BuyerHeaders = std::function<Headers(std::uint64_t fan)>;

struct OrderReads {
  std::vector<LedgerOrder> orders;  // orders[i] is the i-th confirmed order read back
  double waited_s = 0;              // how long the reads waited for orders to complete
};

// Reads every order (GET /v1/orders/{id}), again each second for those not completed yet, up to
// `wait_max_s` (the outbox captures and tickets in the background).
boost::asio::awaitable<OrderReads> ReadOrders(
    boost::asio::any_io_executor executor,
    const boost::asio::ip::tcp::resolver::results_type& endpoints, std::string operator_key,
    std::span<const ConfirmedOrder> orders, BuyerHeaders buyer_headers, double wait_max_s);

// GET `target` answered 200 with a JSON object; nullopt otherwise.
boost::asio::awaitable<std::optional<boost::json::object>> ReadObject(
    boost::asio::any_io_executor executor,
    const boost::asio::ip::tcp::resolver::results_type& endpoints, std::string target,
    Headers headers);

// The ids of the event's sold seats (GET /v1/events/{id}/seats?status=sold).
std::optional<std::vector<std::string>> SoldSeatIds(const boost::json::object& seats);

}  // namespace boxoffice::tools::onsale
