// `limarp generate`: continue a prompt, streaming the text; --json ends with the ids.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "base/json_util.h"
#include "base/log.h"
#include "base/thread_pool.h"
#include "commands.h"
#include "grammar_options.h"
#include "infer/adapter_specs.h"
#include "infer/generation.h"
#include "model_options.h"
#include "speculative_options.h"

namespace limarp::cli {
namespace {

struct GenerateCliOptions {
  ModelCliOptions model;
  std::string prompt;
  int64_t n = 128;
  int64_t ctx = 0;
  float temperature = 0.8f, top_p = 0.95f;
  int top_k = 40;
  uint64_t seed = 0;
  bool seed_given = false, json = false, no_bos = false;
  GrammarCliOptions grammar;
  SpeculativeCliOptions speculative;
};

Status run_generate(const GenerateCliOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle, load_inference_model(o.model, o.ctx));
  LIMARP_ASSIGN_OR_RETURN(std::unique_ptr<Backend> device, open_device(o.model, bundle.model, o.ctx));
  const LlamaModel& model = bundle.model;
  const Tokenizer& tok = *bundle.tokenizer;
  log::info("model: {} ({})", model.config().describe(), model.weight_type_name());

  std::vector<int32_t> prompt = tok.encode(o.prompt, {.add_bos = !o.no_bos});
  if (prompt.empty()) prompt.push_back(tok.bos());
  const int64_t ctx = o.ctx > 0 ? o.ctx : model.config().usable_context();
  if (static_cast<int64_t>(prompt.size()) >= ctx)
    return make_error("the prompt has {} tokens; the context holds {}", prompt.size(), ctx);

  LIMARP_ASSIGN_OR_RETURN(AdapterSet adapters, load_adapters(o.model.loras, model));
  ThreadPool pool(o.model.threads);
  Forward forward(model, pool, device.get(), o.model.gpu_layers);
  Session session(model, ctx, o.model.kv_type, forward);
  LIMARP_ASSIGN_OR_RETURN(DraftSource drafts, load_draft_source(o.speculative, o.model, tok, pool));
  std::unique_ptr<Drafter> drafter = drafts.make(ctx);
  GenerationRequest req;
  req.prompt = prompt;
  req.max_tokens = std::min<int64_t>(o.n, ctx - static_cast<int64_t>(prompt.size()));
  // The plain chain of this command: top-k, top-p, then temperature, nothing else.
  req.sampler.temperature = std::max(o.temperature, 0.0f);  // below 0 is greedy too, as 0
  req.sampler.top_k = o.top_k;
  req.sampler.top_p = o.top_p;
  req.sampler.tfs = 1.0f;
  req.sampler.rep_pen = 1.0f;
  req.sampler.order = {SamplerStage::kTopK, SamplerStage::kTopP, SamplerStage::kTemperature};
  if (o.seed_given) req.sampler.seed = o.seed;
  LIMARP_ASSIGN_OR_RETURN(req.sampler.grammar, o.grammar.load());
  req.continue_text = true;
  req.adapter = adapters.empty() ? nullptr : &adapters;
  req.sync.batch = std::max<int64_t>(1, static_cast<int64_t>(prompt.size()));  // the prompt in one evaluation
  req.speculative = {drafter.get(), drafts.draft_n()};
  LIMARP_ASSIGN_OR_RETURN(GenerationResult r, generate_text(session, forward, tok, req, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  }));
  std::fputc('\n', stdout);
  const double tps = r.generation_ms > 0 ? 1000.0 * static_cast<double>(r.tokens.size()) / r.generation_ms : 0;
  log::info("prompt: {} tokens in {} ms; generated {} tokens in {} ms ({:.1f} tok/s); finish: {}", prompt.size(),
            static_cast<int64_t>(r.prompt_ms), r.tokens.size(), static_cast<int64_t>(r.generation_ms), tps,
            finish_reason_name(r.reason));
  if (drafter) log_speculative_stats(r.speculative);
  if (o.json) {
    Json j;
    j["prompt_tokens"] = prompt;
    j["tokens"] = r.tokens;
    j["text"] = r.text;
    j["finish_reason"] = finish_reason_name(r.reason);
    if (drafter) j["speculative"] = {{"rounds", r.speculative.rounds}, {"drafted", r.speculative.drafted},
                                     {"accepted", r.speculative.accepted}};
    std::printf("%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  }
  return {};
}

}  // namespace

void register_generate(CLI::App& root, RunState& state) {
  auto o = std::make_shared<GenerateCliOptions>();
  CLI::App* cmd = root.add_subcommand("generate", "Continue a prompt with a model, streaming the text");
  add_model_options(*cmd, o->model, WhenNoModel::kError);
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text (empty: start from BOS)");
  cmd->add_option("-n,--n-predict", o->n, "Tokens to generate at most")->capture_default_str();
  cmd->add_option("-c,--ctx", o->ctx, "Context length (default: the model's, times its RoPE scaling)");
  cmd->add_option("--temperature,--temp", o->temperature, "Temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "Top-k; 0 = off")->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "Top-p; 1 = off")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed (default: random)")->each([o](const std::string&) {
    o->seed_given = true;
  });
  cmd->add_flag("--no-bos", o->no_bos, "Do not start the prompt with BOS");
  cmd->add_flag("--json", o->json, "End with one JSON line: prompt_tokens, tokens, text");
  o->grammar.add_to(*cmd);
  add_speculative_options(*cmd, o->speculative);
  cmd->callback([o, &state] { state.exit_code = report(run_generate(*o)); });
}

}  // namespace limarp::cli
