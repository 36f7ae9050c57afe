// The limarp dataset type (train/dataset.h): LimaRP conversation files, one YAML file per
// conversation as published (personas / names keyed by <FIRST> (the character, the bot side)
// and <SECOND> (the user), a scenario, and the conversation as a list of {name, text}),
// rendered into LimaRP's prompt format with the names substituted.
#include "train/dataset.h"
#include "train/yaml_reader.h"

namespace limarp::train {
namespace {

constexpr const char* kFirst = "<FIRST>";
constexpr const char* kSecond = "<SECOND>";

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

// Placeholders become names; the source files write em-dashes as "---".
std::string clean(std::string text, const std::string& char_name, const std::string& user_name) {
  replace_all(text, kFirst, char_name);
  replace_all(text, kSecond, user_name);
  replace_all(text, "{{char}}", char_name);
  replace_all(text, "{{user}}", user_name);
  replace_all(text, "---", "\u2014");
  return text;
}

Result<std::string> map_entry(const YAML::Node& map, const char* key, const std::string& src, const char* what,
                              bool required) {
  const YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) {
    if (required) return make_error("{}: {} has no entry for {}", src, what, key);
    return std::string();
  }
  return yaml_string(n, src, fmt::format("{}.{}", what, key));
}

}  // namespace

Result<RoleplayConversation> parse_limarp_conversation(const YAML::Node& root, const std::string& src) {
  if (!root.IsMap()) return make_error("{}: a LimaRP conversation must be a mapping (personas, names, scenario, "
                                       "conversation)", src);
  RoleplayConversation c;
  const YAML::Node names = root["names"];
  if (!names.IsMap()) return make_error("{}: names must map <FIRST> and <SECOND> to the characters' names", src);
  LIMARP_ASSIGN_OR_RETURN(c.char_name, map_entry(names, kFirst, src, "names", true));
  LIMARP_ASSIGN_OR_RETURN(c.user_name, map_entry(names, kSecond, src, "names", true));
  if (c.char_name.empty() || c.user_name.empty()) return make_error("{}: names must not be empty", src);
  const YAML::Node personas = root["personas"];
  if (personas.IsDefined() && !personas.IsNull()) {
    if (!personas.IsMap()) return make_error("{}: personas must map <FIRST> / <SECOND> to descriptions", src);
    LIMARP_ASSIGN_OR_RETURN(c.char_persona, map_entry(personas, kFirst, src, "personas", false));
    LIMARP_ASSIGN_OR_RETURN(c.user_persona, map_entry(personas, kSecond, src, "personas", false));
  }
  if (root["scenario"].IsDefined() && !root["scenario"].IsNull()) {
    LIMARP_ASSIGN_OR_RETURN(c.scenario, yaml_string(root["scenario"], src, "scenario"));
  }
  const YAML::Node conv = root["conversation"];
  if (!conv.IsSequence() || conv.size() == 0) return make_error("{}: conversation must be a non-empty list", src);
  for (size_t i = 0; i < conv.size(); ++i) {
    const std::string where = fmt::format("conversation[{}]", i);
    if (!conv[i].IsMap()) return make_error("{}: {} must be a mapping with name and text", src, where);
    LIMARP_ASSIGN_OR_RETURN(std::string who, yaml_string(conv[i]["name"], src, where + ".name"));
    LIMARP_ASSIGN_OR_RETURN(std::string text, yaml_string(conv[i]["text"], src, where + ".text"));
    RoleplayMessage m;
    if (who == kFirst || who == c.char_name) m.from_character = true;
    else if (who == kSecond || who == c.user_name) m.from_character = false;
    else return make_error("{}: {}.name is '{}', expected <FIRST> or <SECOND>", src, where, who);
    m.text = text;
    c.messages.push_back(std::move(m));
  }
  c.char_persona = clean(c.char_persona, c.char_name, c.user_name);
  c.user_persona = clean(c.user_persona, c.char_name, c.user_name);
  c.scenario = clean(c.scenario, c.char_name, c.user_name);
  for (auto& m : c.messages) m.text = clean(m.text, c.char_name, c.user_name);
  return c;
}

Result<std::vector<Sample>> load_limarp(const DatasetSpec& spec, const TrainConfig& config, const Tokenizer& tok,
                                        DatasetReport& report) {
  LIMARP_ASSIGN_OR_RETURN(std::vector<std::string> files, dataset_files(spec.path, {".yaml", ".yml"}));
  const LengthMeasure measure = [&](std::string_view reply) -> int64_t {
    if (spec.length.unit == LengthUnit::kWords) return count_words(reply);
    return static_cast<int64_t>(tok.encode(reply, {.add_bos = false, .add_eos = false, .parse_special = false}).size());
  };
  std::vector<Sample> samples;
  for (const auto& file : files) {
    ++report.files;
    ++report.records;
    LIMARP_ASSIGN_OR_RETURN(YAML::Node root, read_yaml_file(file));
    LIMARP_ASSIGN_OR_RETURN(RoleplayConversation conv, parse_limarp_conversation(root, file));
    RenderedPrompt prompt = render_roleplay(conv, spec.length, measure);
    if (config.train_on_inputs)
      for (auto& seg : prompt.segments) seg.trained = true;
    Sample s = tokenize_segments(prompt.segments, tok, {prompt.ends_with_reply, true});
    s.origin = file;
    if (s.size() > config.sequence_len) {
      ++report.dropped_too_long;
      continue;
    }
    if (s.trained_count() == 0) {  // a conversation without a character reply teaches nothing
      ++report.dropped_empty;
      continue;
    }
    for (int level : prompt.reply_levels) ++report.length_histogram[static_cast<size_t>(level)];
    report.add(s);
    samples.push_back(std::move(s));
  }
  return samples;
}

}  // namespace limarp::train
