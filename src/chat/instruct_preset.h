// SillyTavern instruct presets: the sequences that wrap the system block and every turn of an
// instruct-format prompt. Both field generations load; either can be written back.
//
//   LIMARP_ASSIGN_OR_RETURN(InstructPreset p, load_instruct_preset("LimaRP-Alpaca"));  // built in
//   LIMARP_ASSIGN_OR_RETURN(InstructPreset q, load_instruct_preset("presets/ChatML.json"));
//   Json out = instruct_preset_to_json(p, PresetGeneration::kNew);
//
// Generations. Older SillyTavern (the LimaRP-Alpaca preset published with the model) writes
// separator_sequence, names, names_force_groups; newer versions write output_suffix and
// names_behavior ("force" | "always" | "none") and add input_suffix, system_suffix,
// last_system_sequence, first/last_input_sequence, user_alignment_message,
// system_same_as_user, skip_examples. On import, old fields map as SillyTavern migrates them:
// separator_sequence → output_suffix (an explicit output_suffix wins when both are present),
// names true → always, else names_force_groups true → force, else none. A file exported from
// SillyTavern's "master export" ({"instruct": {...}, ...}) is unwrapped. Keys we do not know
// are kept and written back unchanged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/json_util.h"
#include "base/status.h"

namespace limarp {

enum class NamesBehavior { kForce, kAlways, kNone };
const char* names_behavior_name(NamesBehavior b);  // "force" | "always" | "none"

enum class PresetGeneration { kOld, kNew };

struct InstructPreset {
  std::string name;
  // Wraps the system block (the LimaRP instruction: personas, scenario, play-the-role line).
  std::string system_sequence_prefix;
  std::string system_sequence_suffix;
  std::string input_sequence;
  std::string input_suffix;
  std::string output_sequence;
  std::string output_suffix;  // old generation: separator_sequence
  std::string first_output_sequence;
  std::string last_output_sequence;
  std::string first_input_sequence;
  std::string last_input_sequence;
  // System messages (narrator); also the system block's wrapper when system_sequence_prefix is
  // empty, as newer presets leave it.
  std::string system_sequence;
  std::string system_suffix;
  std::string last_system_sequence;
  std::string stop_sequence;
  std::string user_alignment_message;
  std::string system_prompt;
  std::string activation_regex;
  bool wrap = true;
  bool macro = true;
  NamesBehavior names_behavior = NamesBehavior::kForce;
  bool system_same_as_user = false;
  bool skip_examples = false;
  Json extra = Json::object();  // unknown keys, written back on export

  bool operator==(const InstructPreset&) const = default;
};

// Errors name the field: "preset.json: input_sequence must be a string, got 3".
Result<InstructPreset> instruct_preset_from_json(const Json& json, std::string_view source);
Json instruct_preset_to_json(const InstructPreset& preset, PresetGeneration generation);
// Which generation a preset file was written in (old when it has separator_sequence or names).
PresetGeneration detect_preset_generation(const Json& json);

// The "LimaRP-Alpaca" preset as published with the model (old generation; its
// last_output_sequence carries "(length = tiny)", which the renderer replaces with the chat's
// level).
InstructPreset limarp_alpaca_preset();
std::vector<InstructPreset> builtin_instruct_presets();

// A built-in preset's name (any case) or a path to a preset JSON file.
Result<InstructPreset> load_instruct_preset(const std::string& name_or_path);
Status save_instruct_preset(const std::string& path, const InstructPreset& preset, PresetGeneration generation);

}  // namespace limarp
