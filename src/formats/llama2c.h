// llama2.c checkpoints: the legacy format (7 int32 header, float32 weights, rotary tables)
// and the version-1 export (256-byte header with magic "ak42"). Tensors come out under
// GGUF names (token_embd.weight, blk.N.attn_q.weight, ...) with llama.* hyper-parameters in
// the metadata, as if the file were a GGUF without a vocabulary.
#pragma once

#include <span>
#include <string>

#include "base/status.h"
#include "formats/tensor_store.h"

namespace limarp {

bool looks_like_llama2c(std::span<const uint8_t> bytes);
Result<TensorStore> read_llama2c(const std::string& path);
Result<TensorStore> parse_llama2c(std::span<const uint8_t> bytes, const std::string& source);

// A llama2.c tokenizer file: int32 max_token_length, then per token: f32 score, int32 length,
// bytes. The vocabulary size comes from the model; without one, the file is read to its end.
struct Llama2cVocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
};
Result<Llama2cVocab> read_llama2c_tokenizer(const std::string& path, int64_t vocab_size = -1);

}  // namespace limarp
