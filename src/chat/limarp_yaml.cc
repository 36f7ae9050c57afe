#include "chat/limarp_yaml.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

#include "base/mapped_file.h"

namespace fs = std::filesystem;

namespace limarp {
namespace {

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

Result<std::string> scalar(const YAML::Node& node, const std::string& source, const std::string& key) {
  if (!node || !node.IsScalar()) return make_error("{}: {} must be text", source, key);
  return node.as<std::string>();
}

}  // namespace

Result<ChatState> parse_limarp_conversation(std::string_view text, const std::string& source) {
  if (text.size() > (size_t{16} << 20)) return make_error("{}: file too large for a conversation", source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return make_error("{}: invalid YAML: {}", source, e.what());
  }
  try {
    if (!root.IsMap()) return make_error("{}: not a LimaRP conversation (expected a map)", source);
    const YAML::Node names = root["names"];
    if (!names || !names.IsMap()) return make_error("{}: missing names", source);
    LIMARP_ASSIGN_OR_RETURN(std::string first, scalar(names["<FIRST>"], source, "names.<FIRST>"));
    LIMARP_ASSIGN_OR_RETURN(std::string second, scalar(names["<SECOND>"], source, "names.<SECOND>"));
    auto fill = [&](std::string s) {
      s = replace_all(std::move(s), "<FIRST>", first);
      s = replace_all(std::move(s), "<SECOND>", second);
      return replace_all(std::move(s), "---", "\xE2\x80\x94");
    };
    ChatState chat;
    chat.char_name = first;
    chat.user_name = second;
    if (const YAML::Node personas = root["personas"]; personas && personas.IsMap()) {
      if (personas["<FIRST>"]) {
        LIMARP_ASSIGN_OR_RETURN(std::string p, scalar(personas["<FIRST>"], source, "personas.<FIRST>"));
        chat.char_persona = fill(p);
      }
      if (personas["<SECOND>"]) {
        LIMARP_ASSIGN_OR_RETURN(std::string p, scalar(personas["<SECOND>"], source, "personas.<SECOND>"));
        chat.user_persona = fill(p);
      }
    }
    if (root["scenario"]) {
      LIMARP_ASSIGN_OR_RETURN(std::string s, scalar(root["scenario"], source, "scenario"));
      chat.scenario = fill(s);
    }
    const YAML::Node conv = root["conversation"];
    if (!conv || !conv.IsSequence()) return make_error("{}: missing conversation", source);
    for (size_t i = 0; i < conv.size(); ++i) {
      const std::string where = fmt::format("conversation[{}]", i);
      LIMARP_ASSIGN_OR_RETURN(std::string who, scalar(conv[i]["name"], source, where + ".name"));
      LIMARP_ASSIGN_OR_RETURN(std::string msg, scalar(conv[i]["text"], source, where + ".text"));
      if (who != "<FIRST>" && who != "<SECOND>")
        return make_error("{}: {}.name must be <FIRST> or <SECOND>, got {:?}", source, where, who);
      chat.messages.push_back({who == "<FIRST>" ? ChatRole::kChar : ChatRole::kUser, fill(msg), std::nullopt});
    }
    return chat;
  } catch (const YAML::Exception& e) {
    return make_error("{}: {}", source, e.what());
  }
}

Result<ChatState> load_limarp_conversation(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(std::string text, read_text_file(path, size_t{16} << 20));
  return parse_limarp_conversation(text, path);
}

Result<std::vector<ChatState>> load_limarp_conversations(const std::string& path) {
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec)) {
      const std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  if (files.empty()) return make_error("{}: no .yaml conversations", path);
  std::vector<ChatState> out;
  for (const auto& f : files) {
    LIMARP_ASSIGN_OR_RETURN(ChatState c, load_limarp_conversation(f));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace limarp
