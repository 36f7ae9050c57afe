#include "model/lora_adapter.h"

#include <charconv>
#include <cmath>
#include <map>
#include <filesystem>

#include "formats/gguf.h"
#include "formats/pytorch_zip.h"
#include "formats/safetensors.h"
#include "tensor/quantize.h"

namespace fs = std::filesystem;

namespace limarp {

std::string peft_module_name(int64_t layer, Projection p) {
  return fmt::format("model.layers.{}.{}", layer, hf_projection_name(p));
}

std::string peft_name(int64_t layer, Projection p, bool is_a) {
  return fmt::format("base_model.model.{}.lora_{}.weight", peft_module_name(layer, p), is_a ? "A" : "B");
}

std::optional<PeftName> parse_peft_name(const std::string& full) {
  std::string_view n = full;
  for (std::string_view prefix : {"base_model.model.", "base_model."})
    if (n.starts_with(prefix)) {
      n.remove_prefix(prefix.size());
      break;
    }
  if (!n.starts_with("model.layers.")) return std::nullopt;
  n.remove_prefix(13);
  int64_t layer = -1;
  auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), layer);
  if (ec != std::errc() || *p != '.') return std::nullopt;
  n.remove_prefix(static_cast<size_t>(p - n.data()) + 1);
  // "<self_attn|mlp>.<proj>.lora_<A|B>[.default].weight"
  for (Projection proj : kAllProjections) {
    const std::string module = hf_projection_name(proj);
    if (!n.starts_with(module + ".lora_")) continue;
    std::string_view rest = n.substr(module.size() + 6);
    const bool is_a = rest.starts_with("A");
    if (!is_a && !rest.starts_with("B")) return std::nullopt;
    rest.remove_prefix(1);
    if (rest != ".weight" && rest != ".default.weight") return std::nullopt;
    return PeftName{layer, proj, is_a};
  }
  return std::nullopt;
}

namespace {

// GGUF LoRA names: blk.N.attn_q.weight.lora_a
std::optional<PeftName> parse_gguf_lora_name(const std::string& full) {
  std::string_view n = full;
  bool is_a;
  if (n.ends_with(".weight.lora_a")) is_a = true;
  else if (n.ends_with(".weight.lora_b")) is_a = false;
  else return std::nullopt;
  n.remove_suffix(14);
  if (!n.starts_with("blk.")) return std::nullopt;
  n.remove_prefix(4);
  int64_t layer = -1;
  auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), layer);
  if (ec != std::errc() || *p != '.') return std::nullopt;
  n.remove_prefix(static_cast<size_t>(p - n.data()) + 1);
  for (Projection proj : kAllProjections)
    if (n == gguf_projection_name(proj)) return PeftName{layer, proj, is_a};
  return std::nullopt;
}

// modules_to_save names after the PEFT prefix: "model.embed_tokens[.modules_to_save.default].weight".
std::optional<std::string> saved_module(const std::string& full) {
  std::string n = full;
  for (const std::string prefix : {"base_model.model.", "base_model."})
    if (n.starts_with(prefix)) {
      n = n.substr(prefix.size());
      break;
    }
  for (const std::string infix : {".modules_to_save.default", ".original_module"}) {
    auto pos = n.find(infix);
    if (pos != std::string::npos) {
      if (infix == ".original_module") return std::nullopt;
      n.erase(pos, infix.size());
    }
  }
  if (n == "model.embed_tokens.weight") return "embed_tokens";
  if (n == "lm_head.weight") return "lm_head";
  return std::nullopt;
}

struct Factors {
  std::optional<TensorView> a, b;
  std::string a_name, b_name;
};

}  // namespace

Result<LoraAdapter> LoraAdapter::from_peft_store(TensorStore store, const LoraConfig& config, const LlamaModel& base,
                                                 std::optional<RopeLayout> b_layout) {
  LoraAdapter ad;
  ad.path_ = store.source;
  ad.config_ = config;
  const bool gguf = store.format == FileFormat::kGguf;
  const LlamaConfig& bc = base.config();
  ad.layout_ = bc.rope_layout;
  const RopeLayout file_layout = b_layout.value_or(gguf ? RopeLayout::kInterleaved : RopeLayout::kHalf);
  const std::string& src = store.source;
  std::map<std::pair<int64_t, int>, Factors> found;
  for (const auto& name : store.names()) {
    const TensorView* t = store.find(name);
    auto parsed = gguf ? parse_gguf_lora_name(name) : parse_peft_name(name);
    if (!parsed) {
      auto saved = gguf ? std::nullopt : saved_module(name);
      if (saved && *saved == "embed_tokens") {
        if (t->shape != base.weights().token_embd.shape)
          return make_error("{}: {} has shape {}, the base embedding is {} — wrong base model?", src, name,
                            shape_string(t->shape), shape_string(base.weights().token_embd.shape));
        ad.embedding_ = *t;
        continue;
      }
      if (saved && *saved == "lm_head") {
        if (t->shape != base.weights().output.shape)
          return make_error("{}: {} has shape {}, the base output matrix is {} — wrong base model?", src, name,
                            shape_string(t->shape), shape_string(base.weights().output.shape));
        ad.output_ = *t;
        continue;
      }
      return make_error("{}: tensor {} is not a LoRA factor of a Llama projection (unsupported adapter kind?)", src,
                        name);
    }
    if (parsed->layer < 0 || parsed->layer >= bc.n_layers)
      return make_error("{}: tensor {} is for layer {}, but the base model has {} layers — wrong base model?", src,
                        name, parsed->layer, bc.n_layers);
    if (!can_dequantize(t->type) || t->shape.size() != 2)
      return make_error("{}: tensor {} must be a 2-D float tensor, got {} {}", src, name, dtype_name(t->type),
                        shape_string(t->shape));
    Factors& f = found[{parsed->layer, static_cast<int>(parsed->projection)}];
    (parsed->is_a ? f.a : f.b) = *t;
    (parsed->is_a ? f.a_name : f.b_name) = name;
  }
  for (int64_t l : config.layers_to_transform)
    if (l >= bc.n_layers)
      return make_error("{}: layers_to_transform names layer {}, but the base model has {} layers (0..{})", src, l,
                        bc.n_layers, bc.n_layers - 1);
  ad.pairs_.resize(static_cast<size_t>(bc.n_layers));
  for (auto& [key, f] : found) {
    const auto [layer, pi] = key;
    const auto proj = static_cast<Projection>(pi);
    if (!f.a || !f.b)
      return make_error("{}: {} has no matching {}", src, f.a ? f.a_name : f.b_name, f.a ? "lora_B" : "lora_A");
    const TensorView& w = base.layer(layer).projection(proj);
    const int64_t r = f.a->shape[0];
    if (r < 1 || r > kMaxLoraRank)
      return make_error("{}: {} {} has rank {}; a LoRA factor's rank must be between 1 and {}", src, f.a_name,
                        shape_string(f.a->shape), r, kMaxLoraRank);
    if (f.a->shape[1] != w.shape[1] || f.b->shape[0] != w.shape[0] || f.b->shape[1] != r)
      return make_error("{}: {} {} and {} {} do not fit the base projection {} of shape {} — wrong base model?", src,
                        f.a_name, shape_string(f.a->shape), f.b_name, shape_string(f.b->shape),
                        gguf_layer_tensor(static_cast<int>(layer), std::string(gguf_projection_name(proj)) + ".weight"),
                        shape_string(w.shape));
    LoraPair pair{*f.a, *f.b, 1.0f};
    const std::string module = peft_module_name(layer, proj);
    if (gguf) {
      const double alpha = store.metadata.get_double("adapter.lora.alpha").value_or(0);
      pair.scale = alpha > 0 ? static_cast<float>(alpha / static_cast<double>(r)) : 1.0f;
    } else {
      pair.scale = static_cast<float>(config.scale_for(module, r));
    }
    if (!std::isfinite(pair.scale) || std::fabs(pair.scale) > kMaxLoraAlpha)
      return make_error("{}: {} gets scale {} (alpha / rank); expected a finite scale of at most {}", src, module,
                        pair.scale, kMaxLoraAlpha);
    if ((proj == Projection::kQ || proj == Projection::kK) && file_layout != bc.rope_layout) {
      const int64_t heads = proj == Projection::kQ ? bc.n_heads : bc.n_kv_heads;
      const std::string owned = f.b_name + "#reordered";
      store.add_owned(owned, permute_rope_rows(*f.b, heads, bc.rope_layout == RopeLayout::kInterleaved));
      pair.b = *store.find(owned);
    }
    ad.pairs_[static_cast<size_t>(layer)][static_cast<size_t>(pi)] = pair;
  }
  if (found.empty() && !ad.embedding_ && !ad.output_) return make_error("{}: no LoRA tensors found", src);
  ad.store_ = std::make_shared<TensorStore>(std::move(store));
  return ad;
}

Result<LoraAdapter> LoraAdapter::load(const std::string& path, const LlamaModel& base) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    LIMARP_ASSIGN_OR_RETURN(LoraConfig config, LoraConfig::load((dir / "adapter_config.json").string()));
    Result<TensorStore> store = make_error("{}: no adapter_model.safetensors or adapter_model.bin", path);
    if (fs::exists(dir / "adapter_model.safetensors")) store = read_safetensors((dir / "adapter_model.safetensors").string());
    else if (fs::exists(dir / "adapter_model.bin")) store = read_pytorch_checkpoint((dir / "adapter_model.bin").string());
    if (!store.ok()) return store.error();
    return from_peft_store(std::move(store.value()), config, base);
  }
  LIMARP_ASSIGN_OR_RETURN(TensorStore store, read_gguf(path));
  const auto type = store.metadata.get_string("general.type");
  const auto kind = store.metadata.get_string("adapter.type");
  if (type.value_or("") != "adapter" || kind.value_or("") != "lora")
    return make_error("{}: not a GGUF LoRA adapter (general.type {:?}, adapter.type {:?}); a PEFT adapter is a folder "
                      "with adapter_config.json",
                      path, type.value_or(""), kind.value_or(""));
  LoraConfig config;
  config.lora_alpha = store.metadata.get_double("adapter.lora.alpha").value_or(0);
  if (!(config.lora_alpha >= 0 && config.lora_alpha <= kMaxLoraAlpha))  // 0: absent, scale 1
    return make_error("{}: adapter.lora.alpha = {} is not a number between 0 and {}", path, config.lora_alpha,
                      kMaxLoraAlpha);
  return from_peft_store(std::move(store), config, base);
}

const LoraPair* LoraAdapter::pair(int64_t layer, Projection p) const {
  if (layer < 0 || layer >= static_cast<int64_t>(pairs_.size())) return nullptr;
  const auto& slot = pairs_[static_cast<size_t>(layer)][static_cast<size_t>(p)];
  return slot ? &*slot : nullptr;
}

int64_t LoraAdapter::max_rank() const {
  int64_t r = 0;
  for (const auto& layer : pairs_)
    for (const auto& p : layer)
      if (p) r = std::max(r, p->rank());
  return r;
}

uint64_t LoraAdapter::bytes() const {
  uint64_t b = 0;
  for (const auto& layer : pairs_)
    for (const auto& p : layer)
      if (p) b += p->a.nbytes + p->b.nbytes;
  return b;
}

int64_t LoraAdapter::pair_count() const {
  int64_t n = 0;
  for (const auto& layer : pairs_)
    for (const auto& p : layer) n += p.has_value();
  return n;
}

}  // namespace limarp
