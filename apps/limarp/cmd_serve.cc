// `limarp serve`: the HTTP backend SillyTavern (and other clients) connect to — KoboldCpp,
// OpenAI-compatible, llama.cpp-style and limarp's own endpoints, a web chat page at /, and N
// parallel slots whose decode steps are batched. See docs/server.md.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "base/log.h"
#include "base/thread_pool.h"
#include "commands.h"
#include "default_model.h"
#include "infer/adapter_specs.h"
#include "model_options.h"
#include "speculative_options.h"
#include "sampler_options.h"
#include "server/limarp_server.h"

namespace limarp::cli {
namespace {

struct ServeOptions {
  ModelCliOptions model;
  std::string alias, host = "127.0.0.1", api_key;
  std::vector<std::string> cors;
  int port = 5001, slots = 1, queue = 16, max_connections = 64, json_depth = 32;
  int64_t ctx = 0, max_tokens = 256, max_tokens_limit = 2048, prefill_chunk = 256;
  size_t max_body = size_t{8} << 20;
  double timeout_s = 300, header_timeout_s = 10, idle_timeout_s = 60;
  int64_t body_min_rate = 2048;
  double drain_timeout_s = 30;
  std::string log_format = "text";
  bool log_prompts = false, metrics = false;
  std::string slot_save_path;
  bool no_shift = false;
  SamplerCliOptions sampler;
  SpeculativeCliOptions speculative;
};

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// SIGINT / SIGTERM are taken by a thread of their own: before the model is loaded they end the
// process at once; afterwards the first wakes main, which drains the server and shuts it down
// cleanly, and a second one ends the process at once (an operator who does not want to wait).
class StopSignal {
 public:
  StopSignal() : state_(std::make_shared<State>()) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any other thread exists
    // Detached: it lives as long as the process, sharing only the state it owns a part of.
    std::thread([state = state_, set] {
      for (;;) {
        int sig = 0;
        sigwait(&set, &sig);
        std::lock_guard lock(state->mutex);
        if (!state->ready || state->stop) _exit(128 + sig);
        state->stop = true;
        state->cv.notify_all();
      }
    }).detach();
  }
  void ready() {
    std::lock_guard lock(state_->mutex);
    state_->ready = true;
  }
  void wait() {
    std::unique_lock lock(state_->mutex);
    state_->cv.wait(lock, [&] { return state_->stop; });
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    bool ready = false, stop = false;
  };
  std::shared_ptr<State> state_;
};

Status run_serve(const ServeOptions& o) {
  if (o.api_key.empty() && !is_loopback(o.host))
    log::warn("listening on {} without --api-key: anyone who can reach this address can use the model", o.host);
  server::ServerOptions so;
  so.http.host = o.host;
  so.http.port = o.port;
  so.http.max_connections = o.max_connections;
  so.http.header_timeout_ms = static_cast<int>(o.header_timeout_s * 1000);
  so.http.body_min_rate = o.body_min_rate;
  so.http.idle_timeout_ms = static_cast<int>(o.idle_timeout_s * 1000);
  so.access_log = o.log_format == "json" ? server::AccessLogFormat::kJson
                  : o.log_format == "off" ? server::AccessLogFormat::kOff
                                          : server::AccessLogFormat::kText;
  so.log_prompts = o.log_prompts;
  so.metrics = o.metrics;
  if (!o.slot_save_path.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(o.slot_save_path, ec))
      return make_error("--slot-save-path {}: not a folder (create it first)", o.slot_save_path);
    so.slot_save_path = o.slot_save_path;
  }
  so.router.api_key = o.api_key;
  so.router.cors_origins = o.cors;
  so.router.loopback_only_hosts = is_loopback(o.host);
  so.router.extra_hosts = {o.host};
  so.scheduler.slots = o.slots;
  so.scheduler.context = o.ctx;
  so.scheduler.kv_type = o.model.kv_type;
  so.scheduler.backend_layers = o.model.gpu_layers;
  so.scheduler.queue_capacity = o.queue;
  so.scheduler.prefill_chunk = o.prefill_chunk;
  so.scheduler.shift = o.no_shift ? ShiftPolicy::kNever : ShiftPolicy::kAllowed;
  LIMARP_ASSIGN_OR_RETURN(so.defaults.sampler, o.sampler.settings());
  so.defaults.max_tokens = o.max_tokens;
  so.defaults.max_tokens_limit = o.max_tokens_limit;
  so.defaults.time_limit = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  so.json.max_bytes = o.max_body;
  so.json.max_depth = o.json_depth;

  StopSignal signal;
  // Declared before the server: its slots' KV caches live on the device and must go first.
  std::unique_ptr<Backend> device;
  server::LimarpServer server(so);
  LIMARP_TRY(server.listen());
  log::info("listening on http://{}:{}/ (loading the model)", o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host,
            server.port());

  LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle, load_inference_model(o.model, o.ctx));
  LIMARP_ASSIGN_OR_RETURN(device, open_device(o.model, bundle.model, o.ctx, o.slots));
  LIMARP_ASSIGN_OR_RETURN(std::vector<LoadedAdapter> adapters, load_adapter_list(o.model.loras, bundle.model));
  auto registry = std::make_unique<server::LoraRegistry>();
  for (auto& a : adapters) registry->add(a.spec.path, a.adapter, a.spec.scale);
  ThreadPool pool(o.model.threads);
  LIMARP_ASSIGN_OR_RETURN(const DraftSource drafts, load_draft_source(o.speculative, o.model, *bundle.tokenizer, pool));
  LIMARP_ASSIGN_OR_RETURN(const std::string model_path, model_or_default(o.model.model));
  const std::string name = o.alias.empty() ? std::filesystem::path(model_path).filename().replace_extension().string() : o.alias;
  const LlamaConfig& c = bundle.model.config();
  const int64_t ctx = o.ctx > 0 ? o.ctx : c.usable_context();
  const double kv_mib = static_cast<double>(KvCache::bytes_for(c.n_layers, c.kv_dim(), ctx, o.model.kv_type)) / (1 << 20);
  server.attach(bundle.model, *bundle.tokenizer, pool, std::move(registry), name, &drafts, device.get());
  signal.ready();
  log::info("serving {} on port {}: {} slot(s) x {} tokens of context ({:.0f} MiB of KV cache each), {} thread(s)", name,
            server.port(), o.slots, ctx, kv_mib, o.model.threads);
  signal.wait();
  server.drain(std::chrono::milliseconds(static_cast<int64_t>(o.drain_timeout_s * 1000)));
  log::info("shutting down");
  server.stop();
  return {};
}

}  // namespace

void register_serve(CLI::App& root, RunState& state) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = root.add_subcommand("serve", "Serve the model over HTTP: KoboldCpp, OpenAI and llama.cpp APIs, a web chat page");
  add_model_options(*cmd, o->model, WhenNoModel::kDemoModel);
  add_speculative_options(*cmd, o->speculative);
  cmd->get_option("--lora")->description(cmd->get_option("--lora")->get_description() +
                                         " (scales change at run time via /lora-adapters)");
  cmd->add_option("--alias", o->alias, "Model name the APIs report (default: the file name)");
  cmd->add_option("--host", o->host, "Address to listen on; a non-loopback address exposes the server")->capture_default_str();
  cmd->add_option("--port", o->port, "Port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--slots", o->slots, "Parallel generation slots (each has its own KV cache)")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("-c,--ctx", o->ctx, "Context per slot (default: the model's, times its RoPE scaling)");
  cmd->add_option("--api-key", o->api_key,
                  "Require Authorization: Bearer KEY on every API route but KoboldCpp's model/version probes, "
                  "GET /v1/models and /health, as KoboldCpp's --password does (also $LIMARP_API_KEY)")
      ->envname("LIMARP_API_KEY");
  cmd->add_option("--cors", o->cors, "Allow browser requests from this origin (\"*\": any); repeatable");
  cmd->add_option("--queue", o->queue, "Requests that may wait for a slot; more are answered 503")->capture_default_str()->check(CLI::Range(0, 100000));
  cmd->add_option("--max-connections", o->max_connections, "Open connections at most; more are answered 503")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--max-body", o->max_body, "Largest request body in bytes")->capture_default_str();
  cmd->add_option("--header-timeout", o->header_timeout_s,
                  "Seconds a request's line and headers may take in all (from the connection's start, or from "
                  "the first byte of a later request); later: 408 and closed")
      ->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--body-min-rate", o->body_min_rate,
                  "Bytes/s a request body must average after a grace of --header-timeout seconds (0: the body "
                  "must arrive within the grace); slower: 408 and closed")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--idle-timeout", o->idle_timeout_s, "Seconds a keep-alive connection may wait for its next request")
      ->capture_default_str()->check(CLI::Range(0.1, 86400.0));
  cmd->add_option("--json-depth", o->json_depth, "Deepest JSON nesting accepted")->capture_default_str()->check(CLI::Range(2, 1000));
  cmd->add_option("--max-tokens", o->max_tokens, "Reply tokens when a request names no limit")->capture_default_str();
  cmd->add_option("--max-tokens-limit", o->max_tokens_limit, "Larger token limits are clamped to this")->capture_default_str();
  cmd->add_option("--timeout", o->timeout_s, "Seconds a request may generate (0: no limit)")->capture_default_str();
  cmd->add_option("--prefill-chunk", o->prefill_chunk, "Prompt tokens a slot evaluates per step (interleaved with the others' decoding)")->capture_default_str();
  cmd->add_flag("--no-shift", o->no_shift, "Re-evaluate instead of shifting dropped turns out of the KV cache");
  cmd->add_option("--log-format", o->log_format,
                  "Access log on stderr, one line per request: text, json, or off")
      ->capture_default_str()->check(CLI::IsMember({"text", "json", "off"}));
  cmd->add_flag("--log-prompts", o->log_prompts, "Put each generation's prompt text in the access log (off: prompts are private)");
  cmd->add_flag("--metrics", o->metrics, "Serve Prometheus metrics at GET /metrics");
  cmd->add_option("--slot-save-path", o->slot_save_path,
                  "Folder for POST /slots/{id}?action=save|restore files (off: those actions are refused)");
  cmd->add_option("--drain-timeout", o->drain_timeout_s,
                  "On SIGTERM/SIGINT: seconds running generations may go on (no new ones are taken, /health says "
                  "draining) before they are ended; a second signal exits at once")
      ->capture_default_str()->check(CLI::Range(0.0, 86400.0));
  cmd->footer(R"(Routes (all JSON; streams are Server-Sent Events):
  KoboldCpp  GET /api/v1/model /api/v1/info/version /api/extra/version
             GET /api/v1/config/max_context_length /api/extra/true_max_context_length
             POST /api/v1/generate /api/extra/generate/stream /api/extra/abort /api/extra/tokencount
  OpenAI     GET /v1/models /v1/internal/model/info
             POST /v1/completions /v1/chat/completions /v1/internal/encode
  TabbyAPI   GET /v1/model/list /v1/model   POST /v1/token/encode /v1/token/decode
  llama.cpp  GET /health /props /slots /lora-adapters /metrics
             POST /completion /tokenize /detokenize /lora-adapters /slots/{id}?action=erase|save|restore
  limarp     POST /api/limarp/chat /api/limarp/prompt /api/limarp/card   GET / (chat page)
The sampling options above are defaults; every request may override them. Requests may also
constrain the reply (grammar, json_schema, response_format: docs/grammar.md) and ask for token
probabilities (n_probs, logprobs).
SillyTavern: API "KoboldAI Classic", URL http://127.0.0.1:5001/api; or Text Completion > KoboldCpp
(or llama.cpp, or Default), URL http://127.0.0.1:5001.
Example: limarp serve -m llama2-7b.q4_k_m.gguf --lora limarp-adapter:1.0 --slots 4 --ctx 4096
See docs/server.md.)");
  o->sampler.add_to(*cmd);
  cmd->callback([o, &state] { state.exit_code = report(run_serve(*o)); });
}

}  // namespace limarp::cli
