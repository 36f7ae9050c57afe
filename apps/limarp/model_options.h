// The options of every command that runs a model (generate, chat, serve, perplexity,
// eval-length, bench; train and lora take some of them), defined once so that their flags,
// defaults and help are the same everywhere.
//
//   ModelCliOptions model;
//   add_model_options(*cmd, model, WhenNoModel::kDemoModel);
//   ...
//   LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle, load_inference_model(model, ctx));
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "infer/model_bundle.h"
#include "model/llama_model.h"
#include "model/rope_options.h"
#include "tensor/dtype.h"

namespace limarp::cli {

struct ModelCliOptions {
  std::string model, tokenizer;
  std::vector<std::string> loras;  // PATH[:SCALE]
  bool no_repack = false;
  DType kv_type = DType::kF16;
  int threads = 1;
  RopeOverrides rope;
  std::string device = "cpu";  // --device: cpu, vulkan or vulkan:N
  int gpu_layers = -1;         // --gpu-layers: layers on the device (-1: all)
};

// Without -m: an error, or the bundled demo model (default_model.h).
enum class WhenNoModel { kError, kDemoModel };
// Commands that run no text (bench) have no --tokenizer.
enum class TokenizerFlag { kYes, kNo };

// Adds -m/--model, --tokenizer, --lora, -t/--threads, --no-repack, --kv-type, --device and the
// RoPE options.
void add_model_options(CLI::App& cmd, ModelCliOptions& o, WhenNoModel when_no_model,
                       TokenizerFlag tokenizer = TokenizerFlag::kYes);

// The model (the demo model when none was given and the command allows it) with its tokenizer,
// regrouped for decoding unless --no-repack, the RoPE options applied for a run of ctx tokens
// (0: the model's default).
Result<ModelBundle> load_inference_model(const ModelCliOptions& o, int64_t ctx);

// The backend --device names, with the model's weights uploaded to it and its memory plan
// logged; null for the CPU (Forward then runs on the caller's pool).
Result<std::unique_ptr<Backend>> open_device(const ModelCliOptions& o, LlamaModel& model, int64_t ctx, int slots = 1);

// An error when the model's heads cannot be stored as --kv-type (the block types need multiples
// of 32 elements).
Status check_kv_type(DType kv_type, const LlamaConfig& config);

// Adds -t/--threads with the machine's default.
void add_threads_option(CLI::App& app, int& threads);

// Adds the RoPE options (--rope-scaling, --rope-scale, --rope-freq-base, --rope-freq-scale,
// --yarn-*, --ropeconfig) of every command that runs a model.
void add_rope_options(CLI::App& app, RopeOverrides& o);
// Applies them for a run of ctx tokens (0: the model's default) and logs the RoPE in use.
Status configure_rope(LlamaModel& model, const RopeOverrides& o, int64_t ctx);

}  // namespace limarp::cli
