// The CLI: one file per subcommand. Each registers its options on the root app and, when
// chosen, parses nothing more: it calls into the libraries and reports errors as messages
// (report.h). main.cc registers them all.
#pragma once

#include <CLI/CLI.hpp>

#include "report.h"

namespace limarp::cli {

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
void register_devices(CLI::App& root, RunState& state);

}  // namespace limarp::cli
