// The router's shared checks, driven through a socket pair: the Host check against DNS
// rebinding, origins and CORS preflight, the API key, 404 / 405, and routes that can never be
// mapped to files.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/router.h"

namespace limarp::server {
namespace {

struct Answer {
  int status = 0;
  std::string raw;
};

// Runs one request through the router and returns what it wrote.
Answer route(const Router& router, HttpRequest req) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  {
    HttpExchange ex(fds[0], req, 1000);
    router.handle(req, ex);
  }
  ::shutdown(fds[0], SHUT_WR);
  Answer a;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[1], buf, sizeof buf)) > 0) a.raw.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  ::close(fds[1]);
  if (a.raw.size() > 12) a.status = std::atoi(a.raw.substr(9, 3).c_str());
  return a;
}

HttpRequest request(std::string method, std::string path, std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = r.target = std::move(path);
  r.headers = {{"host", "127.0.0.1:5001"}};
  for (auto& h : headers) r.headers.push_back(std::move(h));
  return r;
}

Router make_router(RouterOptions o) {
  Router r(std::move(o));
  r.add("GET", "/api/v1/model", [](const HttpRequest&, HttpExchange& ex) { ex.respond({200, "application/json", "{}", {}, {}}); });
  r.add("GET", "/", [](const HttpRequest&, HttpExchange& ex) { ex.respond({200, "text/html", "page", {}, {}}); },
        RouteAccess::kPublic, RoutePhase::kAnyPhase);
  r.add("GET", "/api/extra/version", [](const HttpRequest&, HttpExchange& ex) { ex.respond({200, "application/json", "{}", {}, {}}); },
        RouteAccess::kPublic);
  r.add_prefix("POST", "/slots/", [](const HttpRequest& req, HttpExchange& ex) {
    ex.respond({200, "text/plain", req.path.substr(7), {}, {}});
  });
  return r;
}

TEST(Router, HostMustBeALoopbackNameWhenBoundToLoopback) {
  const Router r = make_router({});
  EXPECT_EQ(route(r, request("GET", "/api/v1/model")).status, 200);
  for (const char* host : {"localhost:5001", "[::1]:5001", "LOCALHOST"}) {
    HttpRequest req = request("GET", "/api/v1/model");
    req.headers[0].second = host;
    EXPECT_EQ(route(r, req).status, 200) << host;
  }
  for (const char* host : {"evil.example:5001", "127.0.0.1.evil.example", "localhost.evil:80"}) {
    HttpRequest req = request("GET", "/api/v1/model");
    req.headers[0].second = host;
    EXPECT_EQ(route(r, req).status, 403) << host;
  }
  RouterOptions open;
  open.loopback_only_hosts = false;
  HttpRequest req = request("GET", "/api/v1/model");
  req.headers[0].second = "my-box.lan:5001";
  EXPECT_EQ(route(make_router(open), req).status, 200);
}

TEST(Router, OtherOriginsNeedCors) {
  const Router strict = make_router({});
  EXPECT_EQ(route(strict, request("GET", "/api/v1/model", {{"origin", "http://evil.example"}})).status, 403);
  // The server's own page is same-origin.
  const Answer same = route(strict, request("GET", "/api/v1/model", {{"origin", "http://127.0.0.1:5001"}}));
  EXPECT_EQ(same.status, 200);
  RouterOptions o;
  o.cors_origins = {"http://st.example:8000"};
  const Router cors = make_router(o);
  const Answer pre = route(cors, request("OPTIONS", "/api/v1/model",
                                        {{"origin", "http://st.example:8000"}, {"access-control-request-method", "POST"}}));
  EXPECT_EQ(pre.status, 204);
  EXPECT_NE(pre.raw.find("Access-Control-Allow-Origin: http://st.example:8000"), std::string::npos) << pre.raw;
  EXPECT_NE(pre.raw.find("Access-Control-Allow-Headers: Authorization, Content-Type"), std::string::npos);
  EXPECT_EQ(route(cors, request("OPTIONS", "/api/v1/model", {{"origin", "http://other.example"}})).status, 403);
  o.cors_origins = {"*"};
  EXPECT_EQ(route(make_router(o), request("GET", "/api/v1/model", {{"origin", "http://any.example"}})).status, 200);
}

TEST(Router, ApiKeyGuardsEveryApiRouteButNotThePage) {
  RouterOptions o;
  o.api_key = "s3cret";
  const Router r = make_router(o);
  EXPECT_EQ(route(r, request("GET", "/api/v1/model")).status, 401);
  EXPECT_EQ(route(r, request("GET", "/api/v1/model", {{"authorization", "Bearer wrong"}})).status, 401);
  EXPECT_EQ(route(r, request("GET", "/api/v1/model", {{"authorization", "Bearer s3cre"}})).status, 401);
  EXPECT_EQ(route(r, request("GET", "/api/v1/model", {{"authorization", "s3cret"}})).status, 401);
  EXPECT_EQ(route(r, request("GET", "/api/v1/model", {{"authorization", "Bearer s3cret"}})).status, 200);
  EXPECT_EQ(route(r, request("GET", "/api/v1/model", {{"authorization", "bearer s3cret"}})).status, 200);
  EXPECT_EQ(route(r, request("GET", "/")).status, 200);
}

TEST(Router, UnknownPathsAndMethodsAreJsonErrorsNeverFiles) {
  const Router r = make_router({});
  for (const char* path : {"/nope", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/v1/model/../../x", "//etc/passwd"}) {
    const Answer a = route(r, request("GET", path));
    EXPECT_EQ(a.status, 404) << path;
    EXPECT_NE(a.raw.find("\"code\":404"), std::string::npos) << path;
  }
  const Answer a = route(r, request("POST", "/api/v1/model"));
  EXPECT_EQ(a.status, 405);
  EXPECT_NE(a.raw.find("Allow: GET"), std::string::npos);
}

TEST(Router, RoutesAnswer503UntilReady) {
  Router r = make_router({});
  bool ready = false;
  r.set_ready_check([&] { return ready; });
  const Answer loading = route(r, request("GET", "/api/v1/model"));
  EXPECT_EQ(loading.status, 503);
  EXPECT_NE(loading.raw.find("Loading model"), std::string::npos);
  EXPECT_EQ(route(r, request("GET", "/")).status, 200);
  // A public route that needs the model must wait for it too (it reads the model's name).
  EXPECT_EQ(route(r, request("GET", "/api/extra/version")).status, 503);
  ready = true;
  EXPECT_EQ(route(r, request("GET", "/api/v1/model")).status, 200);
}

TEST(Router, PublicRoutesNeedNoKey) {
  RouterOptions o;
  o.api_key = "s3cret";
  const Router r = make_router(o);
  EXPECT_EQ(route(r, request("GET", "/api/extra/version")).status, 200);
  EXPECT_EQ(route(r, request("GET", "/api/v1/model")).status, 401);
  EXPECT_EQ(route(r, request("POST", "/slots/0")).status, 401);
}

TEST(Router, PrefixRoutesAnswerLongerPathsOnly) {
  const Router r = make_router({});
  const Answer a = route(r, request("POST", "/slots/3"));
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.raw.find("\r\n\r\n3"), std::string::npos) << a.raw;
  EXPECT_EQ(route(r, request("POST", "/slots/")).status, 404);
  EXPECT_EQ(route(r, request("GET", "/slots/3")).status, 405);
  EXPECT_EQ(route(r, request("POST", "/slotsx/3")).status, 404);
}

}  // namespace
}  // namespace limarp::server
