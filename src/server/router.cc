#include "server/router.h"

#include <algorithm>

#include "server/api_response.h"

namespace limarp::server {
namespace {

// "localhost:5001" -> "localhost", "[::1]:5001" -> "[::1]".
std::string host_name(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return ascii_lower(host.substr(0, close == std::string_view::npos ? host.size() : close + 1));
  }
  return ascii_lower(host.substr(0, host.find(':')));
}

// Compares without an early exit, so timing does not reveal how much of a key matched.
bool constant_time_equal(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() != b.size() ? 1u : 0u;
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

}  // namespace

void Router::add(std::string method, std::string path, HttpHandler handler, RouteAccess access, RoutePhase phase) {
  routes_[std::move(path)][std::move(method)] = Route{std::move(handler), access, phase};
}

void Router::add_prefix(std::string method, std::string prefix, HttpHandler handler, RouteAccess access) {
  prefixes_[std::move(prefix)][std::move(method)] = Route{std::move(handler), access, RoutePhase::kReadyOnly};
}

const std::map<std::string, Router::Route>* Router::find(const std::string& path, std::string* name) const {
  if (const auto it = routes_.find(path); it != routes_.end()) {
    *name = it->first;
    return &it->second;
  }
  const std::map<std::string, Route>* best = nullptr;
  for (const auto& [prefix, methods] : prefixes_)
    if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 && (!best || prefix.size() + 1 > name->size())) {
      *name = prefix + "*";
      best = &methods;
    }
  return best;
}

bool Router::host_allowed(const HttpRequest& req) const {
  if (!options_.loopback_only_hosts) return true;
  const std::string_view host = req.header("host");
  if (host.empty()) return req.version_minor == 0;  // HTTP/1.0 may omit it
  const std::string name = host_name(host);
  if (name == "localhost" || name == "127.0.0.1" || name == "[::1]") return true;
  return std::any_of(options_.extra_hosts.begin(), options_.extra_hosts.end(), [&](const std::string& h) {
    const std::string want = ascii_lower(h);
    // An IPv6 literal appears in Host in brackets.
    return want == name || (name.size() == want.size() + 2 && name.front() == '[' && name.compare(1, want.size(), want) == 0);
  });
}

bool Router::origin_allowed(std::string_view origin, const HttpRequest& req) const {
  // Same origin: the page this server serves.
  std::string self = "http://";
  self += ascii_lower(req.header("host"));
  if (ascii_lower(origin) == self) return true;
  return std::any_of(options_.cors_origins.begin(), options_.cors_origins.end(),
                     [&](const std::string& o) { return o == "*" || ascii_lower(o) == ascii_lower(origin); });
}

bool Router::key_ok(const HttpRequest& req) const {
  if (options_.api_key.empty()) return true;
  std::string_view auth = req.header("authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (auth.size() < kBearer.size() || ascii_lower(auth.substr(0, kBearer.size())) != kBearer) return false;
  auth.remove_prefix(kBearer.size());
  return constant_time_equal(auth, options_.api_key);
}

void Router::handle(const HttpRequest& req, HttpExchange& ex) const {
  if (!host_allowed(req)) {
    ex.respond(error_response({403, "Host header not allowed: this server answers only to localhost names"}));
    return;
  }
  const std::string_view origin = req.header("origin");
  if (!origin.empty()) {
    if (!origin_allowed(origin, req)) {
      ex.respond(error_response({403, "origin not allowed; start the server with --cors ORIGIN to allow it"}));
      return;
    }
    ex.add_header("Access-Control-Allow-Origin", std::string(origin));
    ex.add_header("Vary", "Origin");
  }
  std::string route_name;
  const std::map<std::string, Route>* methods = find(req.path, &route_name);
  if (methods) ex.record().route = route_name;
  if (req.method == "OPTIONS") {
    // A CORS preflight (the origin was checked above) or a plain capability probe.
    HttpResponse r{204, "", "", {{"Allow", "GET, POST, OPTIONS"}}, {}};
    if (!origin.empty()) {
      r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
      r.headers.emplace_back("Access-Control-Max-Age", "600");
    }
    ex.respond(std::move(r));
    return;
  }
  if (!methods) {
    ex.respond(error_response({404, "no route " + req.path}));
    return;
  }
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  const auto route_it = methods->find(method);
  if (route_it == methods->end()) {
    std::string allowed;
    for (const auto& [m, _] : *methods) {
      if (!allowed.empty()) allowed += ", ";
      allowed += m;
    }
    HttpResponse r = error_response({405, req.method + " is not allowed on " + req.path + " (use " + allowed + ")"});
    r.headers.emplace_back("Allow", allowed);
    ex.respond(std::move(r));
    return;
  }
  if (route_it->second.access == RouteAccess::kKeyRequired && !key_ok(req)) {
    HttpResponse r = error_response({401, "missing or wrong API key: send Authorization: Bearer KEY"});
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    ex.respond(std::move(r));
    return;
  }
  if (route_it->second.phase == RoutePhase::kReadyOnly && ready_ && !ready_()) {
    ex.respond(error_response({503, "Loading model"}));
    return;
  }
  route_it->second.handler(req, ex);
}

}  // namespace limarp::server
