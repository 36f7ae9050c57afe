// `limarp serve` as a library: the HTTP server, the router with its security checks, every
// API's routes, the web page, and the scheduler, put together.
//
//   LimarpServer server(options);
//   LIMARP_TRY(server.listen());           // answers at once: /health says 503 "loading"
//   ... load the model and adapters ...
//   server.attach(model, tokenizer, pool, std::move(adapters), "my-model");   // now 200
//   ...
//   server.drain(30s);                      // on SIGTERM: /health says 503 "draining"
//   server.stop();
//
// Listening before the model is loaded lets clients and supervisors see "loading" instead of
// "connection refused" for the minutes a 7B model takes to map and check.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "server/access_log.h"
#include "server/http_server.h"
#include "server/lora_registry.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/scheduler.h"
#include "server/server_context.h"

namespace limarp::server {

struct ServerOptions {
  HttpServerOptions http;
  RouterOptions router;
  SchedulerOptions scheduler;
  ServeDefaults defaults;
  JsonLimits json{size_t{8} << 20, 32};
  AccessLogFormat access_log = AccessLogFormat::kText;
  bool log_prompts = false;  // prompt text in the access log
  bool metrics = false;      // GET /metrics
  std::string slot_save_path;  // the folder slot save/restore files live in; empty: refused
};

// Where the server is in its life, as /health reports it.
enum class ServerPhase { kLoading, kOk, kDraining };

class LimarpServer {
 public:
  explicit LimarpServer(ServerOptions options);
  ~LimarpServer();

  Status listen();
  int port() const { return http_ ? http_->port() : 0; }
  // Starts serving the model: the scheduler starts and every route answers. `drafts`, when set,
  // makes every slot decode speculatively (it outlives the server).
  void attach(const LlamaModel& model, const Tokenizer& tokenizer, ThreadPool& pool,
              std::unique_ptr<LoraRegistry> loras, std::string model_name,
              const DraftSource* drafts = nullptr, Backend* backend = nullptr);
  // Draining (SIGTERM): /health says "draining" (503) so balancers route elsewhere, new
  // generations get 503, and running ones finish for up to `timeout`; those still running then
  // end as if their time limit had passed. Returns once nothing runs (or a last grace passed).
  void drain(std::chrono::milliseconds timeout);
  // Ends running generations and closes every connection.
  void stop();
  ServerPhase phase() const { return phase_.load(); }

  const Scheduler* scheduler() const { return scheduler_.get(); }

 private:
  ServerOptions options_;
  ServerContext ctx_;
  std::unique_ptr<LoraRegistry> loras_;
  std::unique_ptr<Scheduler> scheduler_;
  void add_lifecycle_routes();
  void observe(const ExchangeRecord& record);
  LiveState live_state() const;

  std::atomic<ServerPhase> phase_{ServerPhase::kLoading};
  Metrics metrics_;
  Router router_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace limarp::server
