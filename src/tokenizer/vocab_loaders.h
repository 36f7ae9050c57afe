// Vocabulary loaders for every file a user may hold, detected by content:
//   - GGUF (tokenizer.ggml.* metadata, from a model or a vocabulary-only file)
//   - SentencePiece tokenizer.model (protobuf)
//   - Hugging Face tokenizer.json (+ tokenizer_config.json beside it), or their folder
//   - llama2.c tokenizer .bin (spaces as ' ', BOS/EOS as "\n<s>\n" / "\n</s>\n")
#pragma once

#include <string>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace limarp {

Result<Vocab> load_vocab(const std::string& path, int64_t vocab_size = -1);

Result<Vocab> load_llama2c_vocab(const std::string& path, int64_t vocab_size = -1);
Result<Vocab> load_sentencepiece_vocab(const std::string& path);
Result<Vocab> load_hf_tokenizer_json(const std::string& path);

}  // namespace limarp
