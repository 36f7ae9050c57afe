#include "server/limarp_server.h"

#include <chrono>
#include <thread>

#include "base/log.h"
#include "server/api_response.h"
#include "server/kobold_api.h"
#include "server/llamacpp_api.h"
#include "server/native_api.h"
#include "server/openai_api.h"
#include "server/slot_api.h"
#include "server/tabby_api.h"
#include "server/web_assets.h"

namespace limarp::server {

LimarpServer::LimarpServer(ServerOptions options) : options_(std::move(options)), router_(options_.router) {
  ctx_.defaults = options_.defaults;
  ctx_.json_limits = options_.json;
  ctx_.log_prompts = options_.log_prompts;
  ctx_.slot_save_path = options_.slot_save_path;
  // Routes are registered before the server listens (the router is read-only afterwards);
  // until attach() the API routes answer 503 "Loading model", as llama.cpp's server does.
  router_.set_ready_check([this] { return phase_.load(std::memory_order_acquire) != ServerPhase::kLoading; });
  add_lifecycle_routes();
  add_kobold_routes(router_, ctx_);
  add_openai_routes(router_, ctx_);
  add_llamacpp_routes(router_, ctx_);
  add_native_routes(router_, ctx_);
  add_tabby_routes(router_, ctx_);
  add_slot_routes(router_, ctx_);
  for (const WebAsset& a : web_assets()) {
    HttpHandler serve = [a](const HttpRequest&, HttpExchange& ex) {
      ex.respond({200, std::string(a.content_type), std::string(a.body), {{"Cache-Control", "no-cache"}}, {}});
    };
    router_.add("GET", std::string(a.path), serve, RouteAccess::kPublic, RoutePhase::kAnyPhase);
    if (a.path == "/index.html") router_.add("GET", "/", serve, RouteAccess::kPublic, RoutePhase::kAnyPhase);
  }
}

LimarpServer::~LimarpServer() { stop(); }

Status LimarpServer::listen() {
  HttpServerOptions http = options_.http;
  http.limits.max_body_bytes = options_.json.max_bytes;
  http.busy_response = busy_response();
  http.on_exchange = [this](const ExchangeRecord& r) { observe(r); };
  http_ = std::make_unique<HttpServer>(http, [this](const HttpRequest& req, HttpExchange& ex) { router_.handle(req, ex); });
  return http_->start();
}

void LimarpServer::attach(const LlamaModel& model, const Tokenizer& tokenizer, ThreadPool& pool,
                          std::unique_ptr<LoraRegistry> loras, std::string model_name, const DraftSource* drafts,
                          Backend* backend) {
  loras_ = std::move(loras);
  if (!loras_) loras_ = std::make_unique<LoraRegistry>();
  SchedulerOptions scheduler = options_.scheduler;
  if (drafts && drafts->enabled()) scheduler.drafts = drafts;
  if (backend) scheduler.backend = backend;
  scheduler_ = std::make_unique<Scheduler>(model, tokenizer, pool, loras_->adapters(), scheduler);
  ctx_.model_name = std::move(model_name);
  ctx_.model = &model;
  ctx_.tokenizer = &tokenizer;
  ctx_.scheduler = scheduler_.get();
  ctx_.loras = loras_.get();
  ctx_.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  scheduler_->start();
  phase_.store(ServerPhase::kOk, std::memory_order_release);
}

void LimarpServer::add_lifecycle_routes() {
  // /health answers in every phase (503 but for "ok"), so balancers and supervisors can tell
  // a replica still loading or draining from a dead one.
  router_.add(
      "GET", "/health",
      [this](const HttpRequest&, HttpExchange& ex) {
        switch (phase_.load(std::memory_order_acquire)) {
          case ServerPhase::kLoading: return ex.respond(json_response({{"status", "loading"}}, 503));
          case ServerPhase::kOk: return ex.respond(json_response({{"status", "ok"}}));
          case ServerPhase::kDraining: return ex.respond(json_response({{"status", "draining"}}, 503));
        }
      },
      RouteAccess::kPublic, RoutePhase::kAnyPhase);  // open, as llama.cpp's: supervisors probe it without a key
  router_.add(
      "GET", "/metrics",
      [this](const HttpRequest&, HttpExchange& ex) {
        if (!options_.metrics)
          return ex.respond(error_response({404, "metrics are off: start the server with --metrics"}));
        ex.respond({200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render(live_state()), {}, {}});
      },
      RouteAccess::kKeyRequired, RoutePhase::kAnyPhase);
}

void LimarpServer::observe(const ExchangeRecord& r) {
  metrics_.observe(r);
  if (options_.access_log != AccessLogFormat::kOff) log::info("{}", access_log_line(r, options_.access_log));
}

LiveState LimarpServer::live_state() const {
  LiveState live;
  const ServerPhase phase = phase_.load(std::memory_order_acquire);
  live.phase = phase == ServerPhase::kLoading ? "loading" : phase == ServerPhase::kOk ? "ok" : "draining";
  if (!scheduler_) return live;
  const SchedulerStats stats = scheduler_->stats();
  live.queued = stats.queued;
  live.jobs_refused = stats.jobs_refused;
  live.prompt_tokens_evaluated = stats.prompt_tokens_evaluated;
  live.prompt_tokens_reused = stats.prompt_tokens_reused;
  live.draft_tokens = stats.draft_tokens;
  live.draft_tokens_accepted = stats.draft_tokens_accepted;
  for (const SlotInfo& s : scheduler_->slots()) {
    ++live.slots_total;
    if (s.state != "idle") ++live.slots_busy;
    live.kv_tokens += s.cached_tokens;
    live.kv_capacity_tokens += scheduler_->context();
  }
  return live;
}

void LimarpServer::drain(std::chrono::milliseconds timeout) {
  if (!scheduler_) return;
  phase_.store(ServerPhase::kDraining, std::memory_order_release);
  scheduler_->close_intake();
  const auto wait_idle = [this](std::chrono::steady_clock::time_point until) {
    // Idle means no job and no handler still writing a job's last bytes.
    while ((scheduler_->pending() > 0 || (http_ && http_->handlers_running() > 0)) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  };
  const auto start = std::chrono::steady_clock::now();
  log::info("draining: {} request(s) running or queued; waiting up to {:.0f} s", scheduler_->pending(),
            std::chrono::duration<double>(timeout).count());
  wait_idle(start + timeout);
  if (scheduler_->pending() > 0) {
    log::info("draining: {} request(s) still running after {:.0f} s; ending them", scheduler_->pending(),
              std::chrono::duration<double>(timeout).count());
    scheduler_->cut_short();
    wait_idle(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  }
}

void LimarpServer::stop() {
  if (scheduler_) scheduler_->stop();
  if (http_) http_->stop();
}

}  // namespace limarp::server
