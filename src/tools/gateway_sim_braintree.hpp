// `boxoffice gateway-sim --api braintree`: the subset of Braintree's GraphQL API the Braintree
// adapter uses (payments/gateways/braintree_gateway.hpp), at `POST /graphql`:
//   authorizePaymentMethod   a test card as paymentMethodId (the simulator's tokens, or
//                            Braintree's fake-valid-nonce / fake-processor-declined-visa-nonce),
//                            an Amount, an orderId; apiRequestKey guards against duplicates as at
//                            Braintree (same input: the same transaction; other input, or the
//                            first still in flight: a VALIDATION error);
//   captureTransaction       AUTHORIZED → SUBMITTED_FOR_SETTLEMENT;
//   reverseTransaction       voids what has not settled, refunds what has;
//   refundTransaction        only a SETTLED transaction, at most what is left;
//   search.transactions      by orderId; node(id) a transaction with its refunds.
// Requests need HTTP basic authentication (public key : private key) and a Braintree-Version
// header. The operation is told by the mutation or query field the document names and read
// from its variables; other GraphQL is refused. Faults as for Stripe: --error-rate answers 503
// SERVICE_AVAILABILITY having done nothing, --timeout-rate makes a mutation take effect and then
// hang, --decline-rate declines approving cards, --latency-ms delays every answer.
// `GET /_sim/transactions` lists every transaction and the authorizations tried per
// apiRequestKey; `POST /_sim/settle` settles every capture (Braintree does so in a daily batch).
#pragma once

#include <memory>
#include <random>
#include <string>

#include "http/message.hpp"
#include "tools/gateway_sim.hpp"
#include "tools/gateway_sim_support.hpp"

namespace boxoffice::tools {

class BraintreeSim {
 public:
  // `delays` must outlive the simulator.
  BraintreeSim(const GatewaySimOptions& options, DelayQueue& delays);
  ~BraintreeSim();
  BraintreeSim(const BraintreeSim&) = delete;
  BraintreeSim& operator=(const BraintreeSim&) = delete;

  // POST /graphql.
  void Handle(const http::Request& request, http::Respond respond);
  // GET /_sim/transactions.
  http::Response Records() const;
  // POST /_sim/settle.
  http::Response Settle();

 private:
  struct State;
  const GatewaySimOptions& options_;
  DelayQueue& delays_;
  std::unique_ptr<State> state_;
};

}  // namespace boxoffice::tools
