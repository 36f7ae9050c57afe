// The limarp dataset type (train/dataset.h): LimaRP conversation files, one YAML file per
// conversation as published, parsed by the chat layer (chat/limarp_yaml.h) and rendered into
// LimaRP's prompt format by the chat layer's renderer, with length labels and a loss mask;
// optionally followed by each conversation's length-teaching variants (train/length_augment.h).
#include <algorithm>

#include "base/text_util.h"
#include "chat/limarp_yaml.h"
#include "train/dataset.h"
#include "train/length_augment.h"

namespace limarp::train {

namespace {
constexpr uint64_t kAugmentStream = 0x6175676dULL;  // "augm"
}

LengthMeasure length_measure(const LengthLabelRule& rule, const Tokenizer& tok) {
  if (rule.unit == LengthUnit::kWords) return [](std::string_view reply) { return count_words(reply); };
  return [&tok](std::string_view reply) {
    return static_cast<int64_t>(tok.encode(reply, {.add_bos = false, .add_eos = false, .parse_special = false}).size());
  };
}

void add_roleplay_samples(const ChatState& conv, const std::string& origin, const DatasetSpec& spec,
                          const TrainConfig& config, const Tokenizer& tok, const LengthMeasure& measure, Rng& rng,
                          DatasetReport& report, std::vector<Sample>& samples) {
  std::vector<ChatState> variants = {conv};
  if (spec.augment.any()) {
    std::vector<ChatState> extra = length_variants(conv, spec.augment, spec.length, measure, rng);
    variants.insert(variants.end(), std::make_move_iterator(extra.begin()), std::make_move_iterator(extra.end()));
  }
  for (size_t v = 0; v < variants.size(); ++v) {
    TrainingPrompt prompt = render_training_prompt(variants[v], spec.length, measure);
    for (auto& seg : prompt.segments) {
      if (config.train_on_inputs) seg.trained = true;
      if (spec.stop_choice_weight != 0 && seg.reply) seg.go_ons = sentence_cuts(seg.text);
    }
    Sample s = tokenize_segments(prompt.segments, tok, {.append = prompt.ends_with_reply, .trained = true});
    if (spec.turn_end_weight != 1.0) {
      s.weight.assign(s.tokens.size(), 1.0f);
      for (int64_t t : s.turn_ends) s.weight[static_cast<size_t>(t)] = static_cast<float>(spec.turn_end_weight);
    }
    if (spec.stop_choice_weight != 0) mark_stop_choices(s, static_cast<float>(spec.stop_choice_weight), tok.eos());
    s.origin = v == 0 ? origin : fmt::format("{} (length variant {})", origin, v);
    s.group = origin;
    s.derived = v > 0;
    if (s.size() > config.sequence_len) {
      ++report.dropped_too_long;
      continue;
    }
    if (s.trained_count() == 0) {  // a conversation without a character reply teaches nothing
      ++report.dropped_empty;
      continue;
    }
    for (LengthLevel level : prompt.reply_levels) ++report.length_histogram[length_level_index(level)];
    report.derived += s.derived;
    report.stop_decisions += std::count_if(s.choice.begin(), s.choice.end(), [](StopChoice c) { return c.stop >= 0; });
    report.add(s);
    samples.push_back(std::move(s));
  }
}

Result<std::vector<Sample>> load_limarp(const DatasetSpec& spec, const TrainConfig& config, const Tokenizer& tok,
                                        DatasetReport& report) {
  LIMARP_ASSIGN_OR_RETURN(std::vector<std::string> files, dataset_files(spec.path, {".yaml", ".yml"}));
  const LengthMeasure measure = length_measure(spec.length, tok);
  Rng rng(config.seed ^ kAugmentStream);
  std::vector<Sample> samples;
  for (const auto& file : files) {
    ++report.files;
    ++report.records;
    LIMARP_ASSIGN_OR_RETURN(ChatState conv, load_limarp_conversation(file));
    add_roleplay_samples(conv, file, spec, config, tok, measure, rng, report, samples);
  }
  return samples;
}

}  // namespace limarp::train
