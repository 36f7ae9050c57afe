// safetensors: an 8-byte header length, a JSON header {name: {dtype, shape, data_offsets}},
// then raw little-endian data. Sharded Hugging Face checkpoints are handled by hf_folder.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/tensor_store.h"

namespace limarp {

bool looks_like_safetensors(std::span<const uint8_t> bytes);
Result<TensorStore> read_safetensors(const std::string& path);
Result<TensorStore> parse_safetensors(std::span<const uint8_t> bytes, const std::string& source);

// Writes atomically; `metadata` becomes the string map `__metadata__`.
Status write_safetensors(const std::string& path, const std::vector<OutTensor>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace limarp
