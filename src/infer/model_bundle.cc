#include "infer/model_bundle.h"

#include <filesystem>

#include "backend/cpu_backend.h"
#include "hub/hub_pull.h"
#include "tokenizer/vocab_loaders.h"

namespace fs = std::filesystem;

namespace limarp {

Result<Tokenizer> find_tokenizer(const std::string& model_path, const LlamaModel& model,
                                 const std::string& explicit_path) {
  const int64_t vocab_size = model.config().vocab_size;
  auto check = [&](Result<Tokenizer> tok) -> Result<Tokenizer> {
    if (!tok.ok()) return tok;
    if (tok->n_vocab() != vocab_size)
      return make_error("tokenizer {} has {} tokens but model {} has a vocabulary of {} — mismatched files?",
                        tok->source(), tok->n_vocab(), model_path, vocab_size);
    return tok;
  };
  if (!explicit_path.empty()) return check(Tokenizer::load(explicit_path, vocab_size));
  if (model.metadata().find("tokenizer.ggml.model")) {
    LIMARP_ASSIGN_OR_RETURN(Vocab v, Vocab::from_gguf_metadata(model.metadata(), model_path));
    return check(Tokenizer::from_vocab(std::move(v), model_path));
  }
  std::error_code ec;
  fs::path dir = fs::is_directory(model_path, ec) ? fs::path(model_path) : fs::path(model_path).parent_path();
  if (dir.empty()) dir = ".";
  const std::vector<std::string> candidates = {"tokenizer.model", "tokenizer.json",
                                               fmt::format("tok{}.bin", vocab_size), "tokenizer.bin"};
  for (const auto& name : candidates) {
    const fs::path p = dir / name;
    if (fs::exists(p, ec)) return check(Tokenizer::load(p.string(), vocab_size));
  }
  return make_error("no tokenizer found for {}: it has no vocabulary inside and no tokenizer.model, tokenizer.json "
                    "or tok{}.bin beside it; pass --tokenizer FILE",
                    model_path, vocab_size);
}

Result<ModelBundle> load_model_bundle(const std::string& model_name, const LoadOptions& options) {
  // Every command opens its model here, so "hf:ORG/NAME[:TAG]" works wherever a path does.
  LIMARP_ASSIGN_OR_RETURN(const std::string model_path, hub::resolve_model_path(model_name));
  LIMARP_ASSIGN_OR_RETURN(LlamaModel model, LlamaModel::load(model_path));
  if (options.interleave_for_decode) {
    // The regrouping threads are the run's own (-t), released once the weights are ready.
    ThreadPool pool(options.threads > 0 ? options.threads : ThreadPool::default_threads());
    CpuBackend cpu(pool);
    model.prepare_weights(cpu);
  }
  ModelBundle bundle{std::move(model), std::nullopt};
  auto tok = find_tokenizer(model_path, bundle.model, options.tokenizer_path);
  if (tok.ok()) bundle.tokenizer = std::move(tok.value());
  else if (options.require_tokenizer || !options.tokenizer_path.empty()) return tok.error();
  return bundle;
}

}  // namespace limarp
