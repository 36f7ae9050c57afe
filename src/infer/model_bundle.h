// A model together with its tokenizer, found the way users expect: an explicit --tokenizer,
// else the vocabulary inside a GGUF, else tokenizer.model / tokenizer.json in a Hugging Face
// folder, else a tokenizer file beside a llama2.c checkpoint.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "model/llama_model.h"
#include "tokenizer/tokenizer.h"

namespace limarp {

struct ModelBundle {
  LlamaModel model;
  std::optional<Tokenizer> tokenizer;  // absent when none could be found (ids-only use)
};

struct LoadOptions {
  std::string tokenizer_path;     // empty: discover
  bool require_tokenizer = true;
  // Inference only: put the weights in the CPU backend's layout (LlamaModel::prepare_weights),
  // with `threads` threads (0: one per core).
  bool interleave_for_decode = false;
  int threads = 0;
};

// `model_name` is a file, a folder, or a Hub name "hf:ORG/NAME[@REV][:TAG]" (hub/hub_pull.h).
Result<ModelBundle> load_model_bundle(const std::string& model_name, const LoadOptions& options = {});
Result<Tokenizer> find_tokenizer(const std::string& model_path, const LlamaModel& model, const std::string& explicit_path);

}  // namespace limarp
