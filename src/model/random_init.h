// Random-initialised Llama weights for tests and benchmarks without real weights: normal
// with std 0.02 (Llama's initialiser), norms at 1. Tensors are produced one at a time, so a
// 7B file is written without holding the model in memory.
#pragma once

#include <cstdint>
#include <vector>

#include "formats/tensor_store.h"
#include "model/llama_config.h"
#include "model/quant_recipe.h"

namespace limarp {

// Canonical (GGUF) names, interleaved rotary layout. Each tensor's values depend only on the
// seed and the tensor's name, so any subset or order reproduces the same numbers.
std::vector<OutTensor> random_llama_tensors(const LlamaConfig& config, const QuantRecipe& recipe, uint64_t seed,
                                            float stddev = 0.02f);

}  // namespace limarp
