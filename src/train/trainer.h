// A training run from a TrainConfig: loads the base model and tokenizer, builds the samples,
// sets up LoRA / QLoRA / full training, then runs optimizer steps of
// micro_batch_size × gradient_accumulation_steps, logging each step as a JSON line
// (output_dir/train_log.jsonl), drawing a progress bar, evaluating on the validation split,
// checkpointing every save_steps and on request (Ctrl-C), and finally writing the PEFT
// adapter (LoRA) or the model (full training) into output_dir.
//
// The objective of a step is the mean next-token loss over all its target tokens: the summed
// loss of every micro-batch divided by the step's total target count (the count is known
// before the first micro-batch runs, so each micro-batch's gradient is scaled correctly).
//
//   LIMARP_ASSIGN_OR_RETURN(auto trainer, Trainer::create(config, {.threads = 2}));
//   LIMARP_ASSIGN_OR_RETURN(TrainSummary s, trainer->run());
#pragma once

#include <cmath>
#include <functional>
#include <optional>
#include <memory>
#include <string>

#include "base/status.h"
#include "model/rope_options.h"
#include "train/memory_plan.h"
#include "train/train_config.h"

namespace limarp::train {

struct TrainerOptions {
  int threads = 1;
  std::string resume_from;         // a checkpoint folder
  int64_t benchmark_steps = 0;     // > 0: time this many steps after one warm-up step; write nothing
  std::function<bool()> stop_requested;  // polled after every step (Ctrl-C)
  bool progress = true;
  std::optional<uint64_t> max_memory;    // refuse a larger memory plan (default: the machine's available memory)
  // RoPE scaling to train with (the same options as inference). Never automatic: an adapter
  // is trained with the rotary frequencies asked for, so inference must ask for the same.
  RopeOverrides rope;
};

struct TrainSummary {
  int64_t steps = 0;              // optimizer steps taken in total
  double first_eval_loss = NAN;   // validation loss before training (NaN: no validation set)
  double last_eval_loss = NAN;    // after the last step
  double last_train_loss = NAN;
  double tokens_per_s = 0;        // training tokens per second over this invocation
  bool interrupted = false;
  std::string checkpoint;         // the last checkpoint written
  std::string output;             // the adapter folder or model file written
};

class Trainer {
 public:
  static Result<std::unique_ptr<Trainer>> create(TrainConfig config, TrainerOptions options);
  ~Trainer();
  Result<TrainSummary> run();

  int64_t total_steps() const;
  const MemoryPlan& memory_plan() const;

 private:
  struct Impl;
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace limarp::train
