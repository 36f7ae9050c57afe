// Writes a model (with its tokenizer) in the format the output path asks for:
//   NAME.gguf          GGUF v3, canonical names, interleaved rotary layout, vocabulary inside
//   NAME.safetensors   one safetensors file in Hugging Face names and layout, its config in
//                      __metadata__["limarp.config"] so it loads on its own
//   a folder           a Hugging Face folder: config.json, model.safetensors (or shards)
// Everything is written to temporary files and renamed into place.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/tensor_store.h"
#include "model/llama_model.h"
#include "model/quant_recipe.h"
#include "tokenizer/vocab.h"

namespace limarp {

enum class OutputKind { kGguf, kSafetensorsFile, kHfFolder };
OutputKind output_kind(const std::string& path);

struct WriteOptions {
  std::optional<QuantRecipe> recipe;  // matrix types; nullopt keeps stored types
  const Vocab* vocab = nullptr;   // tokenizer to embed (GGUF) or write beside (folder)
  std::string name;               // general.name
  const LlamaModel::TensorEdit* edit = nullptr;  // e.g. merging adapters
};

Status write_model(const LlamaModel& model, const std::string& path, const WriteOptions& options);

// For weights that exist only as a list of canonical tensors (random init, merges).
Status write_model_tensors(const LlamaConfig& config, const std::vector<OutTensor>& canonical, const std::string& path,
                           const WriteOptions& options);

}  // namespace limarp
