// Hugging Face tokenizer.json for Llama-2 models (a BPE model with byte fallback).
#include "base/json_util.h"
#include "tokenizer/vocab_loaders.h"

namespace limarp {

Result<Vocab> load_hf_tokenizer_json(const std::string& path) {
  return make_error("{}: reading tokenizer.json is not implemented yet; use tokenizer.model", path);
}

}  // namespace limarp
