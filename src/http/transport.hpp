// The bytes of one connection: a TCP socket, or TLS over one when the server has a certificate
// (ServerOptions::tls_cert_file). A connection reads and writes through this and never asks
// which it has; Asio's ssl::stream lets one read and one write be under way at once, as a plain
// socket does, so the connection's reading while it writes holds for both. Internal to src/http.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <optional>
#include <utility>

#include "http/server_internal.hpp"

namespace boxoffice::http::internal {

class Transport {
 public:
  // TLS when `tls` is given; it must outlive the transport.
  Transport(Socket socket, net::ssl::context* tls) {
    if (tls != nullptr) {
      tls_ = std::make_unique<TlsStream>(std::move(socket), *tls);
    } else {
      plain_.emplace(std::move(socket));
    }
  }

  bool tls() const { return tls_ != nullptr; }
  // The TCP socket underneath: the peer's address, shutdown, close, bytes waiting.
  Socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  IoExecutor get_executor() { return socket().get_executor(); }

  // Calls `handler(error_code)` once the TLS handshake is done; only when tls().
  template <typename Handler>
  void AsyncHandshake(Handler&& handler) {
    tls_->async_handshake(net::ssl::stream_base::server, std::forward<Handler>(handler));
  }

  template <typename Buffers, typename Handler>
  void AsyncReadSome(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  // Writes all of `buffers`, as net::async_write does.
  template <typename Buffers, typename Handler>
  void AsyncWrite(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      net::async_write(*tls_, buffers, std::forward<Handler>(handler));
    } else {
      net::async_write(*plain_, buffers, std::forward<Handler>(handler));
    }
  }

  // Whether a read's error means the peer closed its side when it had sent a whole request: EOF,
  // or, over TLS, the TCP close of a client that sent no close_notify (which HTTP's own framing
  // makes harmless: RFC 9112 section 9.8).
  static bool IsPeerClose(const boost::system::error_code& ec) {
    return ec == net::error::eof || ec == net::ssl::error::stream_truncated;
  }

 private:
  using TlsStream = net::ssl::stream<Socket>;
  std::optional<Socket> plain_;
  std::unique_ptr<TlsStream> tls_;
};

}  // namespace boxoffice::http::internal
