#include "server/llamacpp_api.h"

#include "server/job_builder.h"
#include "server/job_runner.h"
#include "server/request_fields.h"
#include "server/token_probs_json.h"

namespace limarp::server {
namespace {

const char* stop_type(const JobResult& r) {
  switch (r.generation.reason) {
    case StopReason::kEos: return "eos";
    case StopReason::kStopString: return "word";
    case StopReason::kLength:
    case StopReason::kContextFull: return "limit";
    default: return "none";
  }
}

Json timings(const JobResult& r) {
  const GenerationResult& g = r.generation;
  const auto predicted = static_cast<double>(g.tokens.size());
  return {{"prompt_n", g.prompt.evaluated},
          {"prompt_ms", g.prompt_ms},
          {"prompt_per_second", g.prompt_ms > 0 ? static_cast<double>(g.prompt.evaluated) * 1000.0 / g.prompt_ms : 0.0},
          {"predicted_n", g.tokens.size()},
          {"predicted_ms", g.generation_ms},
          {"predicted_per_second", g.generation_ms > 0 ? predicted * 1000.0 / g.generation_ms : 0.0},
          {"queued_ms", r.queued_ms},
          {"first_token_ms", r.first_token_ms}};
}

class LlamaCppCompletionFormat final : public ResponseFormat {
 public:
  LlamaCppCompletionFormat(std::string model, bool truncated, bool with_probs, const Tokenizer& tok)
      : model_(std::move(model)), truncated_(truncated), with_probs_(with_probs), tok_(tok) {}
  std::string stream_piece(const StreamPiece& piece) override {
    Json j = {{"content", piece.text}, {"stop", false}};
    if (with_probs_) j["completion_probabilities"] = llamacpp_probs_json(piece.probs, tok_);
    return sse_event(j);
  }
  std::string stream_end(const JobResult& r) override {
    Json j = body(r);
    j["content"] = "";
    j.erase("completion_probabilities");  // every token's went with its piece
    return sse_event(j);
  }
  Json body(const JobResult& r) override {
    const GenerationResult& g = r.generation;
    Json j = {{"content", g.text},
            {"stop", true},
            {"model", model_},
            {"stop_type", stop_type(r)},
            {"stopping_word", g.stop_string},
            {"tokens_cached", g.prompt.reused + g.prompt.evaluated + static_cast<int64_t>(g.tokens.size())},
            {"tokens_evaluated", r.prompt_tokens},
            {"tokens_predicted", g.tokens.size()},
            {"tokens_reused", g.prompt.reused},
            {"truncated", truncated_},
            {"id_slot", r.slot},
            {"timings", timings(r)}};
    if (with_probs_) j["completion_probabilities"] = llamacpp_probs_json(g.probs, tok_);
    return j;
  }

 private:
  std::string model_;
  bool truncated_;
  bool with_probs_;
  const Tokenizer& tok_;
};

void completion(const ServerContext& ctx, const HttpRequest& req, HttpExchange& ex) {
  auto fail = [&](const Error& e) { ex.respond(error_response({400, e.message()})); };
  auto body = parse_body_object(req.body, req.path, ctx.json_limits);
  if (!body.ok()) return fail(body.error());
  auto spec = read_generation_fields(*body, ctx, Dialect::kLlamaCpp);
  if (!spec.ok()) return fail(spec.error());
  auto prompt = read_raw_prompt(*body, {"prompt"}, *ctx.tokenizer);
  if (!prompt.ok()) return fail(prompt.error());
  RequestFields f(*body);
  bool stream = false;
  int64_t n_keep = 0;
  if (Status s = f.boolean({"stream"}, stream); !s.ok()) return fail(s.error());
  if (Status s = f.integer({"n_keep"}, n_keep, -1, int64_t{1} << 30); !s.ok()) return fail(s.error());
  spec->request.prompt = std::move(*prompt);
  spec->request.continue_text = true;
  if (n_keep < 0) n_keep = static_cast<int64_t>(spec->request.prompt.size());  // -1: keep all that fits
  const bool truncated = fit_raw_prompt(spec->request.prompt, spec->request.max_tokens, ctx.scheduler->context(), n_keep);
  LlamaCppCompletionFormat format(ctx.model_name, truncated, spec->request.probs_top.has_value(), *ctx.tokenizer);
  run_job(ctx, std::move(*spec), stream ? Streaming::kYes : Streaming::kNo, format, ex);
}

Json stats_json(const SchedulerStats& s) {
  return {{"jobs_done", s.jobs_done},
          {"jobs_refused", s.jobs_refused},
          {"tokens_generated", s.tokens_generated},
          {"prompt_tokens_evaluated", s.prompt_tokens_evaluated},
          {"prompt_tokens_reused", s.prompt_tokens_reused},
          {"forward_passes", s.forward_passes},
          {"draft_tokens", s.draft_tokens},
          {"draft_tokens_accepted", s.draft_tokens_accepted},
          {"queued", s.queued},
          {"running", s.running}};
}

Json slots_json(const ServerContext& ctx) {
  Json out = Json::array();
  for (const SlotInfo& s : ctx.scheduler->slots())
    out.push_back({{"id", s.id},
                   {"state", s.state == "idle" ? 0 : 1},
                   {"is_processing", s.state != "idle"},
                   {"phase", s.state},
                   {"n_ctx", ctx.scheduler->context()},
                   {"tokens_cached", s.cached_tokens},
                   {"n_decoded", s.generated}});
  return out;
}

}  // namespace

void add_llamacpp_routes(Router& router, const ServerContext& ctx) {
  const ServerContext* c = &ctx;
  router.add("POST", "/completion", [c](const HttpRequest& req, HttpExchange& ex) { completion(*c, req, ex); });
  router.add("POST", "/completions", [c](const HttpRequest& req, HttpExchange& ex) { completion(*c, req, ex); });
  router.add("POST", "/tokenize", [c](const HttpRequest& req, HttpExchange& ex) {
    auto body = parse_body_object(req.body, req.path, c->json_limits);
    if (!body.ok()) return ex.respond(error_response({400, body.error().message()}));
    RequestFields f(*body);
    std::string content;
    bool add_special = false;
    if (Status s = f.string({"content"}, content); !s.ok()) return ex.respond(error_response({400, s.error().message()}));
    if (Status s = f.boolean({"add_special"}, add_special); !s.ok())
      return ex.respond(error_response({400, s.error().message()}));
    ex.respond(json_response({{"tokens", c->tokenizer->encode(content, add_special ? EncodeOptions{} : without_bos())}}));
  });
  router.add("POST", "/detokenize", [c](const HttpRequest& req, HttpExchange& ex) {
    auto body = parse_body_object(req.body, req.path, c->json_limits);
    if (!body.ok()) return ex.respond(error_response({400, body.error().message()}));
    const Json* tokens = RequestFields(*body).find({"tokens"});
    std::vector<int32_t> ids;
    if (tokens && !tokens->is_array())
      return ex.respond(error_response({400, "tokens must be an array of token ids, got " + json_brief(*tokens)}));
    for (size_t i = 0; tokens && i < tokens->size(); ++i) {
      const Json& t = (*tokens)[i];
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= c->tokenizer->n_vocab())
        return ex.respond(error_response(
            {400, fmt::format("tokens[{}] must be a token id in [0, {}), got {}", i, c->tokenizer->n_vocab(), json_brief(t))}));
      ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
    }
    ex.respond(json_response({{"content", c->tokenizer->decode(ids)}}));
  });
  router.add("GET", "/props", [c](const HttpRequest&, HttpExchange& ex) {
    const SamplerSettings& s = c->defaults.sampler;
    ex.respond(json_response(
        {{"default_generation_settings",
          {{"n_ctx", c->scheduler->context()},
           {"n_predict", c->defaults.max_tokens},
           {"params",
            {{"temperature", s.temperature}, {"top_k", s.top_k}, {"top_p", s.top_p}, {"min_p", s.min_p},
             {"tfs_z", s.tfs}, {"typical_p", s.typical_p}, {"repeat_penalty", s.rep_pen},
             {"repeat_last_n", s.rep_pen_range}}}}},
         {"total_slots", c->scheduler->slot_count()},
         {"model_alias", c->model_name},
         {"chat_template", "LimaRP (extended Alpaca with a length modifier)"},
         {"max_tokens_limit", c->defaults.max_tokens_limit},
         {"time_limit_s", static_cast<double>(c->defaults.time_limit.count()) / 1000.0},
         {"stats", stats_json(c->scheduler->stats())}}));
  });
  router.add("GET", "/slots", [c](const HttpRequest&, HttpExchange& ex) { ex.respond(json_response(slots_json(*c))); });
  router.add("GET", "/lora-adapters", [c](const HttpRequest&, HttpExchange& ex) {
    ex.respond(json_response(c->loras->to_json()));
  });
  router.add("POST", "/lora-adapters", [c](const HttpRequest& req, HttpExchange& ex) {
    auto body = parse_json(req.body, req.path, c->json_limits);
    if (!body.ok()) return ex.respond(error_response({400, body.error().message()}));
    auto scales = c->loras->parse_scales(*body, "body");
    if (!scales.ok()) return ex.respond(error_response({400, scales.error().message()}));
    c->loras->set_scales(*scales);
    ex.respond(json_response({{"success", true}}));
  });
}

}  // namespace limarp::server
