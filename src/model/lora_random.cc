#include "model/lora_random.h"

#include "base/rng.h"
#include "tensor/quantize.h"

namespace limarp {

Result<LoraAdapter> random_lora(const LlamaModel& base, const RandomLoraOptions& o) {
  TensorStore store;
  store.format = FileFormat::kSafetensors;
  store.source = "random LoRA";
  const LlamaConfig& c = base.config();
  uint64_t stream = o.seed;
  auto fill = [&](const Shape& shape) -> Result<Tensor> {
    Rng rng(stream++);
    std::vector<float> v(static_cast<size_t>(shape_elements(shape)));
    for (auto& x : v) x = rng.fast_normal() * o.stddev;
    return quantize(v.data(), shape, o.type);
  };
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (Projection p : kAllProjections) {
      const TensorView& w = base.layer(l).projection(p);
      LIMARP_ASSIGN_OR_RETURN(Tensor a, fill({o.rank, w.shape[1]}));
      LIMARP_ASSIGN_OR_RETURN(Tensor b, fill({w.shape[0], o.rank}));
      store.add_owned(peft_name(l, p, true), std::move(a));
      store.add_owned(peft_name(l, p, false), std::move(b));
    }
  LoraConfig config;
  config.r = o.rank;
  config.lora_alpha = o.alpha;
  config.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  // Generated directly in the base's row order: nothing to reorder.
  return LoraAdapter::from_peft_store(std::move(store), config, base, c.rope_layout);
}

}  // namespace limarp
