// Matching strings in streamed text: shared by the stop-string matcher (infer/stop_strings.h)
// and the banned-string matcher (banned_strings.h). Both must hold back text that may be the
// start of a pattern, because the next token may complete it.
//
//   partial_suffix_length("Hello ###", {"### Input"}) == 3   // "###" may become "### Input"
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace limarp {

// The length of the longest suffix of `text` that is a proper prefix of some pattern (a
// pattern that may still complete when more text arrives). 0 when none.
size_t partial_suffix_length(std::string_view text, std::span<const std::string> patterns);

// The earliest occurrence of any pattern in text[from..]: {position, pattern index}, or
// {npos, npos}. Among patterns starting at the same place the longest wins.
struct PatternHit {
  size_t pos = std::string_view::npos;
  size_t pattern = std::string_view::npos;
  bool found() const { return pos != std::string_view::npos; }
};
PatternHit find_first_pattern(std::string_view text, std::span<const std::string> patterns, size_t from = 0);

}  // namespace limarp
