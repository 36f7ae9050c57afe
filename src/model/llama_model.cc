#include "model/llama_model.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "base/log.h"
#include "base/mapped_file.h"
#include "kernels/cpu/registry.h"
#include "kernels/weight_kernels.h"
#include "tensor/row_interleave.h"
#include "tensor/quantize.h"

namespace limarp {

const TensorView& LayerWeights::projection(Projection p) const {
  return const_cast<LayerWeights*>(this)->projection(p);
}

TensorView& LayerWeights::projection(Projection p) {
  switch (p) {
    case Projection::kQ: return wq;
    case Projection::kK: return wk;
    case Projection::kV: return wv;
    case Projection::kO: return wo;
    case Projection::kGate: return w_gate;
    case Projection::kUp: return w_up;
    case Projection::kDown: return w_down;
  }
  return wq;
}

Tensor permute_rope_rows(const TensorView& w, int64_t n_heads, bool to_interleaved) {
  const int64_t rows = w.shape[0];
  const int64_t head = rows / n_heads, half = head / 2;
  const uint64_t stride = w.nbytes / static_cast<uint64_t>(rows);
  Tensor out(w.type, w.shape);
  const auto* src = static_cast<const uint8_t*>(w.data);
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t b = 0; b < half; ++b) {
        const int64_t hf_row = h * head + a * half + b;      // rotate-half: (h, a, b)
        const int64_t il_row = h * head + 2 * b + a;         // interleaved: (h, b, a)
        const int64_t from = to_interleaved ? hf_row : il_row, to = to_interleaved ? il_row : hf_row;
        std::memcpy(out.bytes() + to * stride, src + from * stride, stride);
      }
  return out;
}

namespace {

Status check_shape(const TensorView& t, const std::string& name, const Shape& want, const std::string& source) {
  if (t.shape != want)
    return make_error("{}: tensor {} has shape {}, expected {} from the model's hyper-parameters — wrong or "
                      "damaged model file?",
                      source, name, shape_string(t.shape), shape_string(want));
  return {};
}

}  // namespace

Result<LlamaModel> LlamaModel::load(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(TensorStore store, open_tensor_file(path));
  return from_store(std::move(store));
}

Result<LlamaModel> LlamaModel::from_store(TensorStore store) {
  const std::string source = store.source;
  LIMARP_ASSIGN_OR_RETURN(LlamaConfig config, LlamaConfig::from_metadata(store.metadata, source));

  // Canonical names: rename HF / Meta names in place.
  std::vector<std::string> names = store.names();
  for (const auto& name : names) {
    auto canon = canonical_tensor_name(name);
    if (!canon) {
      // Unknown tensors are kept (and reported by `info`) but never bound.
      continue;
    }
    if (canon->empty()) {
      store.erase(name);
      continue;
    }
    if (*canon != name) {
      if (store.find(*canon)) return make_error("{}: tensor {} appears under two names", source, *canon);
      store.rename(name, *canon);
    }
  }

  auto get = [&](const std::string& name) -> Result<TensorView> {
    const TensorView* t = store.find(name);
    if (!t) return make_error("{}: missing tensor {}", source, name);
    if (!can_dequantize(t->type))
      return make_error("{}: tensor {} has type {}, which limarp cannot compute with", source, name,
                        dtype_name(t->type));
    return *t;
  };
  LIMARP_ASSIGN_OR_RETURN(TensorView embd, get("token_embd.weight"));
  if (embd.shape.size() != 2) return make_error("{}: token_embd.weight must be 2-D", source);
  if (config.vocab_size == 0) config.vocab_size = embd.shape[0];
  config.tied_output = store.find("output.weight") == nullptr;
  LIMARP_TRY(config.validate().with_context(source));

  const int64_t dim = config.dim, kv = config.kv_dim(), hid = config.hidden_dim, V = config.vocab_size;
  LIMARP_TRY(check_shape(embd, "token_embd.weight", {V, dim}, source));

  // Norm weights are tiny; hold them as f32 so kernels need one code path.
  auto norm = [&](const std::string& name) -> Result<TensorView> {
    LIMARP_ASSIGN_OR_RETURN(TensorView t, get(name));
    LIMARP_TRY(check_shape(t, name, {dim}, source));
    if (t.type == DType::kF32) return t;
    LIMARP_ASSIGN_OR_RETURN(Tensor f, dequantize(t));
    store.replace(name, std::move(f));
    return *store.find(name);
  };
  auto matrix = [&](const std::string& name, Shape want) -> Result<TensorView> {
    LIMARP_ASSIGN_OR_RETURN(TensorView t, get(name));
    LIMARP_TRY(check_shape(t, name, want, source));
    return t;
  };

  LlamaModel model;
  model.config_ = config;
  auto& w = model.weights_;
  w.token_embd = embd;
  LIMARP_ASSIGN_OR_RETURN(w.output_norm, norm("output_norm.weight"));
  if (config.tied_output) {
    w.output = embd;
  } else {
    LIMARP_ASSIGN_OR_RETURN(w.output, matrix("output.weight", {V, dim}));
  }
  for (int64_t l = 0; l < config.n_layers; ++l) {
    auto n = [&](const char* suffix) { return gguf_layer_tensor(static_cast<int>(l), suffix); };
    LayerWeights lw;
    LIMARP_ASSIGN_OR_RETURN(lw.attn_norm, norm(n("attn_norm.weight")));
    LIMARP_ASSIGN_OR_RETURN(lw.wq, matrix(n("attn_q.weight"), {dim, dim}));
    LIMARP_ASSIGN_OR_RETURN(lw.wk, matrix(n("attn_k.weight"), {kv, dim}));
    LIMARP_ASSIGN_OR_RETURN(lw.wv, matrix(n("attn_v.weight"), {kv, dim}));
    LIMARP_ASSIGN_OR_RETURN(lw.wo, matrix(n("attn_output.weight"), {dim, dim}));
    LIMARP_ASSIGN_OR_RETURN(lw.ffn_norm, norm(n("ffn_norm.weight")));
    LIMARP_ASSIGN_OR_RETURN(lw.w_gate, matrix(n("ffn_gate.weight"), {hid, dim}));
    LIMARP_ASSIGN_OR_RETURN(lw.w_up, matrix(n("ffn_up.weight"), {hid, dim}));
    LIMARP_ASSIGN_OR_RETURN(lw.w_down, matrix(n("ffn_down.weight"), {dim, hid}));
    w.layers.push_back(std::move(lw));
  }
  model.store_ = std::make_shared<TensorStore>(std::move(store));
  return model;
}

std::string LlamaModel::weight_type_name() const {
  std::map<DType, uint64_t> bytes;
  for (const auto& l : weights_.layers)
    for (Projection p : kAllProjections) {
      const DType t = l.projection(p).type;
      bytes[t] += l.projection(p).nbytes;
    }
  if (bytes.size() == 1) return dtype_name(bytes.begin()->first);
  DType best = bytes.begin()->first;
  for (const auto& [t, b] : bytes)
    if (b > bytes[best]) best = t;
  return fmt::format("mostly {}", dtype_name(best));
}

uint64_t LlamaWeights::nbytes(bool tied_output) const {
  uint64_t total = token_embd.nbytes + output_norm.nbytes;
  if (!tied_output) total += output.nbytes;
  for (const auto& l : layers) {
    total += l.attn_norm.nbytes + l.ffn_norm.nbytes;
    for (Projection p : kAllProjections) total += l.projection(p).nbytes;
  }
  return total;
}

uint64_t LlamaModel::weight_bytes() const { return weights_.nbytes(config_.tied_output); }

int64_t LlamaModel::prepare_weights(Backend& backend) {
  return prepare_weights(backend, 0, config_.n_layers, true);
}

int64_t LlamaModel::prepare_weights(Backend& backend, int64_t first, int64_t end, bool output) {
  std::vector<TensorView*> matrices;
  for (int64_t i = first; i < end; ++i)
    for (Projection p : kAllProjections) matrices.push_back(&weights_.layers[static_cast<size_t>(i)].projection(p));
  if (output && !config_.tied_output) matrices.push_back(&weights_.output);
  // Only a GGUF store's tensors are views into a file mapping whose pages can be dropped.
  PreparedWeights prepared =
      backend.prepare_weights(matrices, {store_->source, store_->format == FileFormat::kGguf});
  if (prepared.memory) store_->keep_alive(std::move(prepared.memory));
  return prepared.matrices;
}

namespace {

// A tensor written out: edited (in f32) when asked, q/k rows reordered when the layouts differ,
// then converted to its target type.
OutTensor out_tensor(std::string name, const std::string& canonical, const TensorView& view, const QuantRecipe* recipe,
                     const LlamaModel::TensorEdit* edit, int64_t n_layers, int64_t rope_heads, bool to_interleaved) {
  const bool is_vector = view.shape.size() == 1;
  DType final_type = (!recipe || is_vector) ? view.type : recipe->type_for(canonical, n_layers);
  if (!row_bytes(final_type, view.cols())) {
    // A quantized type needs whole blocks per row; keep such a tensor in f16 instead.
    log::warn("{}: rows of {} do not divide into {} blocks; storing it as f16", name, view.cols(),
              dtype_name(final_type));
    final_type = DType::kF16;
  }
  const bool edited = edit && edit->applies(canonical);
  if (!edited && rope_heads == 0) return OutTensor::converted(std::move(name), view, final_type);
  OutTensor t{name, final_type, view.shape, nullptr};
  t.fill = [view, rope_heads, to_interleaved, final_type, name, canonical, edited, edit](std::span<uint8_t> dst) -> Status {
    Tensor work;
    if (edited) {
      LIMARP_ASSIGN_OR_RETURN(work, dequantize(view));
      LIMARP_TRY(edit->apply(canonical, work).with_context(fmt::format("tensor {}", canonical)));
    }
    const TensorView source = edited ? work.view() : view;
    Tensor permuted;
    if (rope_heads > 0) permuted = permute_rope_rows(source, rope_heads, to_interleaved);
    LIMARP_ASSIGN_OR_RETURN(Tensor c, convert_tensor(rope_heads > 0 ? permuted.view() : source, final_type));
    if (c.nbytes() != dst.size()) return make_error("tensor {}: size mismatch", name);
    std::memcpy(dst.data(), c.bytes(), dst.size());
    return {};
  };
  return t;
}

}  // namespace

std::vector<OutTensor> LlamaModel::tensors_in_layout(const QuantRecipe* recipe, const TensorEdit* edit,
                                                     RopeLayout layout, bool hf_names) const {
  std::vector<OutTensor> out;
  const bool permute = config_.rope_layout != layout;
  const bool to_interleaved = layout == RopeLayout::kInterleaved;
  auto add = [&](const std::string& canonical, const TensorView& v, int64_t heads = 0) {
    // Weights put in a backend's layout are for inference only; files keep the stored one.
    LIMARP_CHECK(v.layout == RowLayout::kStored);
    std::string name = hf_names ? *hf_tensor_name(canonical) : canonical;
    out.push_back(out_tensor(std::move(name), canonical, v, recipe, edit, config_.n_layers, permute ? heads : 0,
                             to_interleaved));
  };
  add("token_embd.weight", weights_.token_embd);
  for (int64_t l = 0; l < config_.n_layers; ++l) {
    const auto& lw = layer(l);
    auto n = [&](const char* s) { return gguf_layer_tensor(static_cast<int>(l), s); };
    add(n("attn_norm.weight"), lw.attn_norm);
    add(n("attn_q.weight"), lw.wq, config_.n_heads);
    add(n("attn_k.weight"), lw.wk, config_.n_kv_heads);
    add(n("attn_v.weight"), lw.wv);
    add(n("attn_output.weight"), lw.wo);
    add(n("ffn_norm.weight"), lw.ffn_norm);
    add(n("ffn_gate.weight"), lw.w_gate);
    add(n("ffn_up.weight"), lw.w_up);
    add(n("ffn_down.weight"), lw.w_down);
  }
  add("output_norm.weight", weights_.output_norm);
  if (!config_.tied_output) add("output.weight", weights_.output);
  return out;
}

std::vector<OutTensor> LlamaModel::canonical_tensors(const QuantRecipe* recipe, const TensorEdit* edit) const {
  return tensors_in_layout(recipe, edit, RopeLayout::kInterleaved, false);
}

std::vector<OutTensor> LlamaModel::hf_tensors(const QuantRecipe* recipe, const TensorEdit* edit) const {
  return tensors_in_layout(recipe, edit, RopeLayout::kHalf, true);
}

}  // namespace limarp
