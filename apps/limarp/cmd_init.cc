// `limarp init`: writes a random-initialised Llama of a named or given shape, for tests and
// benchmarks without real weights.
#include <chrono>

#include "commands.h"
#include "infer/model_writer.h"
#include "model/random_init.h"
#include "tokenizer/default_vocab.h"
#include "tokenizer/tokenizer.h"

namespace limarp::cli {
namespace {

struct InitOptions {
  std::string out, shape = "tiny", type = "f32", tokenizer;
  int64_t dim = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, vocab = 0, ctx = 0;
  uint64_t seed = 1;
  float stddev = 0.02f;
};

Status run_init(const InitOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(LlamaConfig c, named_shape(o.shape));
  auto over = [](int64_t& field, int64_t v) { if (v > 0) field = v; };
  over(c.dim, o.dim);
  over(c.hidden_dim, o.hidden);
  over(c.n_layers, o.layers);
  over(c.n_heads, o.heads);
  over(c.n_kv_heads, o.kv_heads);
  over(c.vocab_size, o.vocab);
  over(c.context_length, o.ctx);
  if (o.heads > 0 && o.kv_heads == 0) c.n_kv_heads = c.n_heads;
  LIMARP_ASSIGN_OR_RETURN(QuantRecipe recipe, QuantRecipe::parse(o.type));

  Vocab vocab;
  if (!o.tokenizer.empty()) {
    LIMARP_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::load(o.tokenizer));
    vocab = tok.vocab();
    c.vocab_size = vocab.size();
  } else {
    vocab = default_byte_vocab(c.vocab_size);
    if (vocab.size() != c.vocab_size) return make_error("--vocab must be at least 259 for the built-in byte vocabulary");
  }
  LIMARP_TRY(c.validate());
  std::fprintf(stderr, "init: %s, %s weights, seed %llu\n", c.describe().c_str(), recipe.name().c_str(),
               static_cast<unsigned long long>(o.seed));
  const auto t0 = std::chrono::steady_clock::now();
  WriteOptions w;
  w.vocab = &vocab;
  w.name = fmt::format("random {} ({})", o.shape, recipe.name());
  LIMARP_TRY(write_model_tensors(c, random_llama_tensors(c, recipe, o.seed, o.stddev), o.out, w));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "wrote %s in %.1f s\n", o.out.c_str(), s);
  return {};
}

}  // namespace

void register_init(CLI::App& root, RunState& state) {
  auto o = std::make_shared<InitOptions>();
  CLI::App* cmd = root.add_subcommand("init", "Write a random-initialised Llama (for tests and benchmarks)");
  cmd->add_option("output", o->out, "Output: NAME.gguf, NAME.safetensors or a folder")->required();
  cmd->add_option("--shape", o->shape, "Named shape: " + named_shape_list())->capture_default_str();
  cmd->add_option("--type", o->type, "Weight type: " + QuantRecipe::known_names())->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--std", o->stddev, "Standard deviation of the weights")->capture_default_str();
  cmd->add_option("--tokenizer", o->tokenizer, "Embed this tokenizer (its size sets the vocabulary)");
  cmd->add_option("--dim", o->dim, "Override: model width");
  cmd->add_option("--hidden", o->hidden, "Override: feed-forward width");
  cmd->add_option("--layers", o->layers, "Override: layer count");
  cmd->add_option("--heads", o->heads, "Override: attention heads");
  cmd->add_option("--kv-heads", o->kv_heads, "Override: key/value heads (grouped-query attention)");
  cmd->add_option("--vocab", o->vocab, "Override: vocabulary size (built-in byte vocabulary)");
  cmd->add_option("--ctx", o->ctx, "Override: context length");
  cmd->callback([o, &state] { state.exit_code = report(run_init(*o)); });
}

}  // namespace limarp::cli
