// A training run's settings, read from YAML with Axolotl's key names for everything limarp
// supports, so the card's Axolotl configs carry over. Unknown keys are warned about (never
// silently used); Axolotl keys that have no effect on a CPU f32 run are noted once; an
// invalid value is an error naming its key. Relative paths are relative to the current
// directory, as in Axolotl.
//
//   LIMARP_ASSIGN_OR_RETURN(TrainConfig cfg, load_train_config("configs/limarp-pass1-stories.yml"));
//
// Supported keys: base_model, tokenizer_config, adapter (lora | qlora | empty for full
// training), load_in_4bit, bnb_config_kwargs.bnb_4bit_use_double_quant, lora_r, lora_alpha,
// lora_dropout, lora_target_linear, lora_target_modules, lora_model_dir, sequence_len,
// sample_packing, train_on_inputs, micro_batch_size, gradient_accumulation_steps, num_epochs,
// max_steps, learning_rate, lr_scheduler (constant | linear | cosine), warmup_steps,
// warmup_ratio, optimizer (adamw_torch | adamw_hf | adamw_torch_fused), weight_decay,
// max_grad_norm, adam_beta1, adam_beta2, adam_epsilon, seed, output_dir, save_steps,
// val_set_size, eval_steps, logging_steps, gradient_checkpointing, bf16, datasets: [{path, type:
// completion | limarp | alpaca | story_roleplay, field, length_unit, length_thresholds,
// length_labels, opening_crops, truncated_copies, turn_end_weight, stop_choice_weight,
// story_levels, story_level_weights, story_replies, story_max_conversations,
// story_max_reply_length, story_seed}] (the keys from opening_crops on are limarp's own,
// train/length_augment.h, train/dataset.h and train/story_roleplay.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/tensor_names.h"
#include "train/length_augment.h"
#include "train/length_label.h"
#include "train/lr_schedule.h"
#include "train/story_roleplay.h"

namespace limarp::train {

enum class DatasetType { kCompletion, kLimarp, kAlpaca, kStoryRoleplay };
const char* dataset_type_name(DatasetType t);

struct DatasetSpec {
  std::string path;                        // a file or a folder of files
  DatasetType type = DatasetType::kCompletion;
  std::string field = "text";              // completion: the JSON field holding the text
  LengthLabelRule length;                  // limarp: the (length = LEVEL) labelling rule
  LengthAugmentation augment;              // limarp: opening_crops, truncated_copies
  // limarp: the loss weight of each token that ends a character's reply (the line break before
  // the next "### Input:" and a final EOS): >1 stresses where to stop over what to say.
  double turn_end_weight = 1.0;
  // limarp: the weight of a binary "stop here or go on" loss at each place a reply could end
  // (every sentence end, and each real end), added to the usual loss (0: off). Unlike
  // turn_end_weight it stresses going on as much as stopping (train/dataset.h).
  double stop_choice_weight = 0.0;
  // story_roleplay: how stories become conversations (story_levels, story_level_weights,
  // story_replies, story_max_conversations, story_max_reply_length) and the seed of their
  // choices (story_seed; unset: the run's seed).
  StoryRoleplayOptions stories;
  std::optional<uint64_t> story_seed;
};

enum class AdapterKind { kFull, kLora, kQlora };

struct TrainConfig {
  std::string source;  // the file it came from, for messages
  std::string base_model;
  std::string tokenizer;  // tokenizer_config; empty: found beside / inside the model
  AdapterKind adapter = AdapterKind::kFull;
  bool load_in_4bit = false;
  bool double_quant = true;  // bnb_4bit_use_double_quant (QLoRA's default)
  int64_t lora_r = 8;
  double lora_alpha = 16;
  double lora_dropout = 0;
  bool lora_target_linear = false;
  std::vector<std::string> lora_target_modules;
  std::string lora_model_dir;
  int64_t sequence_len = 2048;
  bool sample_packing = false;
  bool train_on_inputs = false;
  int64_t micro_batch_size = 1;
  int64_t gradient_accumulation_steps = 1;
  double num_epochs = 1;
  int64_t max_steps = 0;  // > 0 overrides num_epochs
  double learning_rate = 2e-4;
  LrScheduler lr_scheduler = LrScheduler::kCosine;  // Axolotl's default
  int64_t warmup_steps = 0;
  double warmup_ratio = 0;
  std::string optimizer = "adamw_torch";
  double weight_decay = 0;
  double max_grad_norm = 1.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  uint64_t seed = 42;
  std::string output_dir = "./model-out";
  int64_t save_steps = 0;  // 0: checkpoint only at the end (and on Ctrl-C)
  double val_set_size = 0;  // < 1: a fraction of the samples; >= 1: a count
  int64_t eval_steps = 0;   // 0: evaluate before and after training only
  int64_t logging_steps = 1;
  bool gradient_checkpointing = false;
  bool bf16 = false;  // LoRA factors used in bfloat16 (f32 master values); "auto" means false on CPU
  std::vector<DatasetSpec> datasets;

  bool is_lora() const { return adapter != AdapterKind::kFull; }
  std::vector<Projection> lora_targets() const;
  // The settings that decide which samples form which micro-batch; a checkpoint only resumes
  // under the same ones.
  std::string data_digest() const;
};

Result<TrainConfig> parse_train_config(std::string_view yaml, const std::string& source);
Result<TrainConfig> load_train_config(const std::string& path);

}  // namespace limarp::train
