#include "chat/instruct_preset.h"

#include <filesystem>

#include "base/atomic_file.h"

namespace limarp {
namespace {

struct StringField {
  std::string_view key;
  std::string InstructPreset::*member;
};

// Fields both generations share, plus the new generation's own string fields.
constexpr StringField kStringFields[] = {
    {"name", &InstructPreset::name},
    {"system_sequence_prefix", &InstructPreset::system_sequence_prefix},
    {"system_sequence_suffix", &InstructPreset::system_sequence_suffix},
    {"input_sequence", &InstructPreset::input_sequence},
    {"input_suffix", &InstructPreset::input_suffix},
    {"output_sequence", &InstructPreset::output_sequence},
    {"output_suffix", &InstructPreset::output_suffix},
    {"first_output_sequence", &InstructPreset::first_output_sequence},
    {"last_output_sequence", &InstructPreset::last_output_sequence},
    {"first_input_sequence", &InstructPreset::first_input_sequence},
    {"last_input_sequence", &InstructPreset::last_input_sequence},
    {"system_sequence", &InstructPreset::system_sequence},
    {"system_suffix", &InstructPreset::system_suffix},
    {"last_system_sequence", &InstructPreset::last_system_sequence},
    {"stop_sequence", &InstructPreset::stop_sequence},
    {"user_alignment_message", &InstructPreset::user_alignment_message},
    {"system_prompt", &InstructPreset::system_prompt},
    {"activation_regex", &InstructPreset::activation_regex},
};

// The string fields only the new generation has: an old-generation export leaves them out
// when empty (an old SillyTavern ignores them anyway).
constexpr std::string_view kNewOnly[] = {"input_suffix",         "first_input_sequence",  "last_input_sequence",
                                         "system_suffix",        "last_system_sequence", "user_alignment_message",
                                         "output_suffix"};

struct BoolField {
  std::string_view key;
  bool InstructPreset::*member;
};
constexpr BoolField kBoolFields[] = {
    {"wrap", &InstructPreset::wrap},
    {"macro", &InstructPreset::macro},
    {"system_same_as_user", &InstructPreset::system_same_as_user},
    {"skip_examples", &InstructPreset::skip_examples},
};

// Keys handled explicitly (not kept in `extra`).
bool is_known_key(std::string_view key) {
  for (const auto& f : kStringFields)
    if (f.key == key) return true;
  for (const auto& f : kBoolFields)
    if (f.key == key) return true;
  return key == "separator_sequence" || key == "names" || key == "names_force_groups" || key == "names_behavior";
}

Result<bool> read_bool(const Json& j, std::string_view key, std::string_view source) {
  const Json& v = j.at(std::string(key));
  if (!v.is_boolean()) return make_error("{}: {} must be true or false, got {}", source, key, v.dump());
  return v.get<bool>();
}

}  // namespace

const char* names_behavior_name(NamesBehavior b) {
  switch (b) {
    case NamesBehavior::kForce: return "force";
    case NamesBehavior::kAlways: return "always";
    case NamesBehavior::kNone: return "none";
  }
  return "force";
}

PresetGeneration detect_preset_generation(const Json& json) {
  const Json& j = json.is_object() && json.contains("instruct") && json["instruct"].is_object() ? json["instruct"] : json;
  if (j.is_object() && (j.contains("separator_sequence") || j.contains("names") || j.contains("names_force_groups")))
    return PresetGeneration::kOld;
  return PresetGeneration::kNew;
}

Result<InstructPreset> instruct_preset_from_json(const Json& json, std::string_view source) {
  if (!json.is_object()) return make_error("{}: an instruct preset must be a JSON object", source);
  const Json& j = json.contains("instruct") && json["instruct"].is_object() ? json["instruct"] : json;
  InstructPreset p;
  for (const auto& f : kStringFields) {
    auto it = j.find(f.key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_string()) return make_error("{}: {} must be a string, got {}", source, f.key, it->dump());
    p.*f.member = it->get<std::string>();
  }
  for (const auto& f : kBoolFields) {
    if (!j.contains(f.key) || j[std::string(f.key)].is_null()) continue;
    LIMARP_ASSIGN_OR_RETURN(p.*f.member, read_bool(j, f.key, source));
  }
  if (auto it = j.find("separator_sequence"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return make_error("{}: separator_sequence must be a string, got {}", source, it->dump());
    if (!j.contains("output_suffix")) p.output_suffix = it->get<std::string>();
  }
  if (auto it = j.find("names_behavior"); it != j.end() && !it->is_null()) {
    const std::string v = it->is_string() ? it->get<std::string>() : it->dump();
    if (v == "force") p.names_behavior = NamesBehavior::kForce;
    else if (v == "always") p.names_behavior = NamesBehavior::kAlways;
    else if (v == "none") p.names_behavior = NamesBehavior::kNone;
    else return make_error("{}: names_behavior must be \"force\", \"always\" or \"none\", got {}", source, it->dump());
  } else if (j.contains("names") || j.contains("names_force_groups")) {
    bool names = false, force = false;
    if (j.contains("names")) {
      LIMARP_ASSIGN_OR_RETURN(names, read_bool(j, "names", source));
    }
    if (j.contains("names_force_groups")) {
      LIMARP_ASSIGN_OR_RETURN(force, read_bool(j, "names_force_groups", source));
    }
    p.names_behavior = names ? NamesBehavior::kAlways : force ? NamesBehavior::kForce : NamesBehavior::kNone;
  }
  for (const auto& [key, value] : j.items())
    if (!is_known_key(key)) p.extra[key] = value;
  return p;
}

Json instruct_preset_to_json(const InstructPreset& p, PresetGeneration generation) {
  Json j = Json::object();
  for (const auto& [key, value] : p.extra.items()) j[key] = value;
  for (const auto& f : kStringFields) {
    const std::string& v = p.*f.member;
    if (generation == PresetGeneration::kOld) {
      bool new_only = false;
      for (auto k : kNewOnly) new_only |= (k == f.key);
      if (new_only && v.empty()) continue;
      if (f.key == "output_suffix") continue;  // written as separator_sequence
    }
    j[std::string(f.key)] = v;
  }
  for (const auto& f : kBoolFields) {
    const bool new_only = f.key == "system_same_as_user" || f.key == "skip_examples";
    if (generation == PresetGeneration::kOld && new_only && !(p.*f.member)) continue;
    j[std::string(f.key)] = p.*f.member;
  }
  if (generation == PresetGeneration::kOld) {
    j["separator_sequence"] = p.output_suffix;
    j["names"] = p.names_behavior == NamesBehavior::kAlways;
    j["names_force_groups"] = p.names_behavior == NamesBehavior::kForce;
  } else {
    j["names_behavior"] = names_behavior_name(p.names_behavior);
  }
  return j;
}

InstructPreset limarp_alpaca_preset() {
  InstructPreset p;
  p.name = "LimaRP-Alpaca";
  p.system_sequence_prefix = "### Instruction:";
  p.system_sequence_suffix = "";
  p.input_sequence = "\n### Input:";
  p.output_sequence = "\n### Response:";
  p.last_output_sequence = "\n### Response: (length = tiny)";
  p.stop_sequence = "### Input:";
  p.output_suffix = "";  // separator_sequence
  p.first_output_sequence = "";
  p.wrap = true;
  p.names_behavior = NamesBehavior::kAlways;  // names: true, names_force_groups: false
  p.macro = true;
  p.system_prompt = "";
  p.system_sequence = "<<SYSTEM>>";
  p.activation_regex = "";
  return p;
}

std::vector<InstructPreset> builtin_instruct_presets() { return {limarp_alpaca_preset()}; }

Result<InstructPreset> load_instruct_preset(const std::string& name_or_path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(name_or_path, ec)) {
    LIMARP_ASSIGN_OR_RETURN(Json j, read_json_file(name_or_path, {.max_bytes = size_t{16} << 20, .max_depth = 32}));
    return instruct_preset_from_json(j, name_or_path);
  }
  std::string names;
  for (auto& p : builtin_instruct_presets()) {
    std::string a = p.name, b = name_or_path;
    for (char& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : b) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (a == b) return p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  return make_error("instruct preset \"{}\" is neither a file nor a built-in preset ({})", name_or_path, names);
}

Status save_instruct_preset(const std::string& path, const InstructPreset& preset, PresetGeneration generation) {
  return write_file_atomic(path, instruct_preset_to_json(preset, generation).dump(4) + "\n");
}

}  // namespace limarp
