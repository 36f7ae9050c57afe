// A small HTTP/1.1 server on POSIX sockets, written for what an LLM backend needs rather than
// taken from a general library: it notices a client that went away *while the handler is
// still working* (poll for a hang-up between tokens, during prompt processing and for
// non-streaming requests alike), so abandoned generations stop; it caps connections (one over
// the cap is answered 503 at once, not queued), header and body sizes and idle time; and it
// serves nothing but the handler — no file system access at all. Deadlines bound a whole
// request (headers, then the body at a minimum rate), and an exception escaping the handler
// is answered 500 and logged: one request can neither crash the server nor hold it.
//
//   HttpServer server({.host = "127.0.0.1", .port = 5001}, [](const HttpRequest& req, HttpExchange& ex) {
//     ex.respond({.status = 200, .body = R"({"ok":true})"});
//   });
//   LIMARP_TRY(server.start());
//   ...
//   server.stop();
//
// Each connection gets a thread (a streaming response keeps its thread for the whole
// generation; connections are capped, so threads are too). Keep-alive and pipelining are
// supported; streaming responses use chunked encoding (HTTP/1.1) or end by closing (1.0).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "server/exchange_record.h"
#include "server/http_request.h"

namespace limarp::server {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string log_message;  // an error's message for the access log (not sent)
};

// "OK", "Not Found", ... ("Unknown" for codes we never send).
const char* http_status_text(int status);

// One request's way back to its client.
class HttpExchange {
 public:
  HttpExchange(int fd, const HttpRequest& request, int io_timeout_ms);

  // What this exchange did so far; handlers add what they know (tokens, slot, errors in streams).
  ExchangeRecord& record() { return record_; }

  // A whole response. Extra headers given to add_header() are sent with it.
  void respond(HttpResponse response);
  // Starts a streamed response (chunked on HTTP/1.1); returns false when the client is gone.
  bool start_stream(int status, std::string_view content_type);
  // Sends a piece of the stream; false once the client is gone (or too slow to read).
  bool write(std::string_view data);
  void end_stream();
  // Headers every response of this exchange carries (CORS, ...).
  void add_header(std::string name, std::string value) { extra_.emplace_back(std::move(name), std::move(value)); }

  // Whether the client has hung up (checked without blocking): the handler polls this while
  // it waits, so nobody computes for a client that left.
  bool client_gone();
  bool responded() const { return responded_; }
  // Whether the connection can serve another request afterwards.
  bool keep_alive() const { return keep_alive_ && !broken_; }
  // The handler failed midway: a stream already started must not end as if it were complete,
  // so nothing more is sent and the connection closes.
  void abandon() { broken_ = true; }
  // The connection closes after this exchange's response.
  void close_after() { keep_alive_ = false; }

 private:
  bool send_all(std::string_view data);
  std::string head(int status, std::string_view content_type, const std::vector<std::pair<std::string, std::string>>& headers,
                   std::string_view framing);

  int fd_;
  int io_timeout_ms_;
  bool keep_alive_;
  bool chunked_ = false;
  bool head_request_ = false;
  bool responded_ = false;
  bool streaming_ = false;
  bool broken_ = false;
  std::vector<std::pair<std::string, std::string>> extra_;
  ExchangeRecord record_;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpExchange&)>;
// Called once per exchange after its response has been sent (also for requests refused before
// a handler ran: malformed, late, or over the connection cap). Must not block for long.
using ExchangeObserver = std::function<void(const ExchangeRecord&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 5001;                 // 0: any free port (see HttpServer::port())
  int max_connections = 64;        // more are answered with `busy_response` and closed
  HttpLimits limits;
  int idle_timeout_ms = 60000;     // a keep-alive connection waiting for its next request
  // Deadlines for a whole request, not per read, so a client dripping a byte at a time cannot
  // hold a connection: the request line and headers must be in within header_timeout_ms (from
  // the connection's start, or from the first byte of a later request on it), and the body must
  // then average body_min_rate bytes/s after a grace of header_timeout_ms. Late: 408, closed.
  int header_timeout_ms = 10000;
  int64_t body_min_rate = 2048;    // bytes per second after the grace; 0: the grace alone
  int io_timeout_ms = 60000;       // a write that cannot proceed for this long drops the client
  HttpResponse busy_response = {503, "application/json", R"({"error":"server busy"})", {}, "over the connection cap"};
  ExchangeObserver on_exchange;  // access log and metrics; may be empty
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (errors name the address), then accepts on a thread of its own.
  Status start();
  // The port bound (useful with port 0).
  int port() const { return port_; }
  // Stops accepting, shuts every connection down and waits for their threads. Handlers still
  // running must return soon after: their writes fail and client_gone() turns true.
  void stop();
  // Handlers running right now (a drain waits for them to send their last bytes).
  int handlers_running() const { return in_handler_.load(); }

 private:
  struct Connection {
    int fd = -1;
    std::string peer;  // "address:port"
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void accept_loop();
  void serve(Connection& c);
  void refuse(int fd, const std::string& peer, HttpResponse response,
              std::optional<std::chrono::steady_clock::time_point> began);
  std::chrono::steady_clock::time_point request_deadline(const HttpRequestParser& parser,
                                                         std::chrono::steady_clock::time_point began,
                                                         std::chrono::steady_clock::time_point head_done) const;
  void reap(bool all);

  HttpServerOptions options_;
  HttpHandler handler_;
  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // a pipe that interrupts accept's poll on stop()
  int port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  std::atomic<int> in_handler_{0};
  std::mutex mutex_;
  std::list<std::unique_ptr<Connection>> connections_;
};

}  // namespace limarp::server
