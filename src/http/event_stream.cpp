#include "http/event_stream.hpp"

#include <boost/asio/write.hpp>

#include <algorithm>
#include <exception>

#include "common/log.hpp"
#include "http/connection.hpp"
#include "http/response_writer.hpp"

namespace boxoffice::http::internal {

void AppendEventFrame(std::string_view data, std::string& out) {
  while (true) {
    const auto end = data.find_first_of("\r\n");
    out += "data: ";
    out += data.substr(0, end);
    out += '\n';
    if (end == std::string_view::npos) break;
    const bool crlf = data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n';
    data.remove_prefix(end + (crlf ? 2 : 1));
  }
  out += '\n';
}

void Connection::StartStream() {
  Slot& slot = slots_.front();
  if (peer_eof_) {
    Close();  // the client hung up before its stream began
    return;
  }
  ActiveStream& stream = stream_.emplace();
  stream.next = std::move(slot.response.stream->next);
  stream.interval =
      std::max(slot.response.stream->interval, std::chrono::milliseconds(kStreamIntervalMinMs));
  stream.chunked = slot.version >= 11;
  stream.last_write_ns = now_ns_;  // the head: no heartbeat is due yet
  ++stream_generation_;
  // As in MaybeWrite: the connection closes after this answer when the client asked for it or
  // nothing more will be read; a close-delimited stream always ends with the close.
  const bool close = !stream.chunked || slot.close || (read_closed_ && slots_.size() == 1);
  if (close) read_closed_ = true;

  std::string out;
  AppendHead(slot, close, out);
  AppendStreamStep(PullStream(), out);
  if (stopping_ && stream_ && !stream_->ending) AppendStreamEnd(out);
  WriteStream(std::move(out));
  if (closed_ || !stream_) return;
  if (!stream_->ending) ArmStreamTimer();
  ReadMore();  // a read stays outstanding, so a client hanging up is seen at once
}

void Connection::ArmStreamTimer() {
  if (!stream_timer_) stream_timer_.emplace(transport_.get_executor());
  stream_timer_->expires_after(stream_->interval);
  stream_timer_->async_wait([self = shared_from_this(),
                             generation = stream_generation_](const boost::system::error_code& ec) {
    if (!ec) self->OnStreamTick(generation);
  });
}

void Connection::OnStreamTick(std::uint64_t generation) {
  if (closed_ || !stream_ || generation != stream_generation_ || stream_->ending) return;
  // One write in flight: while the client has not taken the last one, the source is not asked,
  // so the states in between are never made; the next write carries the latest.
  if (!writing_) {
    now_ns_ = server_.NowNs();
    std::string out;
    AppendStreamStep(PullStream(), out);
    if (!out.empty() || stream_->ending) WriteStream(std::move(out));
  }
  if (!closed_ && stream_ && !stream_->ending) ArmStreamTimer();
}

StreamStep Connection::PullStream() {
  // Exceptions must not cross into Asio: a source that throws ends its stream.
  try {
    return stream_->next();
  } catch (const std::exception& e) {
    LogError("http_stream_source_threw", {{"error", e.what()}});
  } catch (...) {
    LogError("http_stream_source_threw", {{"error", "not a std::exception"}});
  }
  return StreamStep::End();
}

void Connection::AppendStreamStep(const StreamStep& step, std::string& out) {
  ActiveStream& stream = *stream_;
  std::string frame;
  switch (step.kind) {
    case StreamStep::Kind::kEnd:
      AppendStreamEnd(out);
      return;
    case StreamStep::Kind::kEvent:
      AppendEventFrame(step.data, frame);
      server_.CountStreamEvent();
      break;
    case StreamStep::Kind::kNoChange:
      if (std::chrono::nanoseconds(now_ns_ - stream.last_write_ns) <
          server_.options().stream_heartbeat_ms) {
        return;
      }
      frame = kStreamHeartbeat;
      break;
  }
  if (stream.chunked) {
    AppendChunk(frame, out);
  } else {
    out += frame;
  }
  if (step.kind == StreamStep::Kind::kEvent && step.last) AppendStreamEnd(out);
}

void Connection::AppendStreamEnd(std::string& out) {
  stream_->ending = true;
  if (stream_->chunked) out += kLastChunk;
}

void Connection::WriteStream(std::string data) {
  if (data.empty()) {
    // Only a close-delimited stream ends with nothing to write.
    if (stream_->ending) FinishStream();
    return;
  }
  write_data_ = std::move(data);
  writing_ = true;
  write_deadline_ns_.store(DeadlineAfter(now_ns_, kWriteTimeoutS), std::memory_order_relaxed);
  transport_.AsyncWrite(net::buffer(write_data_),
                        [self = shared_from_this()](const boost::system::error_code& ec,
                                                    std::size_t) { self->OnStreamWrite(ec); });
}

void Connection::OnStreamWrite(const boost::system::error_code& ec) {
  writing_ = false;
  write_deadline_ns_.store(kNoDeadline, std::memory_order_relaxed);
  if (closed_ || !stream_) return;
  if (ec) {
    Close();
    return;
  }
  now_ns_ = server_.NowNs();
  stream_->last_write_ns = now_ns_;
  if (stream_->ending) {
    FinishStream();
  } else if (stream_->end_requested) {
    EndStream();
  }
}

// Ends the stream as soon as no write is in flight; a client that does not take the write in
// flight within kStreamStopGraceMs is dropped by the sweeper.
void Connection::EndStream() {
  if (!stream_ || stream_->ending) return;
  if (writing_) {
    stream_->end_requested = true;
    write_deadline_ns_.store(std::min(write_deadline_ns_.load(std::memory_order_relaxed),
                                      DeadlineAfter(now_ns_, kStreamStopGraceMs)),
                             std::memory_order_relaxed);
    return;
  }
  std::string out;
  AppendStreamEnd(out);
  WriteStream(std::move(out));
}

// The stream's last bytes are out: its answer is done, and the connection goes on (chunked) or
// closes (close-delimited).
void Connection::FinishStream() {
  const bool chunked = stream_->chunked;
  stream_.reset();
  ++stream_generation_;
  if (stream_timer_) stream_timer_->cancel();
  answer_bytes_waiting_ -= slots_.front().response.body.size();  // a stream's is never sent
  slots_.pop_front();                                            // gives back its lease
  ++first_sequence_;
  if (!chunked) {
    CloseAfterFinalAnswer(false);
    return;
  }
  ContinueAfterAnswers();
}

// Gives back every place among max_streams this connection holds and drops the stream's source
// (and whatever it keeps alive) now, not whenever the last handler holding the connection runs.
void Connection::ReleaseStreams() {
  stream_.reset();
  ++stream_generation_;
  stream_timer_.reset();
  for (Slot& slot : slots_) slot.stream_lease.Release();
}

}  // namespace boxoffice::http::internal
