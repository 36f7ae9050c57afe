#include "server/kobold_api.h"

#include "server/job_builder.h"
#include "server/job_runner.h"
#include "server/request_fields.h"
#include "server/token_probs_json.h"

namespace limarp::server {
namespace {

class KoboldFormat final : public ResponseFormat {
 public:
  KoboldFormat(bool trim_stop, bool with_probs, const Tokenizer& tok)
      : trim_stop_(trim_stop), with_probs_(with_probs), tok_(tok) {}
  // KoboldCpp's stream carries no probabilities (it serves them after the fact).
  std::string stream_piece(const StreamPiece& piece) override {
    return sse_event({{"token", piece.text}, {"finish_reason", nullptr}}, "message");
  }
  std::string stream_end(const JobResult& r) override {
    // With trim_stop false KoboldCpp shows the stop string too.
    return sse_event({{"token", trim_stop_ ? "" : r.generation.stop_string}, {"finish_reason", finish_reason(r)}},
                     "message");
  }
  Json body(const JobResult& r) override {
    std::string text = r.generation.text;
    if (!trim_stop_) text += r.generation.stop_string;
    Json result = {{"text", text}, {"finish_reason", finish_reason(r)}};
    if (with_probs_) result["logprobs"] = openai_chat_logprobs_json(r.generation.probs, tok_);
    return {{"results", Json::array({std::move(result)})}};
  }

 private:
  bool trim_stop_;
  bool with_probs_;
  const Tokenizer& tok_;
};

void generate(const ServerContext& ctx, const HttpRequest& req, HttpExchange& ex, Streaming streaming) {
  auto fail = [&](const Error& e) { ex.respond(error_response({400, e.message()})); };
  auto body = parse_body_object(req.body, req.path, ctx.json_limits);
  if (!body.ok()) return fail(body.error());
  auto spec = read_generation_fields(*body, ctx, Dialect::kKobold);
  if (!spec.ok()) return fail(spec.error());
  auto prompt = read_raw_prompt(*body, {"prompt"}, *ctx.tokenizer);
  if (!prompt.ok()) return fail(prompt.error());
  RequestFields f(*body);
  int64_t context = ctx.scheduler->context();
  if (Status s = f.integer({"max_context_length"}, context, 1, int64_t{1} << 30); !s.ok()) return fail(s.error());
  bool trim_stop = true;
  if (Status s = f.boolean({"trim_stop"}, trim_stop); !s.ok()) return fail(s.error());
  spec->request.prompt = std::move(*prompt);
  spec->request.continue_text = true;  // a raw completion: the text goes on exactly
  fit_raw_prompt(spec->request.prompt, spec->request.max_tokens, std::min(context, ctx.scheduler->context()), 0);
  KoboldFormat format(trim_stop, spec->request.probs_top.has_value(), *ctx.tokenizer);
  run_job(ctx, std::move(*spec), streaming, format, ex);
}

}  // namespace

void add_kobold_routes(Router& router, const ServerContext& ctx) {
  const ServerContext* c = &ctx;
  // KoboldCpp's --password guards generation and tokenization only: these probes stay open, so
  // KoboldAI Classic (which never sends a key) can connect and show the model.
  constexpr RouteAccess kOpen = RouteAccess::kPublic;
  router.add("GET", "/api/v1/info/version", [](const HttpRequest&, HttpExchange& ex) {
    ex.respond(json_response({{"result", "1.2.5"}}));
  }, kOpen);
  // A non-numeric "result" makes SillyTavern enable every KoboldCpp feature (streaming, token
  // counting, stop sequences, min_p, ...); KoboldCpp itself relies on that.
  router.add("GET", "/api/extra/version", [](const HttpRequest&, HttpExchange& ex) {
    ex.respond(json_response({{"result", "KoboldCpp"}, {"version", "1.76"}}));
  }, kOpen);
  router.add("GET", "/api/v1/model", [c](const HttpRequest&, HttpExchange& ex) {
    ex.respond(json_response({{"result", "limarp/" + c->model_name}}));
  }, kOpen);
  const auto context = [c](const HttpRequest&, HttpExchange& ex) {
    ex.respond(json_response({{"value", c->scheduler->context()}}));
  };
  router.add("GET", "/api/v1/config/max_context_length", context, kOpen);
  router.add("GET", "/api/extra/true_max_context_length", context, kOpen);
  router.add("GET", "/api/v1/config/max_length", [c](const HttpRequest&, HttpExchange& ex) {
    ex.respond(json_response({{"value", c->defaults.max_tokens}}));
  }, kOpen);
  router.add("POST", "/api/v1/generate", [c](const HttpRequest& req, HttpExchange& ex) {
    generate(*c, req, ex, Streaming::kNo);
  });
  router.add("POST", "/api/extra/generate/stream", [c](const HttpRequest& req, HttpExchange& ex) {
    generate(*c, req, ex, Streaming::kYes);
  });
  router.add("POST", "/api/extra/abort", [c](const HttpRequest& req, HttpExchange& ex) {
    // With a genkey: that request. Without one (older clients): everything running, but only
    // when nothing else waits — KoboldCpp's rule, so one user cannot stop the others' queue.
    std::string genkey;
    if (!req.body.empty()) {
      auto body = parse_body_object(req.body, req.path, c->json_limits);
      if (!body.ok()) return ex.respond(error_response({400, body.error().message()}));
      if (Status s = RequestFields(*body).string({"genkey"}, genkey); !s.ok())
        return ex.respond(error_response({400, s.error().message()}));
    }
    int aborted = 0;
    if (!genkey.empty()) aborted = c->scheduler->cancel_genkey(genkey);
    else if (c->scheduler->stats().queued == 0) aborted = c->scheduler->cancel_all();
    ex.respond(json_response({{"success", aborted > 0 ? "true" : "false"}, {"done", "true"}}));
  });
  router.add("POST", "/api/extra/tokencount", [c](const HttpRequest& req, HttpExchange& ex) {
    auto body = parse_body_object(req.body, req.path, c->json_limits);
    if (!body.ok()) return ex.respond(error_response({400, body.error().message()}));
    std::string prompt;
    if (Status s = RequestFields(*body).string({"prompt"}, prompt); !s.ok())
      return ex.respond(error_response({400, s.error().message()}));
    const std::vector<int32_t> ids = c->tokenizer->encode(prompt, without_bos());
    ex.respond(json_response({{"value", ids.size()}, {"ids", ids}}));
  });
}

}  // namespace limarp::server
