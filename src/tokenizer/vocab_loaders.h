// Vocabulary loaders for every file a user may hold, detected by content, not by name:
//   - GGUF (tokenizer.ggml.* metadata, from a model or a vocabulary-only file)
//   - SentencePiece tokenizer.model (protobuf)
//   - Hugging Face tokenizer.json (+ tokenizer_config.json beside it), or their folder
//   - llama2.c tokenizer .bin (spaces as ' ', BOS/EOS as "\n<s>\n" / "\n</s>\n")
// A tokenizer_config.json beside a tokenizer.model or tokenizer.json sets add_bos/add_eos
// (Hugging Face folders carry one).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace limarp {

Result<Vocab> load_vocab(const std::string& path, int64_t vocab_size = -1);

Result<Vocab> load_llama2c_vocab(const std::string& path, int64_t vocab_size = -1);
Result<Vocab> load_sentencepiece_vocab(const std::string& path);
Result<Vocab> parse_sentencepiece_vocab(std::span<const uint8_t> bytes, const std::string& source);
Result<Vocab> parse_hf_tokenizer_json(std::string_view text, const std::string& source);

// Applies tokenizer_config.json: add_bos_token, add_eos_token, and the bos/eos/unk token
// names (looked up in the vocabulary).
Status apply_hf_tokenizer_config(const std::string& path, Vocab& vocab);

}  // namespace limarp
