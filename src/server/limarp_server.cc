#include "server/limarp_server.h"

#include <chrono>

#include "base/log.h"
#include "server/api_response.h"
#include "server/kobold_api.h"
#include "server/llamacpp_api.h"
#include "server/native_api.h"
#include "server/openai_api.h"
#include "server/web_assets.h"

namespace limarp::server {

LimarpServer::LimarpServer(ServerOptions options) : options_(std::move(options)), router_(options_.router) {
  ctx_.defaults = options_.defaults;
  ctx_.json_limits = options_.json;
  // Routes are registered before the server listens (the router is read-only afterwards);
  // until attach() the API routes answer 503 "Loading model", as llama.cpp's server does.
  router_.set_ready_check([this] { return ready_.load(std::memory_order_acquire); });
  add_kobold_routes(router_, ctx_);
  add_openai_routes(router_, ctx_);
  add_llamacpp_routes(router_, ctx_);
  add_native_routes(router_, ctx_);
  for (const WebAsset& a : web_assets()) {
    HttpHandler serve = [a](const HttpRequest&, HttpExchange& ex) {
      ex.respond({200, std::string(a.content_type), std::string(a.body), {{"Cache-Control", "no-cache"}}});
    };
    router_.add("GET", std::string(a.path), serve, RouteAccess::kPublic);
    if (a.path == "/index.html") router_.add("GET", "/", serve, RouteAccess::kPublic);
  }
}

LimarpServer::~LimarpServer() { stop(); }

Status LimarpServer::listen() {
  HttpServerOptions http = options_.http;
  http.limits.max_body_bytes = options_.json.max_bytes;
  http.busy_response = busy_response();
  http_ = std::make_unique<HttpServer>(http, [this](const HttpRequest& req, HttpExchange& ex) { router_.handle(req, ex); });
  return http_->start();
}

void LimarpServer::attach(const LlamaModel& model, const Tokenizer& tokenizer, ThreadPool& pool,
                          std::unique_ptr<LoraRegistry> loras, std::string model_name) {
  loras_ = std::move(loras);
  if (!loras_) loras_ = std::make_unique<LoraRegistry>();
  scheduler_ = std::make_unique<Scheduler>(model, tokenizer, pool, loras_->adapters(), options_.scheduler);
  ctx_.model_name = std::move(model_name);
  ctx_.model = &model;
  ctx_.tokenizer = &tokenizer;
  ctx_.scheduler = scheduler_.get();
  ctx_.loras = loras_.get();
  ctx_.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  scheduler_->start();
  ready_.store(true, std::memory_order_release);
}

void LimarpServer::stop() {
  ready_.store(false);
  if (scheduler_) scheduler_->stop();
  if (http_) http_->stop();
}

}  // namespace limarp::server
