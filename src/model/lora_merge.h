// Merging adapters into base weights: W' = W + Σ scale·user_scale·B·A, computed in f32 from the
// dequantized base (merging into quantized blocks would compound their error), then stored in
// the type the recipe asks for. modules_to_save replace the embedding / output matrix.
#pragma once

#include "base/thread_pool.h"
#include "model/adapter_set.h"
#include "model/llama_model.h"

namespace limarp {

// The edit that merges `adapters` into a model's tensors when they are written.
LlamaModel::TensorEdit merge_edit(const AdapterSet& adapters, ThreadPool& pool);

// W += s · B·A for one projection (f32, the base's layout). Exposed for tests.
Status add_lora_delta(Tensor& w, const LoraPair& pair, float scale, ThreadPool& pool);

}  // namespace limarp
