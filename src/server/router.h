// Routes requests to handlers by method and exact path, after the checks every route shares:
//   - Host: when the server listens on a loopback address, the Host header must name a
//     loopback host (localhost, 127.0.0.1, [::1]); otherwise 403. A web page elsewhere can
//     make the browser send requests to 127.0.0.1 (DNS rebinding); this is what stops it.
//   - Origin: a browser request from another origin is refused (403) unless that origin is
//     allowed by --cors; allowed origins get Access-Control-Allow-* headers and preflight
//     (OPTIONS) answers. Same-origin requests (the built-in page) always pass.
//   - API key: with --api-key, every route but the static page assets needs
//     "Authorization: Bearer KEY" (compared in constant time); otherwise 401.
// Unknown paths get 404, a known path with another method 405, both as JSON errors. Paths are
// matched exactly, never mapped to files; a prefix route ("/slots/" for "/slots/{id}") answers
// the paths that start with its prefix and have no exact route, its handler reading the rest.
//
// With --api-key, routes registered kPublic answer without the key (KoboldCpp's model and
// version probes, which KoboldAI Classic sends without one); every other route needs it.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "server/http_server.h"

namespace limarp::server {

struct RouterOptions {
  std::string api_key;                    // empty: no key required
  std::vector<std::string> cors_origins;  // "*" allows every origin
  bool loopback_only_hosts = true;        // enforce the Host check (the server binds loopback)
  std::vector<std::string> extra_hosts;   // further Host names accepted (the --host given)
};

enum class RouteAccess { kKeyRequired, kPublic };
// Whether a route answers before the model is loaded (health checks must, to say "loading").
enum class RoutePhase { kReadyOnly, kAnyPhase };

class Router {
 public:
  explicit Router(RouterOptions options) : options_(std::move(options)) {}

  void add(std::string method, std::string path, HttpHandler handler, RouteAccess access = RouteAccess::kKeyRequired,
           RoutePhase phase = RoutePhase::kReadyOnly);
  void add_prefix(std::string method, std::string prefix, HttpHandler handler,
                  RouteAccess access = RouteAccess::kKeyRequired);
  // While this returns false, routes that need the key answer 503 "Loading model" (the page
  // assets are still served).
  void set_ready_check(std::function<bool()> ready) { ready_ = std::move(ready); }
  // Dispatches one request (HttpServer's handler).
  void handle(const HttpRequest& request, HttpExchange& ex) const;

 private:
  struct Route {
    HttpHandler handler;
    RouteAccess access;
    RoutePhase phase;
  };
  bool host_allowed(const HttpRequest& request) const;
  bool origin_allowed(std::string_view origin, const HttpRequest& request) const;
  bool key_ok(const HttpRequest& request) const;
  // The methods served at `path` (exact routes first, then the longest prefix), or null;
  // `name` is what the access log records as the route.
  const std::map<std::string, Route>* find(const std::string& path, std::string* name) const;

  RouterOptions options_;
  std::function<bool()> ready_;
  std::map<std::string, std::map<std::string, Route>> routes_;    // path -> method -> route
  std::map<std::string, std::map<std::string, Route>> prefixes_;  // prefix -> method -> route
};

}  // namespace limarp::server
