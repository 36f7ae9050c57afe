// A Llama model bound to its weights: the config plus, per layer, views of the projection
// matrices (still in the mapped file, in their stored type). Whatever the file format, the
// weights are addressed by canonical (GGUF) names and validated against the config, so a
// wrong or damaged file fails here with the tensor's name, never later inside a kernel.
//
//   LIMARP_ASSIGN_OR_RETURN(LlamaModel model, LlamaModel::load("model.gguf"));
//   model.config().dim;  model.layer(3).wq;
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "formats/tensor_store.h"
#include "model/llama_config.h"
#include "model/quant_recipe.h"
#include "model/rope_options.h"
#include "model/tensor_names.h"
#include "tensor/tensor.h"

namespace limarp {

struct LayerWeights {
  TensorView attn_norm;  // [dim], f32
  TensorView wq;         // [dim, dim]
  TensorView wk;         // [kv_dim, dim]
  TensorView wv;         // [kv_dim, dim]
  TensorView wo;         // [dim, dim]
  TensorView ffn_norm;   // [dim], f32
  TensorView w_gate;     // [hidden, dim]
  TensorView w_up;       // [hidden, dim]
  TensorView w_down;     // [dim, hidden]

  const TensorView& projection(Projection p) const;
  TensorView& projection(Projection p);
};

struct LlamaWeights {
  TensorView token_embd;   // [vocab, dim]
  TensorView output_norm;  // [dim], f32
  TensorView output;       // [vocab, dim]; the embedding when tied
  std::vector<LayerWeights> layers;

  // Bytes of every weight as stored (the output matrix once when tied to the embedding).
  uint64_t nbytes(bool tied_output) const;
};

class LlamaModel {
 public:
  // Opens any supported file or folder (GGUF, safetensors, Hugging Face folder, llama2.c).
  static Result<LlamaModel> load(const std::string& path);
  static Result<LlamaModel> from_store(TensorStore store);

  const LlamaConfig& config() const { return config_; }
  // RoPE for a run (model/rope_options.h): call before building any Forward or TrainingPass,
  // which take their rotary tables from the config once. Returns the line to log.
  Result<std::string> apply_rope_overrides(const RopeOverrides& o, int64_t run_context) {
    return limarp::apply_rope_overrides(config_, o, run_context);
  }
  const LlamaWeights& weights() const { return weights_; }
  const LayerWeights& layer(int64_t i) const { return weights_.layers[static_cast<size_t>(i)]; }
  const TensorStore& store() const { return *store_; }
  const Metadata& metadata() const { return store_->metadata; }
  const std::string& source() const { return store_->source; }
  // The dominant weight type as stored ("q4_0", "f16", "mostly q4_k").
  std::string weight_type_name() const;

  // For inference only: puts the projection and output matrices in the layout the backend
  // computes with fastest (the CPU backend regroups Q4_0, Q8_0, Q4_K and Q6_K 16 rows at a time
  // where the active level has kernels for it, releasing the mapped file's pages as it goes,
  // so memory holds one copy). Training, merging and writing need the stored layout: never
  // call it before those. Returns the number of matrices rewritten.
  int64_t prepare_weights(Backend& backend);
  // The same for layers [first, end) only, and the output matrix when `output` (layer offload
  // gives each backend its own layers).
  int64_t prepare_weights(Backend& backend, int64_t first, int64_t end, bool output);
  uint64_t weight_bytes() const;

  // An edit applied to chosen tensors, in f32 and in this model's own rotary layout, before
  // they are reordered and converted for writing (merging adapters uses it).
  struct TensorEdit {
    std::function<bool(const std::string& canonical)> applies;
    std::function<Status(const std::string& canonical, Tensor& f32)> apply;
  };

  // Tensors in canonical GGUF names and the interleaved rotary layout, matrices converted as
  // the recipe says (norms stay f32); a null recipe keeps every tensor in its stored type.
  std::vector<OutTensor> canonical_tensors(const QuantRecipe* recipe, const TensorEdit* edit = nullptr) const;
  // The same in Hugging Face names and the rotate-half layout.
  std::vector<OutTensor> hf_tensors(const QuantRecipe* recipe, const TensorEdit* edit = nullptr) const;

 private:
  std::vector<OutTensor> tensors_in_layout(const QuantRecipe* recipe, const TensorEdit* edit, RopeLayout layout,
                                           bool hf_names) const;

  LlamaConfig config_;
  LlamaWeights weights_;
  std::shared_ptr<TensorStore> store_;
};

// Reorders the rows of a q/k projection between the Hugging Face (rotate-half) and the
// interleaved rotary layouts. Rows move whole, so any stored type works. `to_interleaved`
// picks the direction. Works on any [n_heads * head_dim, ...] tensor, e.g. a LoRA B matrix.
Tensor permute_rope_rows(const TensorView& w, int64_t n_heads, bool to_interleaved);

}  // namespace limarp
