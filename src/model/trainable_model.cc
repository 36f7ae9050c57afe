#include "model/trainable_model.h"

#include <cmath>
#include <cstring>

#include "base/log.h"
#include "base/rng.h"
#include "tensor/nf4_double_quant.h"
#include "tensor/quantize.h"

namespace limarp {
namespace {

std::string short_projection_name(Projection p) {
  const std::string full = hf_projection_name(p);
  return full.substr(full.find('.') + 1);  // "self_attn.q_proj" -> "q_proj"
}

Status copy_into(Parameter& p, const TensorView& view) {
  LIMARP_ASSIGN_OR_RETURN(Tensor f, dequantize(view));
  if (f.elements() != p.value.elements()) return make_error("parameter {}: size mismatch", p.name);
  std::memcpy(p.value.bytes(), f.bytes(), p.value.nbytes());
  return {};
}

}  // namespace

Status TrainableModel::quantize_base(BaseQuantization quant) {
  if (quant == BaseQuantization::kAsStored) return {};
  int kept = 0;
  for (int64_t l = 0; l < config_.n_layers; ++l) {
    LayerWeights& lw = weights_.layers[static_cast<size_t>(l)];
    for (Projection p : kAllProjections) {
      TensorView& view = lw.projection(p);
      if (view.cols() % kNF4Block != 0) {
        ++kept;  // NF4 needs whole blocks of 64 per row; such matrices stay as stored
        continue;
      }
      LIMARP_ASSIGN_OR_RETURN(Tensor f, dequantize(view));
      LIMARP_ASSIGN_OR_RETURN(Tensor q, quantize(f.f32(), view.shape, DType::kNF4));
      if (quant == BaseQuantization::kNF4DoubleQuant)
        nf4_double_quantize(reinterpret_cast<BlockNF4*>(q.bytes()), q.elements() / kNF4Block);
      frozen_.push_back(std::make_unique<Tensor>(std::move(q)));
      view = frozen_.back()->view();
    }
  }
  if (kept > 0)
    log::warn("{} projection matrices have rows of a length that is not a multiple of 64 and stay in their stored "
              "type instead of NF4",
              kept);
  return {};
}

Result<TrainableModel> TrainableModel::lora(const LlamaModel& base, const LoraTrainSpec& spec, BaseQuantization quant,
                                            uint64_t seed) {
  if (spec.rank < 1) return make_error("lora_r must be at least 1, got {}", spec.rank);
  if (spec.targets.empty()) return make_error("no LoRA target modules: set lora_target_linear or lora_target_modules");
  TrainableModel tm;
  tm.config_ = base.config();
  tm.weights_ = base.weights();
  tm.dropout_ = spec.dropout;
  tm.lora_.resize(static_cast<size_t>(tm.config_.n_layers));
  const double scale = spec.use_rslora ? spec.alpha / std::sqrt(static_cast<double>(spec.rank))
                                       : spec.alpha / static_cast<double>(spec.rank);
  Rng rng(seed);
  for (int64_t l = 0; l < tm.config_.n_layers; ++l)
    for (Projection p : spec.targets) {
      const TensorView& w = base.layer(l).projection(p);
      const int64_t n_out = w.rows(), n_in = w.cols();
      LoraSlot& slot = tm.lora_[static_cast<size_t>(l)][static_cast<size_t>(p)];
      slot.a = tm.params_.add(peft_name(l, p, true), {spec.rank, n_in});
      slot.b = tm.params_.add(peft_name(l, p, false), {n_out, spec.rank});
      slot.scale = static_cast<float>(scale);
      const double bound = 1.0 / std::sqrt(static_cast<double>(n_in));
      float* a = slot.a->value.f32();
      for (int64_t i = 0; i < slot.a->value.elements(); ++i)
        a[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    }
  LoraConfig& c = tm.lora_config_;
  c.r = spec.rank;
  c.lora_alpha = spec.alpha;
  c.lora_dropout = spec.dropout;
  c.use_rslora = spec.use_rslora;
  for (Projection p : kAllProjections)
    if (std::find(spec.targets.begin(), spec.targets.end(), p) != spec.targets.end())
      c.target_modules.push_back(short_projection_name(p));
  LIMARP_TRY(tm.quantize_base(quant));
  return tm;
}

Result<TrainableModel> TrainableModel::lora_from_adapter(const LlamaModel& base, const LoraAdapter& adapter,
                                                         float dropout, BaseQuantization quant) {
  if (adapter.token_embedding() || adapter.output())
    return make_error("{}: adapters with modules_to_save (full embedding / lm_head) cannot be trained further",
                      adapter.path());
  TrainableModel tm;
  tm.config_ = base.config();
  tm.weights_ = base.weights();
  tm.dropout_ = dropout;
  tm.lora_config_ = adapter.config();
  tm.lora_config_.lora_dropout = dropout;
  tm.lora_.resize(static_cast<size_t>(tm.config_.n_layers));
  std::vector<std::string> targets;
  for (int64_t l = 0; l < tm.config_.n_layers; ++l)
    for (Projection p : kAllProjections) {
      const LoraPair* pair = adapter.pair(l, p);
      if (!pair) continue;
      LoraSlot& slot = tm.lora_[static_cast<size_t>(l)][static_cast<size_t>(p)];
      slot.a = tm.params_.add(peft_name(l, p, true), pair->a.shape);
      slot.b = tm.params_.add(peft_name(l, p, false), pair->b.shape);
      slot.scale = pair->scale;
      LIMARP_TRY(copy_into(*slot.a, pair->a));
      LIMARP_TRY(copy_into(*slot.b, pair->b));  // already in the base's row order
      const std::string name = short_projection_name(p);
      if (std::find(targets.begin(), targets.end(), name) == targets.end()) targets.push_back(name);
    }
  if (tm.params_.size() == 0) return make_error("{}: the adapter has no LoRA factors", adapter.path());
  if (tm.lora_config_.target_regex.empty() && tm.lora_config_.target_modules.empty())
    tm.lora_config_.target_modules = targets;
  LIMARP_TRY(tm.quantize_base(quant));
  return tm;
}

Result<TrainableModel> TrainableModel::full(const LlamaModel& base) {
  TrainableModel tm;
  tm.config_ = base.config();
  tm.dense_ = std::make_unique<DenseSlots>();
  DenseSlots& d = *tm.dense_;
  const LlamaWeights& bw = base.weights();
  LlamaWeights& w = tm.weights_;
  auto add = [&](const std::string& name, const TensorView& view, bool decay) -> Result<Parameter*> {
    Parameter* p = tm.params_.add(name, view.shape, decay);
    LIMARP_TRY(copy_into(*p, view).with_context(name));
    return p;
  };
  LIMARP_ASSIGN_OR_RETURN(d.token_embd, add("token_embd.weight", bw.token_embd, true));
  w.token_embd = d.token_embd->value.view();
  for (int64_t l = 0; l < tm.config_.n_layers; ++l) {
    const LayerWeights& bl = base.layer(l);
    DenseSlots::Layer dl;
    LayerWeights lw;
    auto n = [&](const char* s) { return gguf_layer_tensor(static_cast<int>(l), s); };
    LIMARP_ASSIGN_OR_RETURN(dl.attn_norm, add(n("attn_norm.weight"), bl.attn_norm, false));
    LIMARP_ASSIGN_OR_RETURN(dl.ffn_norm, add(n("ffn_norm.weight"), bl.ffn_norm, false));
    lw.attn_norm = dl.attn_norm->value.view();
    lw.ffn_norm = dl.ffn_norm->value.view();
    for (Projection p : kAllProjections) {
      const std::string name = n((std::string(gguf_projection_name(p)) + ".weight").c_str());
      LIMARP_ASSIGN_OR_RETURN(dl.projection[static_cast<size_t>(p)], add(name, bl.projection(p), true));
      lw.projection(p) = dl.projection[static_cast<size_t>(p)]->value.view();
    }
    d.layers.push_back(dl);
    w.layers.push_back(lw);
  }
  LIMARP_ASSIGN_OR_RETURN(d.output_norm, add("output_norm.weight", bw.output_norm, false));
  w.output_norm = d.output_norm->value.view();
  if (tm.config_.tied_output) {
    d.output = d.token_embd;
  } else {
    LIMARP_ASSIGN_OR_RETURN(d.output, add("output.weight", bw.output, true));
  }
  w.output = d.output->value.view();
  tm.lora_.resize(static_cast<size_t>(tm.config_.n_layers));
  return tm;
}

int64_t TrainableModel::max_lora_rank() const {
  int64_t r = 0;
  for (const auto& layer : lora_)
    for (const auto& s : layer)
      if (s.active()) r = std::max(r, s.a->value.shape()[0]);
  return r;
}

uint64_t TrainableModel::frozen_bytes() const {
  if (is_full()) return 0;
  uint64_t total = weights_.token_embd.nbytes + weights_.output_norm.nbytes;
  if (!config_.tied_output) total += weights_.output.nbytes;
  for (const auto& l : weights_.layers) {
    total += l.attn_norm.nbytes + l.ffn_norm.nbytes;
    for (Projection p : kAllProjections) total += l.projection(p).nbytes;
  }
  return total;
}

Result<LoraAdapter> TrainableModel::to_adapter(const LlamaModel& base) const {
  if (is_full()) return make_error("full-parameter training has no adapter to export");
  TensorStore store;
  store.format = FileFormat::kSafetensors;
  store.source = "trained adapter";
  const bool interleaved = config_.rope_layout == RopeLayout::kInterleaved;
  for (int64_t l = 0; l < config_.n_layers; ++l)
    for (Projection p : kAllProjections) {
      const LoraSlot& s = lora_slot(l, p);
      if (!s.active()) continue;
      store.add_owned(peft_name(l, p, true), s.a->value.clone());
      // PEFT files hold q/k rows in the Hugging Face order; from_peft_store reorders them back.
      const int64_t heads = p == Projection::kQ ? config_.n_heads : p == Projection::kK ? config_.n_kv_heads : 0;
      if (heads > 0 && interleaved) store.add_owned(peft_name(l, p, false), permute_rope_rows(s.b->value.view(), heads, false));
      else store.add_owned(peft_name(l, p, false), s.b->value.clone());
    }
  return LoraAdapter::from_peft_store(std::move(store), lora_config_, base);
}

std::vector<OutTensor> TrainableModel::dense_tensors() const {
  std::vector<OutTensor> out;
  if (!is_full()) return out;
  const bool half = config_.rope_layout == RopeLayout::kHalf;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Parameter& p = params_[i];
    const bool is_q = p.name.ends_with("attn_q.weight"), is_k = p.name.ends_with("attn_k.weight");
    if (half && (is_q || is_k)) {
      // Canonical tensors use the interleaved rotary layout.
      const int64_t heads = is_q ? config_.n_heads : config_.n_kv_heads;
      auto t = std::make_shared<Tensor>(permute_rope_rows(p.value.view(), heads, true));
      OutTensor o = OutTensor::copy_of(p.name, t->view());
      o.fill = [t](std::span<uint8_t> dst) -> Status {
        std::memcpy(dst.data(), t->bytes(), dst.size());
        return {};
      };
      out.push_back(std::move(o));
    } else {
      out.push_back(OutTensor::copy_of(p.name, p.value.view()));
    }
  }
  return out;
}

}  // namespace limarp
