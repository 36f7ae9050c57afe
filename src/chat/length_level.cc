#include "chat/length_level.h"

namespace limarp {

const char* length_level_name(LengthLevel level) {
  switch (level) {
    case LengthLevel::kTiny: return "tiny";
    case LengthLevel::kShort: return "short";
    case LengthLevel::kMedium: return "medium";
    case LengthLevel::kLong: return "long";
    case LengthLevel::kHuge: return "huge";
    case LengthLevel::kHumongous: return "humongous";
    case LengthLevel::kExtreme: return "extreme";
    case LengthLevel::kUnlimited: return "unlimited";
  }
  return "medium";
}

Result<LengthLevel> parse_length_level(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::string lower(text);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (LengthLevel level : kAllLengthLevels)
    if (lower == length_level_name(level)) return level;
  return make_error("unknown length \"{}\" (expected tiny, short, medium, long, huge, humongous, extreme or unlimited)",
                    text);
}

std::string length_modifier(LengthLevel level) { return fmt::format(" (length = {})", length_level_name(level)); }

}  // namespace limarp
