// The speculative-decoding options of the commands that generate (generate, chat, serve,
// bench): --draft-model with --draft-n, or --lookup (infer/speculative.h).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "base/status.h"
#include "base/thread_pool.h"
#include "infer/speculative.h"
#include "model_options.h"

namespace limarp::cli {

struct SpeculativeCliOptions {
  std::string draft_model;
  int64_t draft_n = 5;
  int64_t lookup = 0;  // tokens per prompt-lookup round; 0: off
};

void add_speculative_options(CLI::App& cmd, SpeculativeCliOptions& o);

// The draft source the options ask for (none when neither is given). The draft model is loaded
// like the model (regrouped unless --no-repack, same threads) and must share its vocabulary.
Result<DraftSource> load_draft_source(const SpeculativeCliOptions& o, const ModelCliOptions& model,
                                      const Tokenizer& target, ThreadPool& pool);

// "speculative: 120 of 160 guessed tokens kept (75 %) in 40 rounds", to the log.
void log_speculative_stats(const SpeculativeStats& stats);

}  // namespace limarp::cli
