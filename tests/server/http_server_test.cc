// The HTTP server over real loopback sockets: keep-alive and pipelining, 100-continue,
// chunked streaming, noticing a client that hung up while the handler still works, the
// connection cap (503 at once), and hostile byte streams answered with 4xx while the server
// keeps serving.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <new>
#include <stdexcept>
#include <thread>

#include "server/http_server.h"
#include "socket_client.h"

namespace limarp::server {
namespace {

using testing::body_of;
using testing::SocketClient;
using testing::status_of;

struct EchoServer {
  explicit EchoServer(HttpServerOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    server = std::make_unique<HttpServer>(o, [this](const HttpRequest& req, HttpExchange& ex) { handle(req, ex); });
    EXPECT_TRUE(server->start().ok());
  }
  ~EchoServer() {
    release = true;
    server->stop();
  }
  void handle(const HttpRequest& req, HttpExchange& ex) {
    if (req.path == "/stream") {
      ex.start_stream(200, "text/event-stream");
      for (int i = 0; i < 3; ++i) ex.write("data: " + std::to_string(i) + "\n\n");
      return;
    }
    if (req.path == "/wait") {
      // Works until the client leaves (or the test releases it): what a generation does.
      waiting = true;
      while (!release && !ex.client_gone()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      noticed_gone = ex.client_gone();
      ex.respond({200, "text/plain", "late", {}, {}});
      done = true;
      return;
    }
    if (req.path == "/throw") throw std::runtime_error("a bug below the handler");
    if (req.path == "/throw-midstream") {
      ex.start_stream(200, "text/event-stream");
      ex.write("data: 0\n\n");
      throw std::bad_alloc();
    }
    ex.respond({200, "text/plain", req.method + " " + req.path + " " + req.body, {}, {}});
  }
  int port() const { return server->port(); }

  std::unique_ptr<HttpServer> server;
  std::atomic<bool> waiting{false}, release{false}, noticed_gone{false}, done{false};
};

TEST(HttpServer, KeepAliveAndPipelining) {
  EchoServer s;
  SocketClient c(s.port());
  ASSERT_TRUE(c.connected());
  c.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string raw = c.read_until("GET /b ");
  EXPECT_NE(raw.find("POST /a hi"), std::string::npos) << raw;
  EXPECT_NE(raw.find("GET /b "), std::string::npos) << raw;
  EXPECT_FALSE(c.closed_by_peer());
}

TEST(HttpServer, AnswersExpectContinueBeforeTheBody) {
  EchoServer s;
  SocketClient c(s.port());
  c.send("POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  EXPECT_NE(c.read_until("100 Continue").find("HTTP/1.1 100 Continue"), std::string::npos);
  c.send("abc");
  EXPECT_NE(c.read_until("POST /c abc").find("POST /c abc"), std::string::npos);
}

TEST(HttpServer, StreamsChunkedAndClosesForHttp10) {
  EchoServer s;
  SocketClient c(s.port());
  c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string raw = c.read_until("0\r\n\r\n");
  EXPECT_NE(raw.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(raw.find("9\r\ndata: 2\n\n\r\n0\r\n\r\n"), std::string::npos) << raw;
  SocketClient old(s.port());
  old.send("GET /stream HTTP/1.0\r\n\r\n");
  const std::string raw10 = old.read_to_close();
  EXPECT_TRUE(old.closed_by_peer());
  EXPECT_NE(raw10.find("Connection: close"), std::string::npos);
  EXPECT_NE(raw10.find("data: 0\n\ndata: 1\n\ndata: 2\n\n"), std::string::npos) << raw10;
}

TEST(HttpServer, HandlerNoticesAClientThatHungUp) {
  EchoServer s;
  {
    SocketClient c(s.port());
    c.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < 200 && !s.waiting; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(s.waiting);
  }  // the client closes its socket
  for (int i = 0; i < 200 && !s.done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(s.done);
  EXPECT_TRUE(s.noticed_gone);
}

TEST(HttpServer, ConnectionsOverTheCapGetTheBusyAnswer) {
  HttpServerOptions o;
  o.max_connections = 2;
  o.busy_response = {503, "application/json", R"({"detail":{"msg":"busy"}})", {}, "busy"};
  EchoServer s(o);
  SocketClient a(s.port()), b(s.port());
  a.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
  b.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  b.read_until("GET /ping");
  for (int i = 0; i < 200 && !s.waiting; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  SocketClient c(s.port());
  c.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string raw = c.read_to_close();
  EXPECT_EQ(status_of(raw), 503) << raw;
  EXPECT_EQ(body_of(raw), R"({"detail":{"msg":"busy"}})");
  s.release = true;
}

// The server still answers a fresh, well-formed request.
void expect_still_serving(const EchoServer& s) {
  SocketClient ok(s.port());
  ok.send("GET /still-alive HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(ok.read_until("still-alive").find("GET /still-alive"), std::string::npos);
}

TEST(HttpServerHostile, BrokenRequestsGetAnErrorAndTheServerGoesOn) {
  HttpServerOptions o;
  o.limits.max_body_bytes = 1000;
  o.limits.max_header_bytes = 2000;
  EchoServer s(o);
  const std::vector<std::pair<std::string, int>> cases = {
      {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n", 25), 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(5000, 'y') + "\r\n\r\n", 431},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + std::string(3000, 'z'), 413},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
      {std::string("GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n", 28), 400},
  };
  for (const auto& [bytes, status] : cases) {
    SocketClient c(s.port());
    c.send(bytes);
    const std::string raw = c.read_to_close(3000);
    EXPECT_EQ(status_of(raw), status) << bytes.substr(0, 40) << " -> " << raw.substr(0, 200);
    EXPECT_TRUE(c.closed_by_peer());
  }
  // A request cut short by the client, then gone: nothing to answer, nothing broken.
  {
    SocketClient c(s.port());
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nonly part");
  }
  expect_still_serving(s);
}

TEST(HttpServerHostile, AnExceptionInAHandlerIsA500AndTheServerGoesOn) {
  EchoServer s;
  {
    SocketClient c(s.port());
    c.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string raw = c.read_to_close(3000);
    EXPECT_EQ(status_of(raw), 500) << raw;
    EXPECT_NE(body_of(raw).find("internal error: a bug below the handler"), std::string::npos) << raw;
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    // Started streams are cut without the final chunk, so the client sees them incomplete.
    SocketClient c(s.port());
    c.send("GET /throw-midstream HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string raw = c.read_to_close(3000);
    EXPECT_EQ(status_of(raw), 200) << raw;
    EXPECT_NE(raw.find("data: 0"), std::string::npos) << raw;
    EXPECT_EQ(raw.find("\r\n0\r\n\r\n"), std::string::npos) << raw;
    EXPECT_TRUE(c.closed_by_peer());
  }
  expect_still_serving(s);
}

TEST(HttpServerHostile, AnInvalidUtf8VersionIsQuotedEscaped) {
  EchoServer s;
  SocketClient c(s.port());
  c.send("GET / HTTP/\xff.\xff\r\nHost: x\r\n\r\n");
  const std::string raw = c.read_to_close(3000);
  EXPECT_EQ(status_of(raw), 505) << raw;
  EXPECT_NE(body_of(raw).find(R"(HTTP/\\xff.\\xff)"), std::string::npos) << raw;
}

// Sends `head`, then one byte every 50 ms (which would restart an idle timeout forever) until
// the server answers or 5 s pass; returns everything it sent back.
std::string drip(SocketClient& c, std::string_view head) {
  c.send(head);
  for (int i = 0; i < 100; ++i) {
    c.send("a");
    if (!c.read_until("HTTP/1.1", 50).empty()) break;
  }
  return c.read_to_close(3000);
}

TEST(HttpServerHostile, DrippedHeadersMeetTheirDeadline) {
  HttpServerOptions o;
  o.header_timeout_ms = 300;
  o.idle_timeout_ms = 60000;
  EchoServer s(o);
  SocketClient c(s.port());
  const auto t0 = std::chrono::steady_clock::now();
  const std::string raw = drip(c, "GET /drip HTTP/1.1\r\nHost: x\r\nX-Drip: ");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(status_of(raw), 408) << raw;
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(HttpServerHostile, ATricklingBodyMeetsItsDeadline) {
  HttpServerOptions o;
  o.header_timeout_ms = 300;
  o.body_min_rate = 1000;
  EchoServer s(o);
  SocketClient c(s.port());
  const std::string raw = drip(c, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n");
  EXPECT_EQ(status_of(raw), 408) << raw;
  EXPECT_NE(raw.find("too slowly"), std::string::npos) << raw;
}

}  // namespace
}  // namespace limarp::server
