#include "server/openai_api.h"

#include <random>
#include <chrono>

#include <fmt/format.h>

#include "server/chat_job.h"
#include "server/chat_messages.h"
#include "server/job_runner.h"
#include "server/request_fields.h"
#include "server/token_probs_json.h"

namespace limarp::server {
namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string new_id(std::string_view prefix) {
  std::random_device rd;
  return fmt::format("{}-{:08x}{:08x}", prefix, rd(), rd());
}

Json usage(const JobResult& r) {
  const auto completion = static_cast<int64_t>(r.generation.tokens.size());
  return {{"prompt_tokens", r.prompt_tokens}, {"completion_tokens", completion}, {"total_tokens", r.prompt_tokens + completion}};
}

// /v1/completions
class OpenAiCompletionFormat final : public ResponseFormat {
 public:
  OpenAiCompletionFormat(std::string model, bool with_probs, const Tokenizer& tok)
      : model_(std::move(model)), id_(new_id("cmpl")), created_(unix_now()), with_probs_(with_probs), tok_(tok) {}
  std::string stream_piece(const StreamPiece& piece) override {
    Json j = chunk(piece.text, nullptr);
    if (with_probs_) j["choices"][0]["logprobs"] = openai_completion_logprobs_json(piece.probs, tok_, offset_);
    return sse_event(j);
  }
  std::string stream_end(const JobResult& r) override {
    Json last = chunk("", finish_reason(r));
    last["usage"] = usage(r);
    return sse_event(last) + sse_data("[DONE]");
  }
  Json body(const JobResult& r) override {
    Json j = chunk(r.generation.text, finish_reason(r));
    if (with_probs_) j["choices"][0]["logprobs"] = openai_completion_logprobs_json(r.generation.probs, tok_, offset_);
    j["usage"] = usage(r);
    return j;
  }

 private:
  Json chunk(std::string_view text, const Json& finish) const {
    return {{"id", id_}, {"object", "text_completion"}, {"created", created_}, {"model", model_},
            {"choices", Json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish}}})}};
  }
  std::string model_, id_;
  int64_t created_;
  bool with_probs_;
  const Tokenizer& tok_;
  int64_t offset_ = 0;  // text_offset of the next token
};

// /v1/chat/completions
class OpenAiChatFormat final : public ResponseFormat {
 public:
  OpenAiChatFormat(std::string model, bool with_probs, const Tokenizer& tok)
      : model_(std::move(model)), id_(new_id("chatcmpl")), created_(unix_now()), with_probs_(with_probs), tok_(tok) {}
  std::string stream_start() override { return sse_event(chunk({{"role", "assistant"}, {"content", ""}}, nullptr)); }
  std::string stream_piece(const StreamPiece& piece) override {
    Json j = chunk({{"content", piece.text}}, nullptr);
    if (with_probs_) j["choices"][0]["logprobs"] = openai_chat_logprobs_json(piece.probs, tok_);
    return sse_event(j);
  }
  std::string stream_end(const JobResult& r) override {
    Json last = chunk(Json::object(), finish_reason(r));
    last["usage"] = usage(r);
    return sse_event(last) + sse_data("[DONE]");
  }
  Json body(const JobResult& r) override {
    Json choice = {{"index", 0},
                   {"message", {{"role", "assistant"}, {"content", r.generation.text}}},
                   {"logprobs", nullptr},
                   {"finish_reason", finish_reason(r)}};
    if (with_probs_) choice["logprobs"] = openai_chat_logprobs_json(r.generation.probs, tok_);
    return {{"id", id_}, {"object", "chat.completion"}, {"created", created_}, {"model", model_},
            {"choices", Json::array({std::move(choice)})}, {"usage", usage(r)}};
  }

 private:
  Json chunk(Json delta, const Json& finish) const {
    return {{"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_},
            {"choices", Json::array({{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish}}})}};
  }
  std::string model_, id_;
  int64_t created_;
  bool with_probs_;
  const Tokenizer& tok_;
};

Result<bool> read_stream_flag(const Json& body) {
  bool stream = false;
  LIMARP_TRY(RequestFields(body).boolean({"stream"}, stream));
  return stream;
}

void completions(const ServerContext& ctx, const HttpRequest& req, HttpExchange& ex) {
  auto fail = [&](const Error& e) { ex.respond(error_response({400, e.message()})); };
  auto body = parse_body_object(req.body, req.path, ctx.json_limits);
  if (!body.ok()) return fail(body.error());
  auto spec = read_generation_fields(*body, ctx, Dialect::kOpenAI);
  if (!spec.ok()) return fail(spec.error());
  auto prompt = read_raw_prompt(*body, {"prompt"}, *ctx.tokenizer);
  if (!prompt.ok()) return fail(prompt.error());
  auto stream = read_stream_flag(*body);
  if (!stream.ok()) return fail(stream.error());
  int64_t n_keep = 0;
  if (Status s = RequestFields(*body).integer({"n_keep"}, n_keep, -1, int64_t{1} << 30); !s.ok()) return fail(s.error());
  spec->request.prompt = std::move(*prompt);
  spec->request.continue_text = true;
  fit_raw_prompt(spec->request.prompt, spec->request.max_tokens, ctx.scheduler->context(), n_keep);
  OpenAiCompletionFormat format(ctx.model_name, spec->request.probs_top.has_value(), *ctx.tokenizer);
  run_job(ctx, std::move(*spec), *stream ? Streaming::kYes : Streaming::kNo, format, ex);
}

void chat_completions(const ServerContext& ctx, const HttpRequest& req, HttpExchange& ex) {
  auto fail = [&](const Error& e) { ex.respond(error_response({400, e.message()})); };
  auto body = parse_body_object(req.body, req.path, ctx.json_limits);
  if (!body.ok()) return fail(body.error());
  auto chat = chat_from_messages(*body);
  if (!chat.ok()) return fail(chat.error());
  auto job = build_chat_job(chat->chat, chat->tail, *body, ctx, Dialect::kOpenAI);
  if (!job.ok()) return fail(job.error());
  auto stream = read_stream_flag(*body);
  if (!stream.ok()) return fail(stream.error());
  OpenAiChatFormat format(ctx.model_name, job->spec.request.probs_top.has_value(), *ctx.tokenizer);
  run_job(ctx, std::move(job->spec), *stream ? Streaming::kYes : Streaming::kNo, format, ex);
}

}  // namespace

void add_openai_routes(Router& router, const ServerContext& ctx) {
  const ServerContext* c = &ctx;
  router.add("GET", "/v1/models", [c](const HttpRequest&, HttpExchange& ex) {
    ex.respond(json_response(
        {{"object", "list"},
         {"data", Json::array({{{"id", c->model_name},
                                {"object", "model"},
                                {"created", c->created},
                                {"owned_by", "limarp"},
                                {"meta", {{"n_ctx", c->scheduler->context()}, {"n_vocab", c->tokenizer->n_vocab()}}}}})}}));
  }, RouteAccess::kPublic);  // open in KoboldCpp and llama.cpp alike
  // text-generation-webui's: SillyTavern's Default (ooba) type picks its tokenizer from model_name.
  router.add("GET", "/v1/internal/model/info", [c](const HttpRequest&, HttpExchange& ex) {
    Json loras = Json::array();
    for (const Json& a : c->loras->to_json()) loras.push_back(a.value("path", std::string()));
    ex.respond(json_response({{"model_name", c->model_name}, {"lora_names", loras}}));
  });
  router.add("POST", "/v1/completions", [c](const HttpRequest& req, HttpExchange& ex) { completions(*c, req, ex); });
  router.add("POST", "/v1/chat/completions", [c](const HttpRequest& req, HttpExchange& ex) { chat_completions(*c, req, ex); });
  router.add("POST", "/v1/internal/encode", [c](const HttpRequest& req, HttpExchange& ex) {
    auto body = parse_body_object(req.body, req.path, c->json_limits);
    if (!body.ok()) return ex.respond(error_response({400, body.error().message()}));
    std::string text;
    if (Status s = RequestFields(*body).string({"text"}, text); !s.ok())
      return ex.respond(error_response({400, s.error().message()}));
    const std::vector<int32_t> ids = c->tokenizer->encode(text, without_bos());
    ex.respond(json_response({{"tokens", ids}, {"length", ids.size()}}));
  });
}

}  // namespace limarp::server
