#include "model/llama_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "formats/gguf.h"

namespace limarp {

int64_t LlamaConfig::parameter_count() const {
  const int64_t per_layer = 2 * dim + dim * dim * 2 + kv_dim() * dim * 2 + 3 * dim * hidden_dim;
  return vocab_size * dim * (tied_output ? 1 : 2) + dim + n_layers * per_layer;
}

int64_t LlamaConfig::usable_context() const {
  if (!rope_scaling.active() || rope_scaling.factor <= 1) return context_length;
  const double scaled = static_cast<double>(rope_scaling.original(context_length)) * rope_scaling.factor;
  return std::max(context_length, static_cast<int64_t>(std::llround(scaled)));
}

Status LlamaConfig::validate() const {
  auto range = [](const char* what, int64_t v, int64_t hi) -> Status {
    if (v <= 0 || v > hi) return make_error("{} = {} is out of range (1..{})", what, v, hi);
    return {};
  };
  LIMARP_TRY(range("embedding_length", dim, 1 << 16));
  LIMARP_TRY(range("feed_forward_length", hidden_dim, 1 << 18));
  LIMARP_TRY(range("block_count", n_layers, 1024));
  LIMARP_TRY(range("head_count", n_heads, dim));
  LIMARP_TRY(range("head_count_kv", n_kv_heads, n_heads));
  LIMARP_TRY(range("vocab_size", vocab_size, 1 << 22));
  LIMARP_TRY(range("context_length", context_length, 1 << 22));
  if (dim % n_heads != 0) return make_error("embedding_length {} is not divisible by {} heads", dim, n_heads);
  if (n_heads % n_kv_heads != 0) return make_error("{} heads are not a multiple of {} kv heads", n_heads, n_kv_heads);
  if (head_dim() % 2 != 0) return make_error("head size {} is odd; rotary embeddings need pairs", head_dim());
  if (!(norm_eps > 0 && norm_eps < 1)) return make_error("rms_norm_eps {} is out of range", norm_eps);
  if (!(rope_theta > 1)) return make_error("rope freq_base {} is out of range", rope_theta);
  return rope_scaling.validate();
}

Result<LlamaConfig> LlamaConfig::from_metadata(const Metadata& m, const std::string& source) {
  auto arch = m.get_string("general.architecture");
  if (!arch) return make_error("{}: no general.architecture (not a model file?)", source);
  if (*arch != "llama") return make_error("{}: architecture {} is not supported (only llama)", source, *arch);
  if (auto qv = m.get_int("general.quantization_version"); qv && *qv != kGgmlQuantizationVersion)
    return make_error("{}: general.quantization_version {}: limarp reads the block layouts of version {}", source, *qv,
                      kGgmlQuantizationVersion);
  LlamaConfig c;
  auto need = [&](const char* key, int64_t& out) -> Status {
    auto v = m.get_int(key);
    if (!v) return make_error("{}: missing or non-integer {}", source, key);
    out = *v;
    return {};
  };
  LIMARP_TRY(need("llama.embedding_length", c.dim));
  LIMARP_TRY(need("llama.feed_forward_length", c.hidden_dim));
  LIMARP_TRY(need("llama.block_count", c.n_layers));
  LIMARP_TRY(need("llama.attention.head_count", c.n_heads));
  c.n_kv_heads = m.get_int("llama.attention.head_count_kv").value_or(c.n_heads);
  c.context_length = m.get_int("llama.context_length").value_or(2048);
  c.vocab_size = m.get_int("llama.vocab_size").value_or(0);  // else taken from the embedding
  c.norm_eps = static_cast<float>(m.get_double("llama.attention.layer_norm_rms_epsilon").value_or(1e-5));
  c.rope_theta = static_cast<float>(m.get_double("llama.rope.freq_base").value_or(10000.0));
  if (auto rd = m.get_int("llama.rope.dimension_count"); rd && c.n_heads > 0 && *rd != c.dim / c.n_heads)
    return make_error("{}: partial rotary (dimension_count {} of head size {}) is not supported", source, *rd,
                      c.dim / c.n_heads);
  LIMARP_ASSIGN_OR_RETURN(c.rope_scaling, rope_scaling_from_metadata(m, source));
  if (m.get_string("limarp.layout").value_or("") == "hf") c.rope_layout = RopeLayout::kHalf;
  return c;
}

void LlamaConfig::to_metadata(Metadata& m) const {
  auto u32 = [](int64_t v) { return MetaValue::u32(static_cast<uint32_t>(v)); };
  m.set("general.architecture", MetaValue::str("llama"));
  m.set("llama.context_length", u32(context_length));
  m.set("llama.embedding_length", u32(dim));
  m.set("llama.block_count", u32(n_layers));
  m.set("llama.feed_forward_length", u32(hidden_dim));
  m.set("llama.rope.dimension_count", u32(head_dim()));
  m.set("llama.attention.head_count", u32(n_heads));
  m.set("llama.attention.head_count_kv", u32(n_kv_heads));
  m.set("llama.attention.layer_norm_rms_epsilon", MetaValue::f32(norm_eps));
  m.set("llama.rope.freq_base", MetaValue::f32(rope_theta));
  m.set("llama.vocab_size", u32(vocab_size));
  rope_scaling_to_metadata(rope_scaling, m);
}

std::string LlamaConfig::describe() const {
  return fmt::format("llama: dim {}, ffn {}, {} layers, {} heads ({} kv, head size {}), vocab {}, context {}, "
                     "eps {}, rope theta {}{}{}; {:.2f} M parameters",
                     dim, hidden_dim, n_layers, n_heads, n_kv_heads, head_dim(), vocab_size, context_length,
                     norm_eps, rope_theta, rope_scaling.active() ? ", rope scaling " + rope_scaling.describe() : "",
                     tied_output ? ", tied output" : "",
                     static_cast<double>(parameter_count()) / 1e6);
}

namespace {
struct NamedShape {
  const char* name;
  LlamaConfig config;
  const char* about;
};
LlamaConfig shape(int64_t dim, int64_t hidden, int64_t layers, int64_t heads, int64_t kv, int64_t vocab, int64_t ctx,
                  float eps, bool tied) {
  LlamaConfig c;
  c.dim = dim;
  c.hidden_dim = hidden;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = kv;
  c.vocab_size = vocab;
  c.context_length = ctx;
  c.norm_eps = eps;
  c.tied_output = tied;
  return c;
}
const NamedShape kShapes[] = {
    {"tiny", shape(64, 172, 5, 8, 4, 512, 512, 1e-5f, true), "stories260K's shape: GQA, tied output"},
    {"tiny-odd", shape(48, 100, 3, 6, 2, 300, 256, 1e-5f, false), "odd sizes, GQA, separate output (tests)"},
    {"small", shape(256, 768, 6, 8, 8, 4096, 1024, 1e-5f, false), "a few million parameters"},
    {"tinyllama-1.1b", shape(2048, 5632, 22, 32, 4, 32000, 2048, 1e-5f, false), "TinyLlama 1.1B"},
    {"llama2-7b", shape(4096, 11008, 32, 32, 32, 32000, 4096, 1e-5f, false), "Llama-2 7B"},
    {"llama2-13b", shape(5120, 13824, 40, 40, 40, 32000, 4096, 1e-5f, false), "Llama-2 13B"},
};
}  // namespace

Result<LlamaConfig> named_shape(const std::string& name) {
  for (const auto& s : kShapes)
    if (name == s.name) return s.config;
  return make_error("unknown shape {}; known shapes: {}", name, named_shape_list());
}

std::string named_shape_list() {
  std::string out;
  for (const auto& s : kShapes) out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", s.name, s.about);
  return out;
}

}  // namespace limarp
