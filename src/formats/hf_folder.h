// Hugging Face model folders: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json. Tensors keep their Hugging Face names; config.json is mapped
// to the llama.* metadata keys GGUF uses, and `limarp.layout` = "hf" records that q/k rows are
// in the rotate-half order (formats.md), which the model layer honours.
#pragma once

#include <string>

#include "base/json_util.h"
#include "base/status.h"
#include "formats/tensor_store.h"

namespace limarp {

Result<TensorStore> read_hf_folder(const std::string& dir);

// config.json -> llama.* metadata (exposed for writers and tests).
Status hf_config_to_metadata(const Json& config, const std::string& source, Metadata& out);
// The inverse, for writing a Hugging Face folder.
Json metadata_to_hf_config(const Metadata& metadata);

}  // namespace limarp

namespace limarp {

// Writes a Hugging Face folder's files into `dir`: config.json and model.safetensors, or
// shards of at most `shard_bytes` with model.safetensors.index.json. Each file is written
// atomically; for the folder as a whole, pass an AtomicFolder's path (infer/model_writer.cc).
Status write_hf_folder(const std::string& dir, const Json& config, const std::vector<OutTensor>& tensors,
                       uint64_t shard_bytes = uint64_t{5} << 30);

}  // namespace limarp

namespace limarp {

// One safetensors file as a model: hyper-parameters from config.json beside it, or from
// __metadata__["limarp.config"] (files written by limarp). Without either, tensors only.
Result<TensorStore> read_safetensors_model(const std::string& path);

}  // namespace limarp
