// Small text helpers: whitespace, newlines, case-insensitive prefixes, word counts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace limarp {

// A space, tab, CR or LF: the whitespace of every helper here.
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
// Without leading and trailing spaces, tabs, CR and LF.
std::string_view trim_whitespace(std::string_view s);
// CRLF and lone CR become LF: the model never saw carriage returns, and a card written on
// Windows should render like one written elsewhere.
std::string normalize_newlines(std::string_view s);
// normalize_newlines, then trim.
std::string clean_field(std::string_view s);
bool starts_with_ignoring_case(std::string_view text, std::string_view prefix);
// Runs of non-whitespace: the length measure of the length labels in training and of the
// length evaluation, which must agree.
int64_t count_words(std::string_view text);

}  // namespace limarp
