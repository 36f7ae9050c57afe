// `limarp serve` as a library: the HTTP server, the router with its security checks, every
// API's routes, the web page, and the scheduler, put together.
//
//   LimarpServer server(options);
//   LIMARP_TRY(server.listen());           // answers at once: /health says 503 "Loading model"
//   ... load the model and adapters ...
//   server.attach(model, tokenizer, pool, std::move(adapters), "my-model");   // now 200
//   ...
//   server.stop();
//
// Listening before the model is loaded lets clients and supervisors see "loading" instead of
// "connection refused" for the minutes a 7B model takes to map and check.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "server/http_server.h"
#include "server/lora_registry.h"
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
};

class LimarpServer {
 public:
  explicit LimarpServer(ServerOptions options);
  ~LimarpServer();

  Status listen();
  int port() const { return http_ ? http_->port() : 0; }
  // Starts serving the model: the scheduler starts and every route answers.
  void attach(const LlamaModel& model, const Tokenizer& tokenizer, ThreadPool& pool,
              std::unique_ptr<LoraRegistry> loras, std::string model_name);
  // Ends running generations and closes every connection.
  void stop();

  const Scheduler* scheduler() const { return scheduler_.get(); }

 private:
  ServerOptions options_;
  ServerContext ctx_;
  std::unique_ptr<LoraRegistry> loras_;
  std::unique_ptr<Scheduler> scheduler_;
  std::atomic<bool> ready_{false};
  Router router_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace limarp::server
