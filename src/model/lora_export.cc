#include "model/lora_export.h"

#include <cmath>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/atomic_folder.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "tensor/quantize.h"

namespace fs = std::filesystem;

namespace limarp {
namespace {

// B for writing: in the target layout, scaled by `factor` (1 = unchanged), f32 when changed.
OutTensor b_factor(std::string name, const TensorView& b, int64_t heads, bool reorder, bool to_interleaved,
                   float factor) {
  if (!reorder && factor == 1.0f) return OutTensor::copy_of(std::move(name), b);
  OutTensor t{name, DType::kF32, b.shape, nullptr};
  t.fill = [b, heads, reorder, to_interleaved, factor](std::span<uint8_t> dst) -> Status {
    LIMARP_ASSIGN_OR_RETURN(Tensor f, dequantize(b));
    if (reorder) f = permute_rope_rows(f.view(), heads, to_interleaved);
    for (int64_t i = 0; i < f.elements(); ++i) f.f32()[i] *= factor;
    std::memcpy(dst.data(), f.bytes(), dst.size());
    return {};
  };
  return t;
}

int64_t heads_for(Projection p, const LlamaConfig& c) {
  return p == Projection::kQ ? c.n_heads : p == Projection::kK ? c.n_kv_heads : 0;
}

}  // namespace

Status write_gguf_lora(const std::string& path, const LoraAdapter& ad, const LlamaConfig& base) {
  // One alpha for the file: the config's when every pair's scale is alpha / r; otherwise
  // alpha = r_max and each B carries its own correction.
  const double alpha = ad.config().lora_alpha > 0 ? ad.config().lora_alpha : static_cast<double>(ad.max_rank());
  const bool reorder = ad.layout() != RopeLayout::kInterleaved;
  std::vector<OutTensor> tensors;
  for (int64_t l = 0; l < base.n_layers; ++l)
    for (Projection p : kAllProjections) {
      const LoraPair* pair = ad.pair(l, p);
      if (!pair) continue;
      const std::string stem = gguf_layer_tensor(static_cast<int>(l), std::string(gguf_projection_name(p)) + ".weight");
      const float implied = static_cast<float>(alpha / static_cast<double>(pair->rank()));
      const float factor = std::fabs(pair->scale - implied) <= 1e-6f * std::fabs(implied) ? 1.0f : pair->scale / implied;
      tensors.push_back(OutTensor::copy_of(stem + ".lora_a", pair->a));
      tensors.push_back(b_factor(stem + ".lora_b", pair->b, heads_for(p, base), reorder && heads_for(p, base) > 0,
                                 true, factor));
    }
  if (ad.token_embedding() || ad.output())
    return make_error("{}: adapters with modules_to_save (full embedding / lm_head) cannot be stored as GGUF LoRA; "
                      "write a PEFT folder or merge instead",
                      path);
  Metadata m;
  m.set("general.architecture", MetaValue::str("llama"));
  m.set("general.type", MetaValue::str("adapter"));
  m.set("adapter.type", MetaValue::str("lora"));
  m.set("adapter.lora.alpha", MetaValue::f32(static_cast<float>(alpha)));
  return write_gguf(path, m, tensors);
}

Status write_peft_folder(const std::string& dir, const LoraAdapter& ad, const LlamaConfig& base) {
  LIMARP_ASSIGN_OR_RETURN(AtomicFolder folder, AtomicFolder::create(dir));
  LIMARP_TRY(write_peft_files(folder.path(), ad, base));
  return folder.commit();
}

Status write_peft_files(const std::string& dir, const LoraAdapter& ad, const LlamaConfig& base) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("cannot create folder {}: {}", dir, ec.message());
  const int64_t r = ad.max_rank();
  LoraConfig config = ad.config();
  config.r = r;
  if (config.lora_alpha <= 0) config.lora_alpha = static_cast<double>(r);
  const bool reorder = ad.layout() != RopeLayout::kHalf;
  std::vector<OutTensor> tensors;
  std::vector<std::string> targets;
  for (int64_t l = 0; l < base.n_layers; ++l)
    for (Projection p : kAllProjections) {
      const LoraPair* pair = ad.pair(l, p);
      if (!pair) continue;
      const std::string short_name = std::string(hf_projection_name(p)).substr(std::string(hf_projection_name(p)).find('.') + 1);
      if (std::find(targets.begin(), targets.end(), short_name) == targets.end()) targets.push_back(short_name);
      const float implied = static_cast<float>(config.scale_for(peft_module_name(l, p), pair->rank()));
      const float factor = std::fabs(pair->scale - implied) <= 1e-6f * std::fabs(implied) ? 1.0f : pair->scale / implied;
      tensors.push_back(OutTensor::copy_of(peft_name(l, p, true), pair->a));
      tensors.push_back(b_factor(peft_name(l, p, false), pair->b, heads_for(p, base), reorder && heads_for(p, base) > 0,
                                 false, factor));
    }
  if (ad.token_embedding()) tensors.push_back(OutTensor::copy_of("base_model.model.model.embed_tokens.weight", *ad.token_embedding()));
  if (ad.output()) tensors.push_back(OutTensor::copy_of("base_model.model.lm_head.weight", *ad.output()));
  for (auto& t : tensors)
    if (t.type != DType::kF32 && t.type != DType::kF16 && t.type != DType::kBF16)
      t = t.transformed(DType::kF32, [](Tensor q) { return dequantize(q.view()); });
  config.target_modules = targets;
  config.target_regex.clear();
  LIMARP_TRY(write_safetensors((fs::path(dir) / "adapter_model.safetensors").string(), tensors, {{"format", "pt"}}));
  return write_file_atomic((fs::path(dir) / "adapter_config.json").string(), config.to_json().dump(2) + "\n");
}

}  // namespace limarp
