#include "server/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/exception_guard.h"
#include "base/log.h"
#include "base/utf8_escape.h"

namespace limarp::server {
namespace {

using Clock = std::chrono::steady_clock;

// Connections over the cap still get their 503 from a short-lived thread of their own; beyond
// this many such threads at once, excess connections are closed without an answer.
constexpr int kMaxBusyThreads = 32;
// A connection closed after an error answer is drained this long so the client reads the
// answer instead of a reset.
constexpr int kLingerMs = 1000;
constexpr int kBusyReadMs = 2000;

std::string error_json(int status, std::string_view message) {
  nlohmann::json j = {{"error", {{"code", status}, {"message", escape_invalid_utf8(std::string(message))},
                                 {"type", status >= 500 ? "server_error" : "invalid_request_error"}}}};
  return j.dump();
}

// Reads and discards what the client still sends, for at most kLingerMs, after our side of
// the connection is shut for writing.
void linger_close(int fd) {
  ::shutdown(fd, SHUT_WR);
  const auto until = Clock::now() + std::chrono::milliseconds(kLingerMs);
  char buf[16384];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
  }
}

// "203.0.113.7:53412", "[2001:db8::1]:53412".
std::string peer_name(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (a.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(a);
    ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
    return fmt::format("{}:{}", host, ntohs(in.sin_port));
  }
  if (a.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, ntohs(in6.sin6_port));
  }
  return "-";
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

// Answers an error on a connection that then closes (after reading what the client still
// sends), and tells the observer.
void HttpServer::refuse(int fd, const std::string& peer, HttpResponse response, std::optional<Clock::time_point> began) {
  HttpRequest req;
  req.version_minor = 1;
  req.method = "-";
  req.headers.emplace_back("connection", "close");
  HttpExchange ex(fd, req, kLingerMs);
  if (began) ex.record().start = *began;
  ex.record().client = peer;
  ex.respond(std::move(response));
  ex.record().duration_ms = ms_since(ex.record().start);
  linger_close(fd);
  if (options_.on_exchange) options_.on_exchange(ex.record());
}

const char* http_status_text(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// ---------------------------------------------------------------------------------------------
// HttpExchange

HttpExchange::HttpExchange(int fd, const HttpRequest& request, int io_timeout_ms)
    : fd_(fd),
      io_timeout_ms_(io_timeout_ms),
      keep_alive_(request.keep_alive()),
      chunked_(request.version_minor >= 1),
      head_request_(request.method == "HEAD") {
  record_.time = std::chrono::system_clock::now();
  record_.start = Clock::now();
  record_.method = request.method;
  record_.path = escape_invalid_utf8(request.path);
}

bool HttpExchange::send_all(std::string_view data) {
  while (!data.empty() && !broken_) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, io_timeout_ms_) > 0 && !(p.revents & (POLLERR | POLLHUP | POLLNVAL))) continue;
    }
    broken_ = true;  // reset, closed, or a reader too slow for io_timeout
  }
  return !broken_;
}

std::string HttpExchange::head(int status, std::string_view content_type,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view framing) {
  std::string h = fmt::format("HTTP/1.1 {} {}\r\n", status, http_status_text(status));
  if (!content_type.empty()) h += fmt::format("Content-Type: {}\r\n", content_type);
  h += framing;
  h += keep_alive_ ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  for (const auto& [k, v] : extra_) h += fmt::format("{}: {}\r\n", k, v);
  for (const auto& [k, v] : headers) h += fmt::format("{}: {}\r\n", k, v);
  h += "\r\n";
  return h;
}

void HttpExchange::respond(HttpResponse r) {
  if (responded_) return;
  responded_ = true;
  record_.status = r.status;
  if (r.status >= 400) record_.error = std::move(r.log_message);
  std::string out = head(r.status, r.content_type, r.headers, fmt::format("Content-Length: {}\r\n", r.body.size()));
  if (!head_request_) out += r.body;
  send_all(out);
}

bool HttpExchange::start_stream(int status, std::string_view content_type) {
  if (responded_) return false;
  responded_ = streaming_ = true;
  record_.status = status;
  if (!chunked_) keep_alive_ = false;  // HTTP/1.0: the stream ends when the connection closes
  const std::vector<std::pair<std::string, std::string>> headers = {{"Cache-Control", "no-cache"},
                                                                     {"X-Accel-Buffering", "no"}};
  return send_all(head(status, content_type, headers, chunked_ ? "Transfer-Encoding: chunked\r\n" : ""));
}

bool HttpExchange::write(std::string_view data) {
  if (!streaming_ || broken_) return false;
  if (data.empty()) return true;  // an empty chunk would end the stream
  if (!chunked_) return send_all(data);
  std::string framed = fmt::format("{:x}\r\n", data.size());
  framed += data;
  framed += "\r\n";
  return send_all(framed);
}

void HttpExchange::end_stream() {
  if (!streaming_) return;
  streaming_ = false;
  if (chunked_) send_all("0\r\n\r\n");
}

bool HttpExchange::client_gone() {
  if (broken_) return true;
  pollfd p{fd_, static_cast<short>(POLLIN | POLLRDHUP), 0};
  if (::poll(&p, 1, 0) < 0) return false;
  if (p.revents & (POLLHUP | POLLERR | POLLNVAL | POLLRDHUP)) {
    broken_ = true;
  } else if (p.revents & POLLIN) {
    // Readable: either the next pipelined request or the end of the stream.
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) broken_ = true;
  }
  return broken_;
}

// ---------------------------------------------------------------------------------------------
// HttpServer

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options_.port);
  if (const int rc = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return make_error("cannot resolve {}:{}: {}", options_.host, options_.port, gai_strerror(rc));
  std::string last_error = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) {
      listen_fd_ = fd;
      break;
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) return make_error("cannot listen on {}:{}: {}", options_.host, options_.port, last_error);
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (::pipe2(wake_fds_, O_CLOEXEC) != 0) return make_error("pipe: {}", std::strerror(errno));
  acceptor_ = std::thread([this] { accept_loop(); });
  return {};
}

void HttpServer::accept_loop() {
  int busy_threads = 0;
  std::list<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> busy;
  while (!stopping_) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
    const int rc = ::poll(p, 2, 1000);
    reap(false);
    for (auto it = busy.begin(); it != busy.end();) {
      if (!*it->second) {
        ++it;
        continue;
      }
      it->first.join();
      it = busy.erase(it);
      --busy_threads;
    }
    if (rc <= 0 || (p[1].revents & POLLIN)) continue;
    sockaddr_storage peer_addr{};
    socklen_t peer_len = sizeof peer_addr;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer_addr), &peer_len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const std::string peer = peer_name(peer_addr);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // stream tokens without delay
    if (active_.load() >= options_.max_connections) {
      if (busy_threads >= kMaxBusyThreads) {
        ::close(fd);
        continue;
      }
      // Over the cap: read the request (briefly), answer busy, close.
      ++busy_threads;
      auto done = std::make_shared<std::atomic<bool>>(false);
      busy.emplace_back(std::thread([this, fd, done, peer] {
        HttpRequestParser parser(options_.limits);
        char buf[8192];
        const auto until = Clock::now() + std::chrono::milliseconds(kBusyReadMs);
        while (parser.state() == HttpParseState::kNeedMore && Clock::now() < until) {
          pollfd q{fd, POLLIN, 0};
          if (::poll(&q, 1, 100) <= 0) continue;
          const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
          if (n <= 0) break;
          parser.feed(std::string_view(buf, static_cast<size_t>(n)));
        }
        refuse(fd, peer, options_.busy_response, std::nullopt);
        ::close(fd);
        *done = true;
      }), done);
      continue;
    }
    ++active_;
    std::lock_guard lock(mutex_);
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->peer = peer;
    Connection* raw = c.get();
    connections_.push_back(std::move(c));
    raw->thread = std::thread([this, raw] { serve(*raw); });
  }
  for (auto& [t, done] : busy) t.join();
}

// When the request being read must be complete by (see HttpServerOptions): the head within
// header_timeout of its start; the body within the same grace after the head, extended by one
// second per body_min_rate bytes received.
Clock::time_point HttpServer::request_deadline(const HttpRequestParser& parser, Clock::time_point began,
                                               Clock::time_point head_done) const {
  const auto grace = std::chrono::milliseconds(options_.header_timeout_ms);
  if (!parser.headers_done()) return began + grace;
  auto deadline = head_done + grace;
  if (options_.body_min_rate > 0)
    deadline += std::chrono::milliseconds(static_cast<int64_t>(parser.body_received()) * 1000 / options_.body_min_rate);
  return deadline;
}

void HttpServer::serve(Connection& c) {
  const int fd = c.fd;
  HttpRequestParser parser(options_.limits);
  std::string pending;  // received, not yet parsed
  char buf[65536];
  bool open = true;
  // The first request is timed from the connection's start (a client that connects and says
  // nothing is as slow as one that drips); later ones from their first byte.
  std::optional<Clock::time_point> began = Clock::now();
  Clock::time_point head_done;
  while (open && !stopping_) {
    // Read until one request is complete (or broken, or late).
    while (parser.state() == HttpParseState::kNeedMore) {
      if (!pending.empty()) {
        if (!began) began = Clock::now();
        const bool had_head = parser.headers_done();
        pending.erase(0, parser.feed(pending));
        if (!had_head && parser.headers_done()) head_done = Clock::now();
        if (parser.state() != HttpParseState::kNeedMore) break;
      }
      if (parser.wants_continue()) {
        const std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        ::send(fd, cont.data(), cont.size(), MSG_NOSIGNAL);
        parser.continue_sent();
      }
      int wait_ms = options_.idle_timeout_ms;
      if (began) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(request_deadline(parser, *began, head_done) - Clock::now());
        if (left.count() <= 0) {
          open = false;
          if (!parser.in_progress()) break;  // nothing sent at all: closed without an answer
          const std::string why =
              parser.headers_done()
                  ? fmt::format("the request body arrived too slowly (under {} bytes/s after {} s)", options_.body_min_rate,
                                options_.header_timeout_ms / 1000.0)
                  : fmt::format("the request headers did not arrive within {} s", options_.header_timeout_ms / 1000.0);
          log::debug("http: 408: {}", why);
          refuse(fd, c.peer, {408, "application/json", error_json(408, why), {}, why}, began);
          break;
        }
        wait_ms = static_cast<int>(std::min<int64_t>(left.count(), options_.idle_timeout_ms));
      }
      pollfd p{fd, POLLIN, 0};
      const int rc = ::poll(&p, 1, wait_ms);
      if (rc < 0 || stopping_) {
        open = false;
        break;
      }
      if (rc == 0) {
        if (!began) {  // an idle keep-alive connection: closed quietly
          open = false;
          break;
        }
        continue;  // the deadline check above answers 408
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        open = false;
        break;
      }
      pending.append(buf, static_cast<size_t>(n));
    }
    if (!open) break;
    if (parser.state() == HttpParseState::kError) {
      log::debug("http: rejected a request: {} {}", parser.error().status, parser.error().message);
      const HttpError& e = parser.error();
      refuse(fd, c.peer, {e.status, "application/json", error_json(e.status, e.message), {}, e.message}, began);
      break;
    }
    const HttpRequest req = parser.take();
    HttpExchange ex(fd, req, options_.io_timeout_ms);
    ex.record().start = began.value_or(Clock::now());
    ex.record().client = c.peer;
    began.reset();
    ++in_handler_;
    const Status st = run_guarded([&] { handler_(req, ex); });
    --in_handler_;
    if (!st.ok()) {
      // A bug below the handler, not the client's fault: answered 500 with the reason, logged,
      // and the connection closed (the handler's state for it is unknown).
      log::error("http: {} {}: {}", req.method, escape_invalid_utf8(req.path), st.error().message());
      if (ex.responded()) {
        ex.abandon();
      } else {
        ex.close_after();
        ex.respond({500, "application/json", error_json(500, st.error().message()), {}, st.error().message()});
      }
      if (ex.record().error.empty()) ex.record().error = st.error().message();
    }
    if (!ex.responded())
      ex.respond({500, "application/json", error_json(500, "the handler sent no response"), {}, "the handler sent no response"});
    ex.end_stream();
    ex.record().duration_ms = ms_since(ex.record().start);
    if (options_.on_exchange) options_.on_exchange(ex.record());
    if (!ex.keep_alive()) {
      if (!ex.client_gone()) linger_close(fd);
      break;
    }
  }
  std::lock_guard lock(mutex_);
  ::close(fd);
  c.fd = -1;
  --active_;
  c.done = true;
}

void HttpServer::reap(bool all) {
  std::list<std::unique_ptr<Connection>> finished;
  {
    std::lock_guard lock(mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (all || (*it)->done) {
        finished.push_back(std::move(*it));
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) c->thread.join();
}

void HttpServer::stop() {
  if (listen_fd_ < 0 || stopping_.exchange(true)) return;
  if (wake_fds_[1] >= 0) {
    const char b = 1;
    (void)!::write(wake_fds_[1], &b, 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  {
    std::lock_guard lock(mutex_);
    for (auto& c : connections_)
      if (c->fd >= 0) ::shutdown(c->fd, SHUT_RDWR);
  }
  reap(true);
  for (int& fd : wake_fds_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

}  // namespace limarp::server
