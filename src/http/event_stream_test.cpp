// Real-socket tests of server-sent event streams (event_stream.hpp): framing, heartbeats, the cap
// on open streams, clients that hang up or stop reading, and streams across a graceful stop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "http/message.hpp"
#include "http/server.hpp"
#include "http/server_test_support.hpp"

namespace boxoffice::http::test {
namespace {

// What a test's stream shows: `value`, sent whenever it changed since the last event; the stream
// ends after `final_value`. The test sets the fields it needs before the server starts.
struct StreamState {
  std::atomic<int> value{0};
  std::atomic<int> calls{0};    // how often the server asked the source
  std::atomic<int> sources{0};  // sources alive (copies included)
  int final_value = -1;
  std::size_t padding_bytes = 0;  // makes events large, so a client that does not read stalls
  bool throw_on_second_call = false;
};

class CountedSource {
 public:
  explicit CountedSource(std::shared_ptr<StreamState> state) : state_(std::move(state)) {
    ++state_->sources;
  }
  CountedSource(const CountedSource& other) : state_(other.state_), last_(other.last_) {
    ++state_->sources;
  }
  CountedSource(CountedSource&& other) noexcept : state_(other.state_), last_(other.last_) {
    ++state_->sources;
  }
  CountedSource& operator=(const CountedSource&) = delete;
  CountedSource& operator=(CountedSource&&) = delete;
  ~CountedSource() { --state_->sources; }

  StreamStep operator()() {
    if (++state_->calls == 2 && state_->throw_on_second_call) throw std::runtime_error("source");
    const int value = state_->value.load();
    if (value == last_) return StreamStep::NoChange();
    last_ = value;
    std::string data(state_->padding_bytes, 'x');
    data += std::to_string(value);
    return StreamStep::Event(std::move(data), value == state_->final_value);
  }

 private:
  std::shared_ptr<StreamState> state_;
  int last_ = -1;
};

Handler StreamHandler(std::shared_ptr<StreamState> state, std::chrono::milliseconds interval) {
  return [state, interval](const Request&, Respond respond) {
    Response response;
    response.SetHeader("Content-Type", "application/json");  // the server's own type wins
    response.stream = EventStream{CountedSource(state), interval};
    respond(std::move(response));
  };
}

std::string Frame(int value) { return "data: " + std::to_string(value) + "\n\n"; }

// Waits until the server next asks the stream's source. The source is not asked while a write is
// in flight, so this also proves that the write of whatever the client last read is done, and
// that the stream's heartbeat is counted from there.
bool NextTick(const StreamState& state) {
  const int calls = state.calls.load();
  return Eventually([&state, calls] { return state.calls.load() > calls; });
}

// A stream answer: the event-stream head without a length, the first event at once, later
// changes as chunks, the last chunk after the final event; then the connection serves on.
TEST_F(ServerTest, StreamSendsHeadEventsAndItsEnd) {
  auto state = std::make_shared<StreamState>();
  state->final_value = 2;
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 20ms));
  TestServer server(router_);
  Client client(server.port());
  const auto head = client.Request(Get("/stream"));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-type"), "text/event-stream");
  EXPECT_EQ(head->Header("cache-control"), "no-store");
  EXPECT_EQ(head->Header("transfer-encoding"), "chunked");
  EXPECT_FALSE(head->Header("content-length"));
  EXPECT_TRUE(head->Header("x-request-id"));
  EXPECT_EQ(client.ReadChunk(), Frame(0));
  state->value = 1;
  EXPECT_EQ(client.ReadChunk(), Frame(1));
  state->value = 2;
  EXPECT_EQ(client.ReadChunk(), Frame(2));
  EXPECT_EQ(client.ReadChunk(), "");  // the last chunk: the stream is over
  EXPECT_TRUE(Eventually([&] { return state->sources.load() == 0; }));  // released

  const auto next = client.Request(Get("/hello"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "hello");
  EXPECT_EQ(server.metrics().GetCounter("boxoffice_http_stream_events_total", "").Value(), 3u);
  EXPECT_EQ(server.metrics().GetGauge("boxoffice_http_streams_open", "").Value(), 0);
}

// Multi-line data becomes one "data:" field per line, whatever the line ending.
TEST_F(ServerTest, StreamEventDataIsFramedLineByLine) {
  router_.Add(Method::kGet, "/lines", [](const Request&, Respond respond) {
    Response response;
    response.stream = EventStream{[] { return StreamStep::Event("a\nb\r\nc\rd", true); }, 20ms};
    respond(std::move(response));
  });
  TestServer server(router_);
  Client client(server.port());
  ASSERT_TRUE(client.Request(Get("/lines")));
  EXPECT_EQ(client.ReadChunk(), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(client.ReadChunk(), "");
}

// A stream with nothing new sends a comment line once stream_heartbeat_ms has passed on the clock
// since its last write, and not before; changes still go out at once.
TEST_F(ServerTest, QuietStreamSendsHeartbeats) {
  auto state = std::make_shared<StreamState>();
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 20ms));
  ServerOptions options;
  options.stream_heartbeat_ms = 15s;
  TestServer server(router_, options);
  Client client(server.port());
  ASSERT_TRUE(client.Request(Get("/stream")));
  EXPECT_EQ(client.ReadChunk(), Frame(0));
  ASSERT_TRUE(NextTick(*state));
  server.clock().Advance(15s - 1ms);
  // Two ticks: the second surely began after the clock moved, and found no heartbeat due yet.
  ASSERT_TRUE(NextTick(*state));
  ASSERT_TRUE(NextTick(*state));
  state->value = 1;
  EXPECT_EQ(client.ReadChunk(), Frame(1));  // the change, not a heartbeat

  ASSERT_TRUE(NextTick(*state));
  server.clock().Advance(15s);
  EXPECT_EQ(client.ReadChunk(), ": keep-alive\n\n");
  ASSERT_TRUE(NextTick(*state));
  server.clock().Advance(15s);
  EXPECT_EQ(client.ReadChunk(), ": keep-alive\n\n");
  state->value = 7;
  EXPECT_EQ(client.ReadChunk(), Frame(7));  // the clock stands still: no heartbeat comes first
}

// Beyond max_streams a stream is answered 503 with Retry-After; a place freed is usable again.
TEST_F(ServerTest, StreamBeyondTheCapIs503) {
  auto state = std::make_shared<StreamState>();
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 20ms));
  ServerOptions options;
  options.max_streams = 1;
  TestServer server(router_, options);
  auto first = std::make_unique<Client>(server.port());
  ASSERT_TRUE(first->Request(Get("/stream")));
  ASSERT_EQ(first->ReadChunk(), Frame(0));

  Client second(server.port());
  const auto refused = second.Request(Get("/stream"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->ErrorCode(), "overloaded");
  EXPECT_EQ(refused->Header("retry-after"), "5");
  EXPECT_EQ(server.metrics().GetCounter("boxoffice_http_streams_rejected_total", "").Value(), 1u);
  const auto plain = second.Request(Get("/hello"));  // the connection itself is fine
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);

  first.reset();  // hangs up
  Gauge& open = server.metrics().GetGauge("boxoffice_http_streams_open", "");
  ASSERT_TRUE(Eventually([&] { return open.Value() == 0; }));
  const auto again = second.Request(Get("/stream"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(second.ReadChunk(), Frame(0));
}

// A client that hangs up mid-stream frees the stream: its source is dropped, the gauge falls.
TEST_F(ServerTest, ClientHangingUpEndsTheStream) {
  auto state = std::make_shared<StreamState>();
  // An interval of an hour and a clock that stands still: nothing is ever written to the stream,
  // so only the read it keeps outstanding can notice the client going.
  router_.Add(Method::kGet, "/stream", StreamHandler(state, std::chrono::hours(1)));
  TestServer server(router_);
  Gauge& open = server.metrics().GetGauge("boxoffice_http_streams_open", "");
  {
    Client client(server.port());
    ASSERT_TRUE(client.Request(Get("/stream")));
    ASSERT_EQ(client.ReadChunk(), Frame(0));
    EXPECT_EQ(open.Value(), 1);
    EXPECT_EQ(state->sources.load(), 1);
  }
  EXPECT_TRUE(Eventually([&] { return state->sources.load() == 0; }));
  EXPECT_EQ(open.Value(), 0);
  EXPECT_EQ(server.metrics().GetGauge("boxoffice_http_connections_open", "").Value(), 0);
}

// A client that stops reading stalls the one write in flight; meanwhile the source is not asked,
// so nothing queues up, and once the client reads again the next event is the latest state.
TEST_F(ServerTest, SlowReaderGetsTheLatestStateNotABacklog) {
  auto state = std::make_shared<StreamState>();
  // Events as large as the kernel's largest send buffer here (tcp_wmem: 4 MiB), so that at most
  // a few fit in the socket buffers before the write in flight stalls.
  state->padding_bytes = 4 << 20;
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 10ms));
  // A second stream that never changes: its source is asked on every tick of its own timer, as
  // often as the first stream's timer ticks, so it counts the ticks the first one lets pass.
  auto metronome = std::make_shared<StreamState>();
  router_.Add(Method::kGet, "/metronome", StreamHandler(metronome, 10ms));
  ServerOptions options;
  options.threads = 1;  // both timers on one thread, ticking alike
  TestServer server(router_, options);
  Client ticks(server.port());
  ASSERT_TRUE(ticks.Request(Get("/metronome")));
  ASSERT_EQ(ticks.ReadChunk(), Frame(0));
  Client client(server.port(), 4096);
  client.Send(Get("/stream"));
  ASSERT_TRUE(Eventually([&] { return state->calls.load() >= 1; }));  // the stream has begun
  // A new state on every tick for 40 ticks while the client does not read. Without the one
  // write in flight rule the source would be asked on each of them.
  int value = 0;
  for (int round = 0; round < 40; ++round) {
    state->value = ++value;
    ASSERT_TRUE(NextTick(*metronome));
  }
  EXPECT_LE(state->calls.load(), 6);

  const auto head = client.Read();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->Header("transfer-encoding"), "chunked");
  const std::string latest = std::string(state->padding_bytes, 'x') + std::to_string(value);
  bool got_latest = false;
  int events = 0;
  while (!got_latest) {
    const auto chunk = client.ReadChunk();
    ASSERT_TRUE(chunk);
    ++events;
    got_latest = *chunk == "data: " + latest + "\n\n";
  }
  EXPECT_LE(events, 6);  // of the 40 states, those in between were never sent
}

// SIGTERM-style stop with streams open: a reading client gets the stream's end, one that does not
// read is dropped once the stop grace (1 s) has passed on the clock, and Run returns without the
// drain timeout (25 s), which the clock never reaches here.
TEST_F(ServerTest, GracefulStopEndsOpenStreamsPromptly) {
  auto quiet = std::make_shared<StreamState>();
  auto large = std::make_shared<StreamState>();
  // Four times the largest send buffer here (tcp_wmem: 4 MiB): the first write stalls for good.
  large->padding_bytes = 16 << 20;
  router_.Add(Method::kGet, "/quiet", StreamHandler(quiet, 20ms));
  router_.Add(Method::kGet, "/large", StreamHandler(large, 10ms));
  ServerOptions options;
  options.threads = 1;
  auto server = std::make_unique<TestServer>(router_, options);
  Client reading(server->port());
  ASSERT_TRUE(reading.Request(Get("/quiet")));
  ASSERT_EQ(reading.ReadChunk(), Frame(0));
  Client stalled(server->port(), 4096);
  stalled.Send(Get("/large"));
  ASSERT_TRUE(Eventually([&] { return large->calls.load() >= 1; }));  // its write is in flight

  std::future<void> stopped = std::async(std::launch::async, [&server] { server->StopAndJoin(); });
  EXPECT_EQ(reading.ReadChunk(), "");
  EXPECT_TRUE(reading.WaitClosed());
  // One I/O thread: the stop reached `stalled` before `reading` could be closed, so its grace
  // counts from the clock as it stands. Two seconds pass that, and neither the write timeout
  // (30 s) nor the drain timeout.
  server->clock().Advance(2s);
  EXPECT_EQ(stopped.wait_for(kFailsafe), std::future_status::ready);
  EXPECT_EQ(quiet->sources.load(), 0);
  EXPECT_EQ(large->sources.load(), 0);
}

// HTTP/1.0 has no chunking: the stream is delimited by the close.
TEST_F(ServerTest, Http10StreamIsCloseDelimited) {
  auto state = std::make_shared<StreamState>();
  state->final_value = 1;
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 20ms));
  TestServer server(router_);
  Client client(server.port());
  const auto head = client.Request("GET /stream HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_FALSE(head->Header("transfer-encoding"));
  EXPECT_EQ(head->Header("connection"), "close");
  // The head and the first event go out in one write, so the source has been asked already.
  state->value = 1;
  EXPECT_EQ(client.ReadUntilClosed(), Frame(0) + Frame(1));
}

// A source that throws ends its stream cleanly; HEAD on a stream route gets the head alone.
TEST_F(ServerTest, StreamSourceFailureEndsTheStreamAndHeadHasNoEvents) {
  auto state = std::make_shared<StreamState>();
  state->throw_on_second_call = true;
  router_.Add(Method::kGet, "/stream", StreamHandler(state, 20ms));
  TestServer server(router_);
  Client client(server.port());
  ASSERT_TRUE(client.Request(Get("/stream")));
  EXPECT_EQ(client.ReadChunk(), Frame(0));
  EXPECT_EQ(client.ReadChunk(), "");
  const auto head = client.Request("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n", true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-type"), "text/event-stream");
  EXPECT_EQ(head->Header("cache-control"), "no-store");
  EXPECT_EQ(head->Header("content-length"), "0");
  EXPECT_EQ(client.Request(Get("/hello"))->body, "hello");  // nothing was left on the wire
  EXPECT_EQ(server.metrics().GetGauge("boxoffice_http_streams_open", "").Value(), 0);
}

}  // namespace
}  // namespace boxoffice::http::test
