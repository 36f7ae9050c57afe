// Training samples and the datasets that produce them. A sample is a token sequence starting
// with BOS and a per-token flag saying whether that token is a target of the loss (predicted
// from the tokens before it). Three dataset types as in Axolotl, and one of limarp's own:
//   completion  raw text (JSONL with a text field, or .txt files with documents separated by
//               <|endoftext|> lines): BOS + text + EOS, cut into consecutive chunks of
//               sequence_len tokens (a long story becomes several samples); every token trained.
//   limarp      LimaRP conversation YAML files (chat/limarp_yaml.h) → the LimaRP prompt (train/roleplay_prompt.h);
//               only the character's replies trained unless train_on_inputs; optionally
//               with length-teaching variants of each conversation (train/length_augment.h).
//   alpaca      JSONL records {instruction, input, output} → the Alpaca prompt; only the
//               output (and EOS) trained unless train_on_inputs.
//   story_roleplay  plain stories (the completion type's files) told by a narrator in
//               roleplay conversations whose replies cover every length level
//               (train/story_roleplay.h), then trained exactly as limarp conversations.
// Samples longer than sequence_len are dropped (counted in the report), as Axolotl does.
//
//   DatasetReport report;
//   LIMARP_ASSIGN_OR_RETURN(std::vector<Sample> s, load_dataset(spec, config, tokenizer, report));
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/rng.h"
#include "base/status.h"
#include "chat/chat_state.h"
#include "model/training_pass.h"
#include "tokenizer/tokenizer.h"
#include "train/length_label.h"
#include "train/roleplay_prompt.h"
#include "train/train_config.h"
#include "train/yaml_reader.h"

namespace limarp::train {

struct Sample {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> trained;  // 1: token i is a loss target (predicted from tokens < i)
  std::vector<float> weight;     // token i's weight as a target; empty: 1 for every trained token
  std::vector<int64_t> turn_ends;  // tokens that decide a character's reply ends (limarp)
  // Where a reply could have stopped but goes on (limarp): the token holding a segment's go-on
  // byte, and the turn_ends entry (a token index) of that reply's real end.
  struct GoOn {
    int64_t token = 0;
    int64_t turn_end = 0;
  };
  std::vector<GoOn> go_ons;
  std::vector<StopChoice> choice;  // token i's length decision as a target; empty: none
  std::string origin;            // "file.yaml" or "file.jsonl:12", for previews and errors
  // Derived samples (train/length_augment.h) name the record they come from in `group`, so a
  // validation split never trains on a variant of a held-out record.
  std::string group;
  bool derived = false;

  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  int64_t trained_count() const;
};

struct DatasetReport {
  int64_t files = 0;
  int64_t records = 0;           // documents, conversations or records read
  int64_t samples = 0;
  int64_t dropped_too_long = 0;
  int64_t dropped_empty = 0;
  int64_t derived = 0;           // samples made by length augmentation (included in samples)
  int64_t stop_decisions = 0;    // tokens carrying the stop-or-go-on loss (stop_choice_weight)
  int64_t tokens = 0;
  int64_t trained_tokens = 0;
  std::array<int64_t, kLengthLevelCount> length_histogram{};  // labelled replies per level (limarp)
  void add(const Sample& s);
};

// The files of a dataset path: the file itself, or the folder's files (recursively, sorted)
// whose extensions are in `extensions` (".yaml", ".jsonl", ...).
Result<std::vector<std::string>> dataset_files(const std::string& path, const std::vector<std::string>& extensions);

// Tokenizes prompt segments as one text, so tokens spanning a boundary are exactly what the
// tokenizer gives for the whole; each token takes the flag of the segment holding its first
// byte; the token holding a turn_end segment's first byte, and an appended EOS that is
// trained, are the sample's turn_ends. BOS first; `eos` appends EOS (trained when `eos.trained`).
// A reply segment's go_ons become the sample's go_ons when the reply's end is a turn end (the
// next segment is one, or the reply is last and the trained EOS follows).
struct EosOptions {
  bool append = false;
  bool trained = false;
};
Sample tokenize_segments(const std::vector<TrainingSegment>& segments, const Tokenizer& tok, EosOptions eos);

// Fills s.choice with the sample's length decisions, each of `weight`. At a go-on, the
// decision is the first token where the reply departs from its turn end's tokens (after a
// paragraph's "\n\n", the token after them): a choice against the turn end's token at that
// depth, which is marked as a stop too; each turn end's first token is a stop.
void mark_stop_choices(Sample& s, float weight, int32_t eos);

// The length measure of a labelling rule: words, or tokens of `tok` without BOS (`tok` must
// outlive the measure).
LengthMeasure length_measure(const LengthLabelRule& rule, const Tokenizer& tok);

// A roleplay conversation as the limarp and story_roleplay types train it: the conversation
// and, when spec.augment asks, its length variants, each rendered with length labels and loss
// mask (train/roleplay_prompt.h), turn-end weights and stop decisions; appended to `samples`
// (samples over sequence_len or with nothing trained are dropped) and counted in `report`.
// `origin` names the conversation in previews and groups its variants for the validation split.
void add_roleplay_samples(const ChatState& conv, const std::string& origin, const DatasetSpec& spec,
                          const TrainConfig& config, const Tokenizer& tok, const LengthMeasure& measure, Rng& rng,
                          DatasetReport& report, std::vector<Sample>& samples);

Result<std::vector<Sample>> load_completion(const DatasetSpec& spec, const TrainConfig& config, const Tokenizer& tok,
                                            DatasetReport& report);
Result<std::vector<Sample>> load_limarp(const DatasetSpec& spec, const TrainConfig& config, const Tokenizer& tok,
                                        DatasetReport& report);
Result<std::vector<Sample>> load_story_roleplay(const DatasetSpec& spec, const TrainConfig& config,
                                                const Tokenizer& tok, DatasetReport& report);
Result<std::vector<Sample>> load_alpaca(const DatasetSpec& spec, const TrainConfig& config, const Tokenizer& tok,
                                        DatasetReport& report);

// Dispatches on spec.type.
Result<std::vector<Sample>> load_dataset(const DatasetSpec& spec, const TrainConfig& config, const Tokenizer& tok,
                                         DatasetReport& report);

// Every dataset of a config, in order; one report per dataset.
Result<std::vector<Sample>> load_datasets(const TrainConfig& config, const Tokenizer& tok,
                                          std::vector<DatasetReport>& reports);

// A sample as text with the trained spans marked «like this», for `limarp prepare`.
std::string render_with_mask(const Sample& s, const Tokenizer& tok);

}  // namespace limarp::train
