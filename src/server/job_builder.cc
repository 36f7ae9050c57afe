#include "server/job_builder.h"

#include <algorithm>

#include "server/grammar_fields.h"
#include "server/request_fields.h"
#include "server/sampler_fields.h"

namespace limarp::server {

namespace {

// Most alternatives a request may ask for per token: listing more is only bigger answers.
constexpr int64_t kMaxTopProbs = 100;

// llama.cpp: n_probs N (0: off). OpenAI completions: logprobs N. OpenAI chat: logprobs true with
// top_logprobs N (default 0). KoboldCpp: logprobs true, with KoboldCpp's 5 alternatives.
Status read_probs_request(const Json& body, Dialect dialect, std::optional<size_t>& top) {
  RequestFields f(body);
  int64_t n = 0;
  if (dialect == Dialect::kLlamaCpp) {
    LIMARP_TRY(f.integer({"n_probs"}, n, 0, kMaxTopProbs));
    if (n > 0) top = static_cast<size_t>(n);
    return {};
  }
  if (dialect != Dialect::kOpenAI && dialect != Dialect::kKobold) return {};
  const Json* lp = f.find({"logprobs"});
  if (!lp) return {};
  if (lp->is_boolean()) {
    if (!lp->get<bool>()) return {};
    n = dialect == Dialect::kKobold ? 5 : 0;
    LIMARP_TRY(f.integer({"top_logprobs"}, n, 0, kMaxTopProbs));
    top = static_cast<size_t>(n);
    return {};
  }
  if (dialect == Dialect::kKobold) return make_error("logprobs must be true or false, got {}", json_brief(*lp));
  LIMARP_TRY(f.integer({"logprobs"}, n, 0, kMaxTopProbs));
  top = static_cast<size_t>(n);
  return {};
}

}  // namespace

Result<JobSpec> read_generation_fields(const Json& body, const ServerContext& ctx, Dialect dialect) {
  JobSpec spec;
  GenerationRequest& req = spec.request;
  req.sampler = ctx.defaults.sampler;
  LIMARP_TRY(apply_sampler_json(req.sampler, body, "request"));
  LIMARP_TRY(check_token_ids(req.sampler, ctx.tokenizer->n_vocab()));
  RequestFields f(body);

  int64_t max_tokens = ctx.defaults.max_tokens;
  if (dialect == Dialect::kKobold)
    LIMARP_TRY(f.integer({"max_length"}, max_tokens, -1, int64_t{1} << 30));
  else
    LIMARP_TRY(f.integer({"max_tokens", "max_new_tokens", "max_completion_tokens", "n_predict", "max_length"},
                         max_tokens, -1, int64_t{1} << 30));
  if (max_tokens < 0 || max_tokens > ctx.defaults.max_tokens_limit) max_tokens = ctx.defaults.max_tokens_limit;
  req.max_tokens = max_tokens;

  if (dialect == Dialect::kKobold) LIMARP_TRY(f.strings({"stop_sequence"}, req.stop));
  else LIMARP_TRY(f.strings({"stop", "stopping_strings", "stop_sequence"}, req.stop));
  req.stop.erase(std::remove(req.stop.begin(), req.stop.end(), std::string()), req.stop.end());
  if (dialect == Dialect::kKobold) {
    bool singleline = false;
    LIMARP_TRY(f.boolean({"singleline"}, singleline));
    if (singleline) req.stop.push_back("\n");
  }

  bool ban_eos = false;
  LIMARP_TRY(f.boolean({"ignore_eos", "ban_eos_token", "use_default_badwordsids"}, ban_eos));
  if (ban_eos) {
    req.stop_at_eos = false;
    req.sampler.banned_tokens.push_back(ctx.tokenizer->eos());
  }
  LIMARP_TRY(f.boolean({"trim_unfinished_sentence"}, req.trim_unfinished_sentence));

  LIMARP_ASSIGN_OR_RETURN(req.sampler.grammar, read_grammar_fields(body));
  LIMARP_TRY(read_probs_request(body, dialect, req.probs_top));
  int64_t n = 1;
  LIMARP_TRY(f.integer({"n"}, n, 1, 1 << 20));
  if (n != 1) return make_error("n must be 1: one completion per request");

  LIMARP_TRY(f.string({"genkey"}, spec.genkey));
  if (spec.genkey.size() > 256) return make_error("genkey is longer than 256 bytes");
  int64_t slot = -1;
  LIMARP_TRY(f.integer({"id_slot", "slot_id"}, slot, -1, 1 << 20));
  spec.slot_hint = static_cast<int>(slot);
  LIMARP_TRY(f.boolean({"cache_prompt"}, spec.cache_prompt));
  if (const Json* lora = f.find({"lora"})) {
    LIMARP_ASSIGN_OR_RETURN(spec.lora_scales, ctx.loras->parse_scales(*lora, "lora"));
  } else {
    spec.lora_scales = ctx.loras->scales();
  }
  // A request may shorten its own time limit (llama.cpp's t_max_predict_ms), never extend the
  // server's.
  spec.time_limit = ctx.defaults.time_limit;
  int64_t own_ms = 0;
  LIMARP_TRY(f.integer({"t_max_predict_ms"}, own_ms, 0, int64_t{1} << 40));
  if (own_ms > 0 && (spec.time_limit.count() == 0 || own_ms < spec.time_limit.count()))
    spec.time_limit = std::chrono::milliseconds(own_ms);
  return spec;
}

Result<std::vector<int32_t>> read_raw_prompt(const Json& body, std::initializer_list<std::string_view> keys,
                                             const Tokenizer& tok) {
  std::string_view key;
  const Json* p = RequestFields(body).find(keys, &key);
  if (!p) return make_error("{} is required", *keys.begin());
  const Json* v = p;
  if (v->is_array() && v->size() == 1 && (*v)[0].is_string()) v = &(*v)[0];
  if (v->is_string()) {
    const std::string& text = v->get_ref<const std::string&>();
    return tok.encode(text);  // with BOS
  }
  if (v->is_array() && !v->empty()) {
    std::vector<int32_t> ids;
    ids.reserve(v->size());
    for (size_t i = 0; i < v->size(); ++i) {
      const Json& e = (*v)[i];
      if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() >= tok.n_vocab())
        return make_error("{}[{}] must be a token id in [0, {}), got {}", key, i, tok.n_vocab(), json_brief(e));
      ids.push_back(static_cast<int32_t>(e.get<int64_t>()));
    }
    return ids;
  }
  if (v->is_array() && v->size() > 1 && (*v)[0].is_string())
    return make_error("{}: one prompt per request (got {})", key, v->size());
  return make_error("{} must be a string or an array of token ids, got {}", key, json_brief(*v));
}

bool fit_raw_prompt(std::vector<int32_t>& prompt, int64_t& max_tokens, int64_t context, int64_t n_keep) {
  const auto n = static_cast<int64_t>(prompt.size());
  if (n + max_tokens <= context) return false;
  max_tokens = std::min(max_tokens, context / 2);
  const int64_t room = context - max_tokens;
  if (n <= room) return false;
  const int64_t keep_front = std::clamp<int64_t>(n_keep, 1, room / 2);
  const int64_t drop = n - room;
  prompt.erase(prompt.begin() + keep_front, prompt.begin() + keep_front + drop);
  return true;
}

}  // namespace limarp::server
