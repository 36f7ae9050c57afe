// GGUF v2/v3: reader (memory-mapped; tensors are views into the mapping) and writer.
// Every count, length, offset, type and shape is validated before data is touched, so a
// truncated or hostile file yields an error naming the file and the problem.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/tensor_store.h"

namespace limarp {

constexpr uint32_t kGgufDefaultAlignment = 32;

// The block layouts of the quantized types that ggml defines as version 2 (its
// GGML_QNT_VERSION, `general.quantization_version`); files of version 1 hold other Q4/Q8
// layouts and are refused.
constexpr uint32_t kGgmlQuantizationVersion = 2;

// Caps on metadata, checked while reading so a hostile file is refused before it is held:
// an array may have at most 2^24 elements (64 times the largest vocabulary in use, 256k
// tokens), and all metadata together may take at most 256 MiB of memory (arrays are kept
// compactly by element type, strings at their size plus a string header each).
constexpr uint64_t kGgufMaxArrayElements = uint64_t{1} << 24;
constexpr uint64_t kGgufMaxMetadataBytes = uint64_t{256} << 20;

// Reads a GGUF file. Tensor shapes come out outermost-first (GGUF stores the fastest
// dimension first; the order is reversed here).
Result<TensorStore> read_gguf(const std::string& path);

// Parses GGUF bytes that the caller keeps alive (tests, fuzzing).
Result<TensorStore> parse_gguf(std::span<const uint8_t> bytes, const std::string& source);

// Writes a GGUF v3 file atomically. `general.alignment` in metadata, when present, sets the
// alignment; otherwise 32.
Status write_gguf(const std::string& path, const Metadata& metadata, const std::vector<OutTensor>& tensors);

}  // namespace limarp
