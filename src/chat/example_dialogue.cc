#include "chat/example_dialogue.h"

#include "base/text_util.h"

namespace limarp {

std::vector<ChatMessage> parse_example_dialogue(std::string_view mes_example, const MacroNames& names) {
  const std::string text = normalize_newlines(substitute_macros(mes_example, names));
  const std::string user_tag = std::string(names.user_name) + ":";
  const std::string char_tag = std::string(names.char_name) + ":";
  std::vector<ChatMessage> out;
  bool in_message = false;  // false at the start of a block: text is dropped until a speaker
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    const std::string_view stripped = trim_whitespace(line);
    if (starts_with_ignoring_case(stripped, "<START>")) {
      in_message = false;
    } else if (!user_tag.empty() && user_tag != ":" && stripped.starts_with(user_tag)) {
      out.push_back({ChatRole::kUser, std::string(stripped.substr(user_tag.size())), std::nullopt});
      in_message = true;
    } else if (!char_tag.empty() && char_tag != ":" && stripped.starts_with(char_tag)) {
      out.push_back({ChatRole::kChar, std::string(stripped.substr(char_tag.size())), std::nullopt});
      in_message = true;
    } else if (in_message) {
      out.back().text += '\n';
      out.back().text += line;
    }
    pos = end + 1;
  }
  for (auto& m : out) m.text = std::string(trim_whitespace(m.text));
  return out;
}

}  // namespace limarp
