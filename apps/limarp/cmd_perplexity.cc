// `limarp perplexity`: how well a model (optionally with adapters) predicts a text file.

#include "base/json_util.h"
#include "base/mapped_file.h"
#include "base/thread_pool.h"
#include "commands.h"
#include "infer/adapter_specs.h"
#include "infer/perplexity.h"
#include "model_options.h"
#include "progress_line.h"

namespace limarp::cli {
namespace {

struct PerplexityCliOptions {
  ModelCliOptions model;
  std::string file;
  int64_t ctx = 512, stride = 0, max_tokens = 0;
  bool json = false;
};

Status run_perplexity(const PerplexityCliOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle, load_inference_model(o.model, o.ctx));
  LIMARP_ASSIGN_OR_RETURN(std::unique_ptr<Backend> device, open_device(o.model, bundle.model, o.ctx));
  LIMARP_ASSIGN_OR_RETURN(AdapterSet adapters, load_adapters(o.model.loras, bundle.model));
  LIMARP_ASSIGN_OR_RETURN(std::string text, read_text_file(o.file));
  std::vector<int32_t> tokens = bundle.tokenizer->encode(text);
  if (o.max_tokens > 0 && static_cast<int64_t>(tokens.size()) > o.max_tokens) tokens.resize(static_cast<size_t>(o.max_tokens));
  ThreadPool pool(o.model.threads);
  Forward forward(bundle.model, pool, device.get(), o.model.gpu_layers);
  PerplexityOptions p;
  p.context = std::min<int64_t>(o.ctx, bundle.model.config().usable_context());
  p.kv_type = o.model.kv_type;
  p.stride = o.stride;
  p.adapter = adapters.empty() ? nullptr : &adapters;
  ProgressLine progress("perplexity", "tokens");
  p.progress = [&](int64_t done, int64_t total) { progress.update(done, total); };
  LIMARP_ASSIGN_OR_RETURN(PerplexityResult r, perplexity(forward, tokens, p));
  progress.finish();
  std::printf("perplexity %.4f (mean NLL %.4f nats) over %lld tokens of %s, window %lld, %lld windows\n", r.perplexity,
              r.mean_nll, static_cast<long long>(r.scored_tokens), o.file.c_str(), static_cast<long long>(p.context),
              static_cast<long long>(r.windows));
  if (o.json) {
    Json j = {{"perplexity", r.perplexity}, {"mean_nll", r.mean_nll}, {"tokens", r.scored_tokens},
              {"context", p.context},      {"windows", r.windows},   {"file", o.file}, {"model", o.model.model}};
    std::printf("%s\n", j.dump().c_str());
  }
  return {};
}

}  // namespace

void register_perplexity(CLI::App& root, RunState& state) {
  auto o = std::make_shared<PerplexityCliOptions>();
  CLI::App* cmd = root.add_subcommand("perplexity", "Perplexity of a model on a text file (sliding window)");
  add_model_options(*cmd, o->model, WhenNoModel::kError);
  cmd->add_option("-f,--file", o->file, "Text file")->required();
  cmd->add_option("-c,--ctx", o->ctx, "Window length in tokens")->capture_default_str();
  cmd->add_option("--stride", o->stride, "Tokens between window starts (default: half the window)");
  cmd->add_option("--max-tokens", o->max_tokens, "Score only the first N tokens of the file");
  cmd->add_flag("--json", o->json, "End with one JSON line");
  cmd->callback([o, &state] { state.exit_code = report(run_perplexity(*o)); });
}

}  // namespace limarp::cli
