#include "train/train_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "base/log.h"
#include "base/mapped_file.h"
#include "model/lora_config.h"
#include "train/yaml_reader.h"

namespace limarp::train {
namespace {

// Axolotl keys that change nothing here (GPU precision and attention kernels, experiment
// tracking, hub uploads, dataset caching): accepted, mentioned once.
const std::set<std::string> kNoEffectKeys = {
    "fp16",          "tf32",           "flash_attention", "xformers_attention", "sdp_attention",
    "wandb_project", "wandb_entity",  "wandb_watch",    "wandb_name",      "wandb_run_id",       "wandb_log_model",
    "hub_model_id",  "strict",        "model_type",     "tokenizer_type",  "is_llama_derived_model",
    "dataset_prepared_path",          "pad_to_sequence_len",               "eval_sample_packing", "local_rank",
    "special_tokens", "train_on_inputs_eos", "ddp_timeout", "deepspeed",   "fsdp",               "fsdp_config",
    "load_best_model_at_end", "early_stopping_patience", "debug", "lora_fan_in_fan_out", "group_by_length",
    "save_safetensors", "evals_per_epoch", "saves_per_epoch", "trust_remote_code", "lora_modules_to_save"};

const char* kAdamWNames[] = {"adamw_torch", "adamw_hf", "adamw_torch_fused"};

struct Reader {
  const YAML::Node& root;
  const std::string& src;
  std::set<std::string> seen;

  bool has(const std::string& key) {
    seen.insert(key);
    const YAML::Node n = root[key];
    return n.IsDefined() && !n.IsNull();
  }
  Status get(const std::string& key, int64_t& out) {
    if (!has(key)) return {};
    LIMARP_ASSIGN_OR_RETURN(out, yaml_int(root[key], src, key));
    return {};
  }
  Status get(const std::string& key, double& out) {
    if (!has(key)) return {};
    LIMARP_ASSIGN_OR_RETURN(out, yaml_number(root[key], src, key));
    return {};
  }
  Status get(const std::string& key, bool& out) {
    if (!has(key)) return {};
    LIMARP_ASSIGN_OR_RETURN(out, yaml_bool(root[key], src, key));
    return {};
  }
  Status get(const std::string& key, std::string& out) {
    if (!has(key)) return {};
    LIMARP_ASSIGN_OR_RETURN(out, yaml_string(root[key], src, key));
    return {};
  }
};

Status check(bool ok, const std::string& src, std::string_view key, std::string_view rule, const std::string& got) {
  if (ok) return {};
  return make_error("{}: {} {}, got {}", src, key, rule, got);
}

// Bounds beyond any real run, so that products of these values (buffer sizes, step counts,
// token cursors) cannot overflow; the memory plan then judges what fits this machine.
constexpr int64_t kMaxSequenceLen = int64_t{1} << 20;
constexpr int64_t kMaxMicroBatch = int64_t{1} << 16;
constexpr int64_t kMaxMicroBatchTokens = int64_t{1} << 24;
constexpr int64_t kMaxAccumulation = int64_t{1} << 16;
constexpr int64_t kMaxSteps = int64_t{1} << 40;
constexpr double kMaxEpochs = 1e6;

Status check_int(int64_t v, int64_t lo, int64_t hi, const std::string& src, std::string_view key) {
  return check(v >= lo && v <= hi, src, key, fmt::format("must be between {} and {}", lo, hi), std::to_string(v));
}

// The story_roleplay keys (train/story_roleplay.h); after length_thresholds, which bound
// story_max_reply_length.
Status parse_story_keys(const YAML::Node& node, const std::string& src, const std::string& where, DatasetSpec& d) {
  const char* keys[] = {"story_levels",           "story_level_weights", "story_replies", "story_max_conversations",
                        "story_max_reply_length", "story_seed"};
  for (const char* key : keys)
    if (node[key].IsDefined() && d.type != DatasetType::kStoryRoleplay)
      return make_error("{}: {}.{} applies only to story_roleplay datasets", src, where, key);
  StoryRoleplayOptions& o = d.stories;
  if (node["story_levels"].IsDefined()) {
    const std::string key = where + ".story_levels";
    LIMARP_ASSIGN_OR_RETURN(std::vector<std::string> names, yaml_string_list(node["story_levels"], src, key));
    if (names.empty()) return make_error("{}: {} must name at least one length level", src, key);
    o.levels.clear();
    for (const std::string& name : names) {
      auto level = parse_length_level(name);
      if (!level.ok()) return level.status().with_context(fmt::format("{}: {}", src, key));
      if (std::find(o.levels.begin(), o.levels.end(), *level) != o.levels.end())
        return make_error("{}: {} names {} twice", src, key, name);
      o.levels.push_back(*level);
    }
  }
  if (node["story_level_weights"].IsDefined()) {
    const YAML::Node w = node["story_level_weights"];
    const std::string key = where + ".story_level_weights";
    if (!w.IsSequence() || w.size() != o.levels.size())
      return make_error("{}: {} must be a list of {} numbers, one per level of story_levels", src, key,
                        o.levels.size());
    for (size_t i = 0; i < w.size(); ++i) {
      LIMARP_ASSIGN_OR_RETURN(double v, yaml_number(w[i], src, key));
      LIMARP_TRY(check(v > 0 && v <= 1e6, src, fmt::format("{}[{}]", key, i), "must be positive and at most 1e6",
                       fmt::format("{}", v)));
      o.weights.push_back(v);
    }
  }
  if (node["story_replies"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(o.replies_per_conversation, yaml_int(node["story_replies"], src, where + ".story_replies"));
    LIMARP_TRY(check_int(o.replies_per_conversation, 1, 64, src, where + ".story_replies"));
  }
  if (node["story_max_conversations"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(o.max_conversations,
                            yaml_int(node["story_max_conversations"], src, where + ".story_max_conversations"));
    LIMARP_TRY(check_int(o.max_conversations, 0, int64_t{1} << 32, src, where + ".story_max_conversations"));
  }
  if (node["story_max_reply_length"].IsDefined()) {
    const std::string key = where + ".story_max_reply_length";
    LIMARP_ASSIGN_OR_RETURN(o.max_reply_length, yaml_int(node["story_max_reply_length"], src, key));
    const int64_t last = d.length.upper_bounds.back();
    LIMARP_TRY(check_int(o.max_reply_length, last + 1, 1 << 20, src,
                         key + " (the top of the unlimited level, above the last length threshold)"));
  }
  if (node["story_seed"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(int64_t seed, yaml_int(node["story_seed"], src, where + ".story_seed"));
    LIMARP_TRY(check(seed >= 0, src, where + ".story_seed", "must not be negative", std::to_string(seed)));
    d.story_seed = static_cast<uint64_t>(seed);
  }
  return {};
}

Result<DatasetSpec> parse_dataset(const YAML::Node& node, const std::string& src, size_t index) {
  const std::string where = fmt::format("datasets[{}]", index);
  if (!node.IsMap()) return make_error("{}: {} must be a mapping with path and type", src, where);
  DatasetSpec d;
  std::set<std::string> known = {"path", "type", "field", "length_unit",
                                 "length_thresholds", "length_labels", "opening_crops", "truncated_copies",
                                 "turn_end_weight", "stop_choice_weight", "ds_type", "data_files",
                                 "story_levels", "story_level_weights", "story_replies", "story_max_conversations",
                                 "story_max_reply_length", "story_seed"};
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>("");
    if (!known.count(key)) log::warn("{}: unknown key {}.{} ignored", src, where, key);
  }
  if (!node["path"].IsDefined()) return make_error("{}: {}.path is required", src, where);
  LIMARP_ASSIGN_OR_RETURN(d.path, yaml_string(node["path"], src, where + ".path"));
  if (d.path.empty()) return make_error("{}: {}.path is empty", src, where);
  std::string type = "completion";
  if (node["type"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(type, yaml_string(node["type"], src, where + ".type"));
  }
  if (type == "completion") d.type = DatasetType::kCompletion;
  else if (type == "limarp") d.type = DatasetType::kLimarp;
  else if (type == "alpaca") d.type = DatasetType::kAlpaca;
  else if (type == "story_roleplay") d.type = DatasetType::kStoryRoleplay;
  else return make_error("{}: {}.type must be completion, limarp, alpaca or story_roleplay, got '{}'", src, where, type);
  if (node["field"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(d.field, yaml_string(node["field"], src, where + ".field"));
  }
  if (node["length_unit"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(std::string unit, yaml_string(node["length_unit"], src, where + ".length_unit"));
    if (unit == "words") d.length.unit = LengthUnit::kWords;
    else if (unit == "tokens") d.length.unit = LengthUnit::kTokens;
    else return make_error("{}: {}.length_unit must be words or tokens, got '{}'", src, where, unit);
  }
  if (node["length_labels"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(std::string p, yaml_string(node["length_labels"], src, where + ".length_labels"));
    if (p == "every_reply") d.length.placement = LengthLabels::kEveryReply;
    else if (p == "last_reply") d.length.placement = LengthLabels::kLastReply;
    else if (p == "none") d.length.placement = LengthLabels::kNone;
    else return make_error("{}: {}.length_labels must be every_reply, last_reply or none, got '{}'", src, where, p);
  }
  if (node["opening_crops"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(d.augment.openings, yaml_bool(node["opening_crops"], src, where + ".opening_crops"));
  }
  if (node["truncated_copies"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(d.augment.truncated_copies,
                            yaml_int(node["truncated_copies"], src, where + ".truncated_copies"));
    LIMARP_TRY(check(d.augment.truncated_copies >= 0 && d.augment.truncated_copies <= 16, src,
                     where + ".truncated_copies", "must be between 0 and 16",
                     fmt::format("{}", d.augment.truncated_copies)));
  }
  if (node["turn_end_weight"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(d.turn_end_weight, yaml_number(node["turn_end_weight"], src, where + ".turn_end_weight"));
    LIMARP_TRY(check(d.turn_end_weight >= 0.1 && d.turn_end_weight <= 100, src, where + ".turn_end_weight",
                     "must be between 0.1 and 100", fmt::format("{}", d.turn_end_weight)));
  }
  if (node["stop_choice_weight"].IsDefined()) {
    LIMARP_ASSIGN_OR_RETURN(d.stop_choice_weight,
                            yaml_number(node["stop_choice_weight"], src, where + ".stop_choice_weight"));
    LIMARP_TRY(check(d.stop_choice_weight >= 0 && d.stop_choice_weight <= 100, src, where + ".stop_choice_weight",
                     "must be between 0 and 100", fmt::format("{}", d.stop_choice_weight)));
  }
  const bool roleplay = d.type == DatasetType::kLimarp || d.type == DatasetType::kStoryRoleplay;
  if ((d.augment.any() || d.turn_end_weight != 1.0 || d.stop_choice_weight != 0) && !roleplay)
    return make_error(
        "{}: {}: opening_crops, truncated_copies, turn_end_weight and stop_choice_weight apply only to limarp and "
        "story_roleplay datasets",
        src, where);
  if (node["length_thresholds"].IsDefined()) {
    const YAML::Node t = node["length_thresholds"];
    const std::string key = where + ".length_thresholds";
    if (!t.IsSequence() || t.size() != d.length.upper_bounds.size())
      return make_error("{}: {} must be a list of {} increasing upper bounds (tiny .. extreme)", src, key,
                        d.length.upper_bounds.size());
    int64_t previous = 0;
    for (size_t i = 0; i < t.size(); ++i) {
      LIMARP_ASSIGN_OR_RETURN(int64_t v, yaml_int(t[i], src, key));
      if (v <= previous) return make_error("{}: {} must increase and be positive (entry {} is {})", src, key, i, v);
      d.length.upper_bounds[i] = previous = v;
    }
  }
  LIMARP_TRY(parse_story_keys(node, src, where, d));
  return d;
}

}  // namespace

const char* dataset_type_name(DatasetType t) {
  switch (t) {
    case DatasetType::kCompletion: return "completion";
    case DatasetType::kLimarp: return "limarp";
    case DatasetType::kAlpaca: return "alpaca";
    case DatasetType::kStoryRoleplay: return "story_roleplay";
  }
  return "?";
}

std::vector<Projection> TrainConfig::lora_targets() const {
  if (lora_target_linear) return {std::begin(kAllProjections), std::end(kAllProjections)};
  std::vector<Projection> out;
  for (const auto& m : lora_target_modules)
    if (auto p = projection_from_hf(m)) out.push_back(*p);
  return out;
}

std::string TrainConfig::data_digest() const {
  std::string d = fmt::format("seq={} mbs={} ga={} pack={} inputs={} seed={} val={}", sequence_len, micro_batch_size,
                              gradient_accumulation_steps, sample_packing, train_on_inputs, seed, val_set_size);
  for (const auto& ds : datasets) {
    d += fmt::format(" [{} {} {} {} {}", ds.path, dataset_type_name(ds.type), ds.field, static_cast<int>(ds.length.unit),
                     static_cast<int>(ds.length.placement));
    for (int64_t b : ds.length.upper_bounds) d += fmt::format(" {}", b);
    // Only when set, so digests of checkpoints made before these keys existed still match.
    if (ds.augment.any() || ds.turn_end_weight != 1.0)
      d += fmt::format(" openings={} copies={} turn_end={}", ds.augment.openings, ds.augment.truncated_copies,
                       ds.turn_end_weight);
    if (ds.stop_choice_weight != 0) d += fmt::format(" stop_choice={}", ds.stop_choice_weight);
    if (ds.type == DatasetType::kStoryRoleplay) {
      const StoryRoleplayOptions& o = ds.stories;
      d += " story";
      for (size_t i = 0; i < o.levels.size(); ++i)
        d += fmt::format(" {}:{}", length_level_name(o.levels[i]), o.weights.empty() ? 1.0 : o.weights[i]);
      d += fmt::format(" replies={} max={} top={} seed={}", o.replies_per_conversation, o.max_conversations,
                       o.max_reply_length, ds.story_seed ? std::to_string(*ds.story_seed) : "run");
    }
    d += "]";
  }
  return d;
}

Result<TrainConfig> parse_train_config(std::string_view yaml, const std::string& src) {
  LIMARP_ASSIGN_OR_RETURN(YAML::Node root, parse_yaml(yaml, src));
  if (!root.IsMap()) return make_error("{}: a training config must be a YAML mapping of keys to values", src);
  TrainConfig c;
  c.source = src;
  Reader r{root, src, {}};

  LIMARP_TRY(r.get("base_model", c.base_model));
  if (c.base_model.empty()) return make_error("{}: base_model is required (a model file or folder)", src);
  LIMARP_TRY(r.get("tokenizer_config", c.tokenizer));

  std::string adapter;
  LIMARP_TRY(r.get("adapter", adapter));
  if (adapter.empty()) c.adapter = AdapterKind::kFull;
  else if (adapter == "lora") c.adapter = AdapterKind::kLora;
  else if (adapter == "qlora") c.adapter = AdapterKind::kQlora;
  else return make_error("{}: adapter must be lora, qlora or empty (full training), got '{}'", src, adapter);
  LIMARP_TRY(r.get("load_in_4bit", c.load_in_4bit));
  bool load_in_8bit = false;
  LIMARP_TRY(r.get("load_in_8bit", load_in_8bit));
  if (load_in_8bit) return make_error("{}: load_in_8bit is not supported; use adapter: qlora with load_in_4bit", src);
  if (c.adapter == AdapterKind::kQlora && !c.load_in_4bit)
    return make_error("{}: adapter: qlora needs load_in_4bit: true (as in Axolotl)", src);
  if (c.load_in_4bit && c.adapter != AdapterKind::kQlora)
    return make_error("{}: load_in_4bit: true needs adapter: qlora", src);
  if (r.has("bnb_config_kwargs")) {
    const YAML::Node b = root["bnb_config_kwargs"];
    if (!b.IsMap()) return make_error("{}: bnb_config_kwargs must be a mapping", src);
    if (b["bnb_4bit_use_double_quant"].IsDefined()) {
      LIMARP_ASSIGN_OR_RETURN(c.double_quant, yaml_bool(b["bnb_4bit_use_double_quant"], src,
                                                        "bnb_config_kwargs.bnb_4bit_use_double_quant"));
    }
    if (b["bnb_4bit_quant_type"].IsDefined() && b["bnb_4bit_quant_type"].as<std::string>("") != "nf4")
      return make_error("{}: bnb_config_kwargs.bnb_4bit_quant_type must be nf4", src);
  }

  LIMARP_TRY(r.get("lora_r", c.lora_r));
  LIMARP_TRY(check_int(c.lora_r, 1, kMaxLoraRank, src, "lora_r"));
  LIMARP_TRY(r.get("lora_alpha", c.lora_alpha));
  LIMARP_TRY(check(c.lora_alpha > 0 && c.lora_alpha <= kMaxLoraAlpha, src, "lora_alpha",
                   fmt::format("must be positive and at most {}", kMaxLoraAlpha), fmt::format("{}", c.lora_alpha)));
  LIMARP_TRY(r.get("lora_dropout", c.lora_dropout));
  LIMARP_TRY(check(c.lora_dropout >= 0 && c.lora_dropout < 1, src, "lora_dropout", "must be in [0, 1)",
                   fmt::format("{}", c.lora_dropout)));
  LIMARP_TRY(r.get("lora_target_linear", c.lora_target_linear));
  if (r.has("lora_target_modules")) {
    LIMARP_ASSIGN_OR_RETURN(c.lora_target_modules, yaml_string_list(root["lora_target_modules"], src, "lora_target_modules"));
    for (const auto& m : c.lora_target_modules)
      if (!projection_from_hf(m))
        return make_error("{}: lora_target_modules entry '{}' is not a Llama projection (q_proj, k_proj, v_proj, "
                          "o_proj, gate_proj, up_proj, down_proj)",
                          src, m);
  }
  LIMARP_TRY(r.get("lora_model_dir", c.lora_model_dir));
  if (c.is_lora() && c.lora_model_dir.empty() && c.lora_targets().empty())
    return make_error("{}: a LoRA run needs lora_target_linear: true or lora_target_modules", src);
  if (!c.is_lora() && !c.lora_model_dir.empty())
    return make_error("{}: lora_model_dir needs adapter: lora or qlora", src);

  LIMARP_TRY(r.get("sequence_len", c.sequence_len));
  LIMARP_TRY(check_int(c.sequence_len, 2, kMaxSequenceLen, src, "sequence_len"));
  LIMARP_TRY(r.get("sample_packing", c.sample_packing));
  LIMARP_TRY(r.get("train_on_inputs", c.train_on_inputs));
  LIMARP_TRY(r.get("micro_batch_size", c.micro_batch_size));
  LIMARP_TRY(check_int(c.micro_batch_size, 1, kMaxMicroBatch, src, "micro_batch_size"));
  LIMARP_TRY(check(c.micro_batch_size * c.sequence_len <= kMaxMicroBatchTokens, src, "micro_batch_size x sequence_len",
                   fmt::format("must be at most {} tokens", kMaxMicroBatchTokens),
                   fmt::format("{} x {}", c.micro_batch_size, c.sequence_len)));
  LIMARP_TRY(r.get("gradient_accumulation_steps", c.gradient_accumulation_steps));
  LIMARP_TRY(check_int(c.gradient_accumulation_steps, 1, kMaxAccumulation, src, "gradient_accumulation_steps"));
  LIMARP_TRY(r.get("num_epochs", c.num_epochs));
  LIMARP_TRY(check(c.num_epochs > 0 && c.num_epochs <= kMaxEpochs, src, "num_epochs",
                   fmt::format("must be positive and at most {}", kMaxEpochs), fmt::format("{}", c.num_epochs)));
  LIMARP_TRY(r.get("max_steps", c.max_steps));
  LIMARP_TRY(check_int(c.max_steps, 0, kMaxSteps, src, "max_steps"));

  LIMARP_TRY(r.get("learning_rate", c.learning_rate));
  LIMARP_TRY(check(c.learning_rate > 0 && c.learning_rate < 10, src, "learning_rate", "must be in (0, 10)",
                   fmt::format("{}", c.learning_rate)));
  std::string scheduler;
  LIMARP_TRY(r.get("lr_scheduler", scheduler));
  if (!scheduler.empty()) {
    auto s = lr_scheduler_from_name(scheduler);
    if (!s) return make_error("{}: lr_scheduler must be constant, linear or cosine, got '{}'", src, scheduler);
    c.lr_scheduler = *s;
  }
  if (scheduler.empty() && r.has("lr_scheduler_type")) {
    // The card lists the Transformers name; accept it as a synonym.
    LIMARP_TRY(r.get("lr_scheduler_type", scheduler));
    auto s = lr_scheduler_from_name(scheduler);
    if (!s) return make_error("{}: lr_scheduler_type must be constant, linear or cosine, got '{}'", src, scheduler);
    c.lr_scheduler = *s;
  }
  LIMARP_TRY(r.get("warmup_steps", c.warmup_steps));
  LIMARP_TRY(check_int(c.warmup_steps, 0, kMaxSteps, src, "warmup_steps"));
  LIMARP_TRY(r.get("warmup_ratio", c.warmup_ratio));
  LIMARP_TRY(check(c.warmup_ratio >= 0 && c.warmup_ratio < 1, src, "warmup_ratio", "must be in [0, 1)",
                   fmt::format("{}", c.warmup_ratio)));
  LIMARP_TRY(r.get("optimizer", c.optimizer));
  if (std::find(std::begin(kAdamWNames), std::end(kAdamWNames), c.optimizer) == std::end(kAdamWNames))
    return make_error("{}: optimizer must be adamw_torch (or adamw_hf, adamw_torch_fused: the same AdamW), got '{}'",
                      src, c.optimizer);
  LIMARP_TRY(r.get("weight_decay", c.weight_decay));
  LIMARP_TRY(check(c.weight_decay >= 0 && c.weight_decay <= 10, src, "weight_decay", "must be between 0 and 10",
                   fmt::format("{}", c.weight_decay)));
  LIMARP_TRY(r.get("max_grad_norm", c.max_grad_norm));
  LIMARP_TRY(check(c.max_grad_norm >= 0 && std::isfinite(c.max_grad_norm), src, "max_grad_norm",
                   "must be finite and not negative (0 turns clipping off)",
                   fmt::format("{}", c.max_grad_norm)));
  LIMARP_TRY(r.get("adam_beta1", c.adam_beta1));
  LIMARP_TRY(r.get("adam_beta2", c.adam_beta2));
  LIMARP_TRY(r.get("adam_epsilon", c.adam_epsilon));
  for (auto [key, v] : {std::pair{"adam_beta1", c.adam_beta1}, {"adam_beta2", c.adam_beta2}})
    LIMARP_TRY(check(v >= 0 && v < 1, src, key, "must be in [0, 1)", fmt::format("{}", v)));
  LIMARP_TRY(check(c.adam_epsilon > 0 && c.adam_epsilon < 1, src, "adam_epsilon", "must be in (0, 1)",
                   fmt::format("{}", c.adam_epsilon)));

  int64_t seed = static_cast<int64_t>(c.seed);
  LIMARP_TRY(r.get("seed", seed));
  LIMARP_TRY(check(seed >= 0, src, "seed", "must not be negative", std::to_string(seed)));
  c.seed = static_cast<uint64_t>(seed);
  LIMARP_TRY(r.get("output_dir", c.output_dir));
  LIMARP_TRY(check(!c.output_dir.empty(), src, "output_dir", "must not be empty", "''"));
  LIMARP_TRY(r.get("save_steps", c.save_steps));
  LIMARP_TRY(check_int(c.save_steps, 0, kMaxSteps, src, "save_steps"));
  LIMARP_TRY(r.get("val_set_size", c.val_set_size));
  LIMARP_TRY(check(c.val_set_size >= 0 && c.val_set_size <= static_cast<double>(kMaxSteps) && (c.val_set_size < 1 || c.val_set_size == std::floor(c.val_set_size)), src,
                   "val_set_size", "must be a fraction below 1 or a whole number of samples",
                   fmt::format("{}", c.val_set_size)));
  LIMARP_TRY(r.get("eval_steps", c.eval_steps));
  LIMARP_TRY(check_int(c.eval_steps, 0, kMaxSteps, src, "eval_steps"));
  LIMARP_TRY(r.get("logging_steps", c.logging_steps));
  LIMARP_TRY(check_int(c.logging_steps, 1, kMaxSteps, src, "logging_steps"));
  LIMARP_TRY(r.get("gradient_checkpointing", c.gradient_checkpointing));
  if (r.has("bf16")) {
    if (root["bf16"].IsScalar() && root["bf16"].Scalar() == "auto") c.bf16 = false;
    else LIMARP_TRY(r.get("bf16", c.bf16));
  }

  if (!r.has("datasets")) return make_error("{}: datasets is required (a list of {{path, type}})", src);
  const YAML::Node ds = root["datasets"];
  if (!ds.IsSequence() || ds.size() == 0) return make_error("{}: datasets must be a non-empty list", src);
  for (size_t i = 0; i < ds.size(); ++i) {
    LIMARP_ASSIGN_OR_RETURN(DatasetSpec d, parse_dataset(ds[i], src, i));
    c.datasets.push_back(std::move(d));
  }

  std::vector<std::string> ignored;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>("");
    if (r.seen.count(key)) continue;
    if (kNoEffectKeys.count(key)) ignored.push_back(key);
    else log::warn("{}: unknown key {} ignored", src, key);
  }
  if (!ignored.empty())
    log::info("{}: no effect here (CPU training in f32): {}", src, fmt::join(ignored, ", "));
  return c;
}

Result<TrainConfig> load_train_config(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(std::string text,
                          read_text_file(path, size_t{16} << 20).with_context("training config"));
  return parse_train_config(text, path);
}

}  // namespace limarp::train
