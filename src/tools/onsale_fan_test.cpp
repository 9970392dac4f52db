#include "tools/onsale_fan.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace boxoffice::tools::onsale {
namespace {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

class RecordingObserver final : public JourneyObserver {
 public:
  void PhaseChanged(const Fan&, Phase, Phase to) override { phases.push_back(to); }
  void SoldOutSeen(const Fan&, double now_s) override { sold_out_seen.push_back(now_s); }
  void OrderConfirmed(const Fan& fan, const json::object&, double) override {
    confirmed.push_back(fan.order_id);
  }
  void OrderCompleted(const Fan& fan, const json::object&, double) override {
    completed.push_back(fan.order_id);
  }

  std::vector<Phase> phases;
  std::vector<double> sold_out_seen;
  std::vector<std::string> confirmed;
  std::vector<std::string> completed;
};

Reply Answer(int status, std::string body = "{}", int retry_after_s = 0) {
  Reply reply;
  reply.status = status;
  reply.body = std::move(body);
  reply.retry_after_s = retry_after_s;
  if (status >= 400) {
    if (const json::object* object = reply.Object()) {
      reply.error = std::string(object->at("error").at("code").as_string());
    }
  }
  return reply;
}

Reply ErrorAnswer(int status, const std::string& code, int retry_after_s = 0) {
  return Answer(status, R"({"error": {"code": ")" + code + R"(", "message": "", "details": {}}})",
                retry_after_s);
}

std::string HeaderOf(const FanRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "";
}

class OnsaleFan : public ::testing::Test {
 protected:
  OnsaleFan() {
    Persona persona;
    persona.user_agent = "Mozilla/5.0 Test";
    persona.accept_language = "en-US";
    persona.telemetry_body = R"({"pointer_events":10,"key_events":1,"first_interaction_ms":900})";
    personas_.push_back(persona);
    JourneyOptions options;
    options.event_id = "evt_1";
    options.think_scale = 0;  // answers lead straight to the next request
    journey_ = std::make_unique<Journey>(options, personas_, observer_);
  }

  // A fan that goes the whole way unless a test says otherwise.
  Fan Arrive(std::uint32_t index = 7) {
    Fan fan;
    journey_->Arrive(fan, index, 0);
    fan.abandon = AbandonAt::kNever;
    fan.streams = false;
    fan.declines_first = false;
    fan.quantity = 2;
    return fan;
  }

  // Answers the fan's current request and checks it sends the next at `at_s`.
  void Expect(Fan& fan, const Reply& reply, double now_s, Step next, double at_s) {
    const Decision decision = journey_->OnReply(fan, reply, now_s);
    ASSERT_EQ(decision.kind, Decision::Kind::kSend) << StepName(fan.step);
    EXPECT_EQ(fan.step, next);
    EXPECT_DOUBLE_EQ(decision.at_s, at_s);
  }

  std::vector<Persona> personas_;
  RecordingObserver observer_;
  std::unique_ptr<Journey> journey_;
};

// The whole way: session, event page, telemetry, join, polls at the Retry-After asked,
// admission, hold, order, tickets; the fan ends a buyer and the observer heard of the order.
TEST_F(OnsaleFan, HappyPathToTickets) {
  Fan fan = Arrive();
  EXPECT_EQ(journey_->Request(fan).target, "/v1/sessions");
  EXPECT_EQ(HeaderOf(journey_->Request(fan), "X-Forwarded-For"), FanAddress(7));
  Expect(fan, Answer(201, R"({"session_token": "tok"})"), 1, Step::kEvent, 1);
  EXPECT_EQ(HeaderOf(journey_->Request(fan), "Authorization"), "Bearer tok");
  Expect(fan, Answer(200), 2, Step::kTelemetry, 2);
  EXPECT_EQ(journey_->Request(fan).body, personas_[0].telemetry_body);
  Expect(fan, Answer(204, ""), 3, Step::kJoin, 3);
  Expect(fan, Answer(201, R"({"queue_ticket": "qt", "state": "waiting", "position": 5,
                         "retry_after_s": 7, "sequence": 42})"),
         4, Step::kStatus, 11);
  EXPECT_EQ(fan.sequence, 42u);
  EXPECT_EQ(fan.phase, Phase::kWaiting);
  EXPECT_EQ(HeaderOf(journey_->Request(fan), "X-Queue-Ticket"), "qt");
  // Without retry_after_s in the body, the Retry-After header says when.
  Expect(fan, Answer(200, R"({"state": "waiting"})", 3), 11, Step::kStatus, 14);
  Expect(fan, Answer(200, R"({"state": "admitted", "access_token": "at", "admitted_as": 40,
                         "retry_after_s": 1})"),
         14, Step::kHold, 14);
  EXPECT_EQ(fan.admitted_as, 40u);
  EXPECT_FLOAT_EQ(fan.admitted_s, 14);
  FanRequest hold = journey_->Request(fan);
  EXPECT_EQ(hold.body, R"({"best_available":{"quantity":2}})");
  EXPECT_EQ(HeaderOf(hold, "X-Access-Token"), "at");
  Expect(fan, Answer(201, R"({"hold_id": "hld_1"})"), 15, Step::kOrder, 15);
  const FanRequest order = journey_->Request(fan);
  EXPECT_NE(order.body.find("tok_visa"), std::string::npos);
  EXPECT_NE(order.body.find("fan7@example.com"), std::string::npos);
  Expect(fan, Answer(201, R"({"order_id": "ord_1", "status": "confirmed",
                         "tickets": [{"seat_id": "S1-R1-1"}, {"seat_id": "S1-R1-2"}]})"),
         16, Step::kTickets, 16.5);
  EXPECT_EQ(observer_.confirmed, std::vector<std::string>{"ord_1"});
  Expect(fan, Answer(200, R"({"order_id": "ord_1", "status": "confirmed"})"), 17, Step::kTickets,
         17.5);
  const Decision done = journey_->OnReply(
      fan, Answer(200, R"({"order_id": "ord_1", "status": "completed", "tickets": []})"), 18);
  EXPECT_EQ(done.kind, Decision::Kind::kDone);
  EXPECT_EQ(fan.outcome, Outcome::kBought);
  EXPECT_EQ(fan.phase, Phase::kDone);
  EXPECT_EQ(observer_.completed, std::vector<std::string>{"ord_1"});
  EXPECT_FALSE(fan.session_token.empty());  // kept for the audit's reads
  EXPECT_TRUE(fan.queue_ticket.empty());
}

// 429 and 503 are obeyed: the same request again after Retry-After, counted as an error.
TEST_F(OnsaleFan, RateLimitAndOverloadWaitRetryAfter) {
  Fan fan = Arrive();
  Decision decision = journey_->OnReply(fan, ErrorAnswer(429, "rate_limited", 4), 10);
  EXPECT_EQ(fan.step, Step::kSession);
  EXPECT_DOUBLE_EQ(decision.at_s, 14);
  EXPECT_TRUE(decision.error);
  decision = journey_->OnReply(fan, ErrorAnswer(503, "not_ready", 2), 14);
  EXPECT_EQ(fan.step, Step::kSession);
  EXPECT_DOUBLE_EQ(decision.at_s, 16);
}

// Transport errors back off from 100 ms doubling to 5 s, jittered within the upper half, for as
// long as they last; an answer resets the backoff.
TEST_F(OnsaleFan, TransportErrorsBackOffExponentially) {
  Fan fan = Arrive();
  double full_s = 0.1;
  for (int failure = 0; failure < 12; ++failure) {
    const Decision decision = journey_->OnReply(fan, Reply{}, 100);
    ASSERT_EQ(decision.kind, Decision::Kind::kSend);
    EXPECT_TRUE(decision.error);
    EXPECT_GE(decision.at_s - 100, full_s / 2 - 1e-9) << failure;
    EXPECT_LE(decision.at_s - 100, full_s + 1e-9) << failure;
    full_s = std::min(5.0, full_s * 2);
  }
  EXPECT_EQ(fan.step, Step::kSession);
  journey_->OnReply(fan, Answer(201, R"({"session_token": "tok"})"), 101);
  EXPECT_EQ(fan.transport_failures, 0);
}

// The Idempotency-Key stays the same on a retry of the same payment (503, transport error) and
// changes for a new attempt after a decline; a fan meant to be declined pays tok_declined first.
TEST_F(OnsaleFan, IdempotencyKeyPerPaymentIntent) {
  Fan fan = Arrive(3);
  fan.declines_first = true;
  fan.step = Step::kOrder;
  fan.hold_id = "hld_1";
  fan.session_token = "tok";
  const FanRequest first = journey_->Request(fan);
  EXPECT_NE(first.body.find("tok_declined"), std::string::npos);
  const std::string key = HeaderOf(first, "Idempotency-Key");
  journey_->OnReply(fan, ErrorAnswer(503, "payments_unavailable", 1), 10);
  EXPECT_EQ(HeaderOf(journey_->Request(fan), "Idempotency-Key"), key);
  journey_->OnReply(fan, Reply{}, 11);
  EXPECT_EQ(HeaderOf(journey_->Request(fan), "Idempotency-Key"), key);
  const Decision declined = journey_->OnReply(fan, ErrorAnswer(402, "payment_declined"), 12);
  EXPECT_FALSE(declined.error);  // it was meant to be
  EXPECT_EQ(fan.step, Step::kOrder);
  const FanRequest second = journey_->Request(fan);
  EXPECT_NE(HeaderOf(second, "Idempotency-Key"), key);
  EXPECT_NE(second.body.find("tok_visa"), std::string::npos);
}

// A seat conflict is retried, after two with fewer seats; not enough seats asks for fewer, and
// at one seat the fan stops: nothing left for it.
TEST_F(OnsaleFan, HoldConflictsRetryWithFewerSeats) {
  Fan fan = Arrive();
  fan.step = Step::kHold;
  fan.quantity = 4;
  journey_->OnReply(fan, ErrorAnswer(409, "seat_conflict"), 1);
  EXPECT_EQ(fan.step, Step::kHold);
  EXPECT_EQ(fan.quantity, 4);
  journey_->OnReply(fan, ErrorAnswer(409, "seat_conflict"), 2);
  EXPECT_EQ(fan.quantity, 3);
  journey_->OnReply(fan, ErrorAnswer(409, "not_enough_seats"), 3);
  EXPECT_EQ(fan.quantity, 2);
  journey_->OnReply(fan, ErrorAnswer(409, "not_enough_seats"), 4);
  EXPECT_EQ(fan.quantity, 1);
  // No seats at all: the fan leaves the queue, so the slot goes to the next fan at once.
  const Decision leave = journey_->OnReply(fan, ErrorAnswer(409, "not_enough_seats"), 5);
  EXPECT_EQ(leave.kind, Decision::Kind::kSend);
  EXPECT_EQ(fan.step, Step::kLeave);
  const Decision done = journey_->OnReply(fan, Answer(204, ""), 6);
  EXPECT_EQ(done.kind, Decision::Kind::kDone);
  EXPECT_EQ(fan.outcome, Outcome::kNoSeats);
}

// A challenge is handed out to be solved; the solution rides on the retried request only.
TEST_F(OnsaleFan, ChallengeIsSolvedAndSentOnce) {
  Fan fan = Arrive();
  fan.step = Step::kJoin;
  const Reply challenged = Answer(
      403, R"({"error": {"code": "challenge_required", "message": "", "details": {"challenge":
          {"algorithm": "SHA-256", "challenge": "ab", "salt": "s?expires=9", "signature": "cd",
           "maxnumber": 1000}}}})");
  const Decision solve = journey_->OnReply(fan, challenged, 1);
  ASSERT_EQ(solve.kind, Decision::Kind::kSolve);
  EXPECT_EQ(solve.challenge->maxnumber, 1000u);
  EXPECT_FALSE(solve.error);
  const Decision again = journey_->OnSolved(fan, std::string("c29sdmVk"), 2);
  EXPECT_EQ(again.kind, Decision::Kind::kSend);
  EXPECT_EQ(HeaderOf(journey_->Request(fan), "X-Altcha"), "c29sdmVk");
  journey_->OnReply(fan, Answer(201, R"({"queue_ticket": "qt", "state": "waiting"})"), 3);
  EXPECT_EQ(HeaderOf(journey_->Request(fan), "X-Altcha"), "");
  // Challenges between other answers of the same step do not add up (a hold retried after
  // not_enough_seats is challenged afresh); four in a row stop the fan.
  fan = Arrive();
  fan.step = Step::kHold;
  fan.quantity = 6;
  for (int round = 0; round < 5; ++round) {
    ASSERT_EQ(journey_->OnReply(fan, challenged, 4).kind, Decision::Kind::kSolve) << round;
    journey_->OnSolved(fan, std::string("c29sdmVk"), 4);
    journey_->OnReply(fan, ErrorAnswer(409, "not_enough_seats"), 4);
    ASSERT_EQ(fan.step, Step::kHold);
  }
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(journey_->OnReply(fan, challenged, 5).kind, Decision::Kind::kSolve);
  }
  EXPECT_EQ(journey_->OnReply(fan, challenged, 5).kind, Decision::Kind::kDone);
  EXPECT_EQ(fan.outcome, Outcome::kBlocked);
  fan = Arrive();
  fan.step = Step::kJoin;
  EXPECT_EQ(journey_->OnSolved(fan, std::nullopt, 4).kind, Decision::Kind::kDone);
  EXPECT_EQ(fan.outcome, Outcome::kBlocked);
}

// Sold out stops a waiting fan and is remembered as the first sighting.
TEST_F(OnsaleFan, SoldOutIsToldAndRecorded) {
  Fan fan = Arrive();
  fan.step = Step::kStatus;
  fan.joined_s = 1;
  const Decision done = journey_->OnReply(fan, Answer(200, R"({"state": "sold_out"})"), 30);
  EXPECT_EQ(done.kind, Decision::Kind::kDone);
  EXPECT_EQ(fan.outcome, Outcome::kSoldOut);
  EXPECT_FLOAT_EQ(fan.told_s, 30);
  EXPECT_LT(fan.ended_s, 0);  // told, not gone on its own
  EXPECT_EQ(observer_.sold_out_seen, std::vector<double>{30});
}

// A fan who loses patience leaves the queue (DELETE with its ticket) when its patience ends,
// not at its next poll.
TEST_F(OnsaleFan, ImpatientFanLeavesTheQueue) {
  Fan fan = Arrive();
  fan.abandon = AbandonAt::kQueue;
  fan.patience_s = 20;
  fan.step = Step::kJoin;
  Expect(fan, Answer(201, R"({"queue_ticket": "qt", "state": "waiting", "retry_after_s": 15})"), 10,
         Step::kStatus, 25);
  Expect(fan, Answer(200, R"({"state": "waiting", "retry_after_s": 15})"), 25, Step::kLeave, 30);
  const FanRequest leave = journey_->Request(fan);
  EXPECT_EQ(leave.method, bhttp::verb::delete_);
  EXPECT_EQ(leave.target, "/v1/events/evt_1/queue");
  EXPECT_EQ(HeaderOf(leave, "X-Queue-Ticket"), "qt");
  EXPECT_EQ(journey_->OnReply(fan, Answer(204, ""), 30).kind, Decision::Kind::kDone);
  EXPECT_EQ(fan.outcome, Outcome::kGaveUp);
}

// A streaming fan reads events until admitted; if the server has no stream to spare it polls.
TEST_F(OnsaleFan, StreamEventsAdmitAndOverloadFallsBackToPolling) {
  Fan fan = Arrive();
  fan.streams = true;
  fan.step = Step::kJoin;
  Expect(fan, Answer(201, R"({"queue_ticket": "qt", "state": "waiting"})"), 1, Step::kStream, 1);
  EXPECT_EQ(journey_->Request(fan).target, "/v1/events/evt_1/queue/stream");
  EXPECT_TRUE(journey_->OnStreamEvent(fan, R"({"state": "waiting", "sequence": 9})", 2));
  EXPECT_TRUE(journey_->OnStreamEvent(fan, R"({"state": "admitted", "access_token": "at"})", 5));
  StreamResult ended;
  ended.end = StreamEnd::kServerEnded;
  ended.reply.status = 200;
  EXPECT_EQ(journey_->OnStreamEnd(fan, ended, 5).kind, Decision::Kind::kSend);
  EXPECT_EQ(fan.step, Step::kHold);
  EXPECT_EQ(fan.sequence, 9u);

  Fan other = Arrive(8);
  other.streams = true;
  other.step = Step::kStream;
  other.queue_ticket = "qt";
  StreamResult overloaded;
  overloaded.reply = ErrorAnswer(503, "overloaded", 5);
  const Decision decision = journey_->OnStreamEnd(other, overloaded, 3);
  EXPECT_EQ(other.step, Step::kStatus);
  EXPECT_DOUBLE_EQ(decision.at_s, 3);
  EXPECT_FALSE(other.streams);
}

}  // namespace
}  // namespace boxoffice::tools::onsale
