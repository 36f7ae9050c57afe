// Checkpoints: everything a run needs to continue bit-identically — the trained parameters,
// AdamW's moments and step count, the trainer's RNG state, the optimizer step and the data
// cursor (the global index of the next micro-batch; train/batch_plan.h rebuilds the rest).
//
//   output_dir/checkpoint-<step>/
//     trainer_state.json     step, cursor, RNG, data digest, parameter names and shapes
//     params.safetensors     the parameters (f32, limarp's names)
//     optimizer.safetensors  <name>.exp_avg, <name>.exp_avg_sq
//     adapter_config.json, adapter_model.safetensors   (LoRA runs: the adapter so far)
//
// A checkpoint is written into a temporary folder beside its final name and renamed into
// place only when complete, so an interrupted write never leaves a half checkpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"
#include "model/parameters.h"
#include "train/optimizer.h"

namespace limarp::train {

struct TrainerState {
  int64_t step = 0;                // optimizer steps taken
  int64_t micro_batch_cursor = 0;  // global index of the next micro-batch
  uint64_t rng[4] = {0, 0, 0, 0};  // the trainer's Rng (dropout seeds)
  int64_t tokens_seen = 0;
  std::string data_digest;
};

// Writes the checkpoint folder `dir` atomically. `extra(temp_dir)` may add files (the adapter).
Status save_checkpoint(const std::string& dir, const ParameterSet& params, AdamW& optimizer, const TrainerState& state,
                       const std::function<Status(const std::string& temp_dir)>& extra = nullptr);

// Restores parameters, optimizer state and trainer state from `dir`; the parameter names and
// shapes must be those of `params`.
Status load_checkpoint(const std::string& dir, ParameterSet& params, AdamW& optimizer, TrainerState& state);

}  // namespace limarp::train
