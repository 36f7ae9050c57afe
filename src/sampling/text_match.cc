#include "sampling/text_match.h"

#include <algorithm>

namespace limarp {

size_t partial_suffix_length(std::string_view text, std::span<const std::string> patterns) {
  size_t best = 0;
  for (const auto& p : patterns) {
    if (p.empty()) continue;
    // Suffixes of text shorter than p that equal p's prefix of the same length.
    const size_t max_len = std::min(text.size(), p.size() - 1);
    for (size_t len = max_len; len > best; --len)
      if (text.substr(text.size() - len) == std::string_view(p).substr(0, len)) {
        best = len;
        break;
      }
  }
  return best;
}

PatternHit find_first_pattern(std::string_view text, std::span<const std::string> patterns, size_t from) {
  PatternHit hit;
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (patterns[i].empty()) continue;
    const size_t at = text.find(patterns[i], from);
    if (at == std::string_view::npos) continue;
    if (!hit.found() || at < hit.pos || (at == hit.pos && patterns[i].size() > patterns[hit.pattern].size()))
      hit = {at, i};
  }
  return hit;
}

}  // namespace limarp
