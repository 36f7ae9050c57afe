#include "train/sentence_split.h"

#include <algorithm>
#include <array>
#include <string>

#include "base/text_util.h"

namespace limarp::train {
namespace {

constexpr std::string_view kRightDoubleQuote = "\xE2\x80\x9D";  // ”
constexpr std::string_view kLeftDoubleQuote = "\xE2\x80\x9C";   // “
constexpr std::string_view kRightSingleQuote = "\xE2\x80\x99";  // ’

// Lower case, without the final period; "e.g" is how "e.g." reads before its last period.
// ("No." is left out: in stories it is mostly the answer, not "number".)
constexpr std::array<std::string_view, 13> kAbbreviations = {"mr", "mrs", "ms", "dr",  "st",  "mt",    "jr",
                                                             "sr", "prof", "vs", "e.g", "i.e", "approx"};
constexpr std::array<std::string_view, 24> kSpeechVerbs = {
    "said",    "says",     "asked",   "asks",      "replied", "shouted", "cried",  "yelled",
    "whispered", "exclaimed", "called", "answered", "added",  "explained", "laughed", "screamed",
    "sang",    "giggled",  "told",    "thought",   "agreed",  "begged",  "wondered", "squealed"};

bool is_mark(char c) { return c == '.' || c == '!' || c == '?'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

std::string lower_letters(std::string_view word) {
  std::string out;
  for (char c : word) {
    if (is_upper(c)) out += static_cast<char>(c - 'A' + 'a');
    else if (is_lower(c) || c == '.') out += c;
  }
  return out;
}

// Length of the closing character at `at` (a quote, bracket or asterisk), 0 if none.
size_t closer_at(std::string_view s, size_t at) {
  const char c = s[at];
  if (c == '"' || c == '\'' || c == ')' || c == ']' || c == '*') return 1;
  const std::string_view rest = s.substr(at);
  if (rest.starts_with(kRightDoubleQuote) || rest.starts_with(kRightSingleQuote)) return 3;
  return 0;
}

// The word of `text` that ends just before `end` (after the last whitespace before it).
std::string_view word_before(std::string_view text, size_t end) {
  size_t start = end;
  while (start > 0 && !is_space(text[start - 1])) --start;
  return text.substr(start, end - start);
}

// Up to `n` words of `text` from `from` on.
std::vector<std::string_view> words_after(std::string_view text, size_t from, size_t n) {
  std::vector<std::string_view> out;
  size_t i = from;
  while (out.size() < n) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size()) break;
    const size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    out.push_back(text.substr(start, i - start));
  }
  return out;
}

bool is_abbreviation(std::string_view word_with_period) {
  std::string_view w = word_with_period.substr(0, word_with_period.size() - 1);
  while (!w.empty() && (w.front() == '"' || w.front() == '(' || w.front() == '*')) w.remove_prefix(1);
  if (w.size() == 1 && is_upper(w[0])) return true;  // an initial: "J. R. R. Tolkien"
  const std::string key = lower_letters(w);
  return std::find(kAbbreviations.begin(), kAbbreviations.end(), key) != kAbbreviations.end();
}

bool attribution_follows(std::string_view text, size_t from) {
  for (std::string_view w : words_after(text, from, 3)) {
    std::string key = lower_letters(w);
    while (!key.empty() && key.back() == '.') key.pop_back();
    if (std::find(kSpeechVerbs.begin(), kSpeechVerbs.end(), key) != kSpeechVerbs.end()) return true;
  }
  return false;
}

// Sentences of one line (no line breaks inside).
void split_line(std::string_view line, std::vector<Sentence>& out) {
  bool in_quote = false, in_stars = false;
  int curly = 0;  // open “ without their ”
  size_t start = 0;
  bool first = true;
  auto emit = [&](size_t end, bool closed) {
    const std::string_view text = trim_whitespace(line.substr(start, end - start));
    if (!text.empty()) {
      out.push_back({text, first, closed});
      first = false;
    }
    start = end;
  };
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (line.substr(i).starts_with(kLeftDoubleQuote)) {
      ++curly;
      i += kLeftDoubleQuote.size();
      continue;
    }
    if (!is_mark(c)) {
      if (c == '"') in_quote = !in_quote;
      if (c == '*') in_stars = !in_stars;
      if (line.substr(i).starts_with(kRightDoubleQuote)) curly = std::max(0, curly - 1);
      ++i;
      continue;
    }
    const size_t mark = i;
    size_t j = i;
    while (j < line.size() && is_mark(line[j])) ++j;
    bool quote_closed = false;
    while (j < line.size()) {
      const size_t n = closer_at(line, j);
      if (n == 0) break;
      if (line[j] == '"') {
        in_quote = !in_quote;
        quote_closed = quote_closed || !in_quote;
      } else if (line[j] == '*') {
        in_stars = !in_stars;
      } else if (n == 3 && line.substr(j).starts_with(kRightDoubleQuote)) {
        curly = std::max(0, curly - 1);
        quote_closed = true;
      }
      j += n;
    }
    i = j;
    if (j >= line.size()) break;  // the line's end closes it below
    if (!is_space(line[j]) || in_quote || in_stars || curly > 0) continue;
    const std::vector<std::string_view> next = words_after(line, j, 1);
    if (next.empty()) continue;
    const bool single_period = j - mark == 1 && line[mark] == '.';
    if (single_period && is_abbreviation(word_before(line, mark + 1))) continue;
    if (is_lower(next[0][0])) continue;
    if (quote_closed && attribution_follows(line, j)) continue;
    emit(j, true);
  }
  if (start < line.size()) {
    const std::string_view rest = trim_whitespace(line.substr(start));
    size_t end = rest.size();
    while (end > 0 && closer_at(rest, end - 1) == 1) --end;
    // A multi-byte closer (”, ’) ends in 0x9D / 0x99 bytes that closer_at does not see from
    // their last byte; the check below looks at the text before any closer.
    if (end >= 3 && (rest.substr(end - 3, 3) == kRightDoubleQuote || rest.substr(end - 3, 3) == kRightSingleQuote))
      end -= 3;
    emit(line.size(), end > 0 && is_mark(rest[end - 1]));
  }
}

}  // namespace

std::vector<Sentence> split_sentences(std::string_view text) {
  std::vector<Sentence> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    split_line(text.substr(pos, end - pos), out);
    pos = end + 1;
  }
  return out;
}

}  // namespace limarp::train
