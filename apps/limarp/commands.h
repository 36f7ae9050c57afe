// The CLI: one file per subcommand. Each registers its options on the root app and, when
// chosen, parses nothing more: it calls into the libraries and reports errors as messages.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "base/status.h"
#include "model/llama_model.h"
#include "model/rope_options.h"
#include "tensor/dtype.h"

namespace limarp::cli {

// Shared by all commands: where the chosen command leaves its exit status.
struct RunState {
  int exit_code = 0;
};

// Prints "limarp: error: ..." and returns 1 for a failed status; 0 otherwise.
int report(const Status& status);

// Adds -t/--threads with the machine's default.
void add_threads_option(CLI::App& app, int& threads);

// Adds --no-repack: keep q4_0/q8_0/q4_k weights in the file's layout instead of regrouping them at load.
void add_repack_option(CLI::App& app, bool& no_repack);

// Adds --kv-type f16|f32: the KV cache's element type, f16 unless asked.
void add_kv_type_option(CLI::App& app, DType& type);

// Adds the RoPE options (--rope-scaling, --rope-scale, --rope-freq-base, --rope-freq-scale,
// --yarn-*, --ropeconfig) of every command that runs a model.
void add_rope_options(CLI::App& app, RopeOverrides& o);
// Applies them for a run of ctx tokens (0: the model's default) and logs the RoPE in use.
Status configure_rope(LlamaModel& model, const RopeOverrides& o, int64_t ctx);

void register_info(CLI::App& root, RunState& state);
void register_convert(CLI::App& root, RunState& state);
void register_init(CLI::App& root, RunState& state);
void register_generate(CLI::App& root, RunState& state);
void register_tokenize(CLI::App& root, RunState& state);
void register_detokenize(CLI::App& root, RunState& state);
void register_bench(CLI::App& root, RunState& state);
void register_quantize(CLI::App& root, RunState& state);
void register_merge(CLI::App& root, RunState& state);
void register_export_lora(CLI::App& root, RunState& state);
void register_init_lora(CLI::App& root, RunState& state);
void register_prompt(CLI::App& root, RunState& state);
void register_chat(CLI::App& root, RunState& state);
void register_serve(CLI::App& root, RunState& state);
void register_perplexity(CLI::App& root, RunState& state);
void register_eval_length(CLI::App& root, RunState& state);
void register_train(CLI::App& root, RunState& state);
void register_prepare(CLI::App& root, RunState& state);
void register_pull(CLI::App& root, RunState& state);

}  // namespace limarp::cli
