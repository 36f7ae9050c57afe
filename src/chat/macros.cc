#include "chat/macros.h"

#include <array>

namespace limarp {
namespace {

bool iequals_at(std::string_view text, size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = text[at + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return true;
}

}  // namespace

std::string substitute_macros(std::string_view text, const MacroNames& names) {
  // Lower-case spellings; matching ignores ASCII case.
  const std::array<std::pair<std::string_view, std::string_view>, 4> macros = {{
      {"{{char}}", names.char_name},
      {"{{user}}", names.user_name},
      {"<bot>", names.char_name},
      {"<user>", names.user_name},
  }};
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '{' || text[i] == '<') {
      for (const auto& [macro, value] : macros) {
        if (iequals_at(text, i, macro)) {
          out += value;
          i += macro.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

}  // namespace limarp
