#include "model/tensor_names.h"

#include <fmt/format.h>

#include <charconv>

namespace limarp {
namespace {

struct Alias {
  const char* gguf;  // suffix after blk.N.
  const char* hf;    // suffix after model.layers.N.
  const char* meta;  // suffix after layers.N.
};
constexpr Alias kLayerAliases[] = {
    {"attn_norm.weight", "input_layernorm.weight", "attention_norm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight", "attention.wq.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight", "attention.wk.weight"},
    {"attn_v.weight", "self_attn.v_proj.weight", "attention.wv.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight", "attention.wo.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight", "ffn_norm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight", "feed_forward.w1.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight", "feed_forward.w2.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight", "feed_forward.w3.weight"},
};
struct GlobalAlias {
  const char* gguf;
  const char* hf;
  const char* meta;
};
constexpr GlobalAlias kGlobalAliases[] = {
    {"token_embd.weight", "model.embed_tokens.weight", "tok_embeddings.weight"},
    {"output_norm.weight", "model.norm.weight", "norm.weight"},
    {"output.weight", "lm_head.weight", "output.weight"},
};

// Splits "<prefix><N>.<rest>" into N and rest.
bool split_layer(std::string_view name, std::string_view prefix, int& layer, std::string_view& rest) {
  if (!name.starts_with(prefix)) return false;
  name.remove_prefix(prefix.size());
  auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  auto [p, ec] = std::from_chars(name.data(), name.data() + dot, layer);
  if (ec != std::errc() || p != name.data() + dot || layer < 0) return false;
  rest = name.substr(dot + 1);
  return true;
}

}  // namespace

const char* gguf_projection_name(Projection p) {
  constexpr const char* kNames[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
  return kNames[static_cast<int>(p)];
}

const char* hf_projection_name(Projection p) {
  constexpr const char* kNames[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                    "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
  return kNames[static_cast<int>(p)];
}

std::optional<Projection> projection_from_hf(std::string_view name) {
  constexpr const char* kShort[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  for (int i = 0; i < 7; ++i)
    if (name == kShort[i]) return static_cast<Projection>(i);
  return std::nullopt;
}

std::string gguf_layer_tensor(int layer, std::string_view suffix) { return fmt::format("blk.{}.{}", layer, suffix); }

std::optional<std::string> canonical_tensor_name(std::string_view name) {
  for (const auto& g : kGlobalAliases)
    if (name == g.gguf || name == g.hf || name == g.meta) return std::string(g.gguf);
  int layer;
  std::string_view rest;
  if (split_layer(name, "blk.", layer, rest)) {
    for (const auto& a : kLayerAliases)
      if (rest == a.gguf) return gguf_layer_tensor(layer, a.gguf);
    return std::nullopt;
  }
  if (split_layer(name, "model.layers.", layer, rest)) {
    if (rest == "self_attn.rotary_emb.inv_freq") return std::string();
    for (const auto& a : kLayerAliases)
      if (rest == a.hf) return gguf_layer_tensor(layer, a.gguf);
    return std::nullopt;
  }
  if (split_layer(name, "layers.", layer, rest)) {
    for (const auto& a : kLayerAliases)
      if (rest == a.meta) return gguf_layer_tensor(layer, a.gguf);
  }
  if (name == "rope.freqs") return std::string();
  return std::nullopt;
}

std::optional<std::string> hf_tensor_name(std::string_view canonical) {
  for (const auto& g : kGlobalAliases)
    if (canonical == g.gguf) return std::string(g.hf);
  int layer;
  std::string_view rest;
  if (split_layer(canonical, "blk.", layer, rest))
    for (const auto& a : kLayerAliases)
      if (rest == a.gguf) return fmt::format("model.layers.{}.{}", layer, a.hf);
  return std::nullopt;
}

}  // namespace limarp
