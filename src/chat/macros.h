// Character-card macros: {{char}} and {{user}} (any case, as SillyTavern accepts them) and
// the older <BOT> / <USER> tags, replaced by the names.
//
//   substitute_macros("{{char}} smiles at {{user}}.", {"Aqua", "Kazuma"})
//       == "Aqua smiles at Kazuma."
#pragma once

#include <string>
#include <string_view>

namespace limarp {

struct MacroNames {
  std::string_view char_name;
  std::string_view user_name;
};

std::string substitute_macros(std::string_view text, const MacroNames& names);

}  // namespace limarp
