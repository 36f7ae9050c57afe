#include "model/lora_merge.h"

#include <charconv>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "tensor/quantize.h"

namespace limarp {
namespace {

bool parse_projection(const std::string& canonical, int64_t& layer, Projection& proj) {
  if (!canonical.starts_with("blk.")) return false;
  auto [p, ec] = std::from_chars(canonical.data() + 4, canonical.data() + canonical.size(), layer);
  if (ec != std::errc() || *p != '.') return false;
  const std::string rest(p + 1);
  for (Projection q : kAllProjections)
    if (rest == std::string(gguf_projection_name(q)) + ".weight") {
      proj = q;
      return true;
    }
  return false;
}

}  // namespace

Status add_lora_delta(Tensor& w, const LoraPair& pair, float scale, ThreadPool& pool) {
  const int64_t out = w.shape()[0], in = w.shape()[1], r = pair.rank();
  LIMARP_ASSIGN_OR_RETURN(Tensor a, dequantize(pair.a));  // [r, in]
  LIMARP_ASSIGN_OR_RETURN(Tensor b, dequantize(pair.b));  // [out, r]
  // B·A as a matmul: rows of B against rows of Aᵀ ([in, r]).
  Tensor at = Tensor::zeros_f32({in, r});
  for (int64_t k = 0; k < r; ++k)
    for (int64_t i = 0; i < in; ++i) at.f32()[i * r + k] = a.f32()[k * in + i];
  Tensor delta = Tensor::zeros_f32({out, in});
  kernels::matmul(delta.f32(), b.f32(), at.view(), out, pool);
  kernels::axpy(w.f32(), scale, delta.f32(), out * in);
  return {};
}

LlamaModel::TensorEdit merge_edit(const AdapterSet& adapters, ThreadPool& pool) {
  LlamaModel::TensorEdit edit;
  edit.applies = [&adapters](const std::string& canonical) {
    if (canonical == "token_embd.weight") return adapters.token_embedding() != nullptr;
    if (canonical == "output.weight") return adapters.output() != nullptr;
    int64_t layer;
    Projection proj;
    if (!parse_projection(canonical, layer, proj)) return false;
    for (size_t i = 0; i < adapters.size(); ++i)
      if (adapters.scale(i) != 0.0f && adapters.adapter(i).pair(layer, proj)) return true;
    return false;
  };
  edit.apply = [&adapters, &pool](const std::string& canonical, Tensor& w) -> Status {
    const TensorView* replacement = canonical == "token_embd.weight" ? adapters.token_embedding()
                                    : canonical == "output.weight"   ? adapters.output()
                                                                     : nullptr;
    if (replacement) {
      LIMARP_ASSIGN_OR_RETURN(w, dequantize(*replacement));
      return {};
    }
    int64_t layer;
    Projection proj;
    if (!parse_projection(canonical, layer, proj)) return {};
    for (size_t i = 0; i < adapters.size(); ++i) {
      const LoraPair* pair = adapters.adapter(i).pair(layer, proj);
      if (!pair || adapters.scale(i) == 0.0f) continue;
      LIMARP_TRY(add_lora_delta(w, *pair, pair->scale * adapters.scale(i), pool));
    }
    return {};
  };
  return edit;
}

}  // namespace limarp
