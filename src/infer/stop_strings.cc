#include "infer/stop_strings.h"

#include "base/text_util.h"
#include "sampling/text_match.h"

namespace limarp {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops, ReplyWhitespace whitespace)
    : trim_(whitespace == ReplyWhitespace::kTrim) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
}

void StopStringMatcher::reset() {
  held_.clear();
  reply_.clear();
  matched_.clear();
  stopped_ = false;
  finished_ = false;
}

std::string StopStringMatcher::emit(std::string_view text) {
  // Nothing shown yet: the reply's leading whitespace is not part of it.
  if (reply_.empty() && trim_)
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  reply_ += text;
  return std::string(text);
}

std::string StopStringMatcher::push(std::string_view piece) {
  if (stopped_ || finished_) return "";
  held_ += piece;
  const PatternHit hit = find_first_pattern(held_, stops_);
  if (hit.found()) {
    stopped_ = true;
    matched_ = stops_[hit.pattern];
    std::string_view before(held_.data(), hit.pos);
    while (trim_ && !before.empty() && is_space(before.back())) before.remove_suffix(1);
    std::string out = emit(before);
    held_.clear();
    return out;
  }
  // Hold back what may begin a stop string, and trailing whitespace (it may turn out to be
  // the end of the reply, which is trimmed).
  size_t keep = held_.size() - partial_suffix_length(held_, stops_);
  while (trim_ && keep > 0 && is_space(held_[keep - 1])) --keep;
  std::string out = emit(std::string_view(held_).substr(0, keep));
  held_.erase(0, keep);
  // Leading whitespace of a reply that has shown nothing yet is never shown: drop it, unless
  // it may begin a stop string ("\nUser:").
  if (reply_.empty() && trim_) {
    const size_t partial = partial_suffix_length(held_, stops_);
    size_t lead = 0;
    while (lead < held_.size() - partial && is_space(held_[lead])) ++lead;
    held_.erase(0, lead);
  }
  return out;
}

std::string StopStringMatcher::finish() {
  if (stopped_ || finished_) return "";
  finished_ = true;
  std::string_view rest(held_);
  while (trim_ && !rest.empty() && is_space(rest.back())) rest.remove_suffix(1);
  std::string out = emit(rest);
  held_.clear();
  return out;
}

std::string trim_unfinished_sentence(std::string_view text) {
  text = trim_whitespace(text);
  auto starts = [&](size_t i, std::string_view s) { return text.substr(i, s.size()) == s; };
  // Multi-byte enders and closers, UTF-8.
  constexpr std::string_view kEnders[] = {".", "!", "?", "\xE2\x80\xA6" /*…*/, "\xE3\x80\x82" /*。*/,
                                          "\xEF\xBC\x81" /*！*/, "\xEF\xBC\x9F" /*？*/};
  constexpr std::string_view kClosers[] = {"\"", "'", ")", "]", "*", "_", "~", "\xE2\x80\x9D" /*”*/,
                                           "\xE2\x80\x99" /*’*/, "\xE3\x80\x8D" /*」*/, "\xE3\x80\x8F" /*』*/};
  size_t cut = std::string_view::npos;
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    for (auto e : kEnders)
      if (starts(i, e)) {
        len = e.size();
        break;
      }
    if (len == 0) {
      if (text[i] == '\n') cut = i;
      ++i;
      continue;
    }
    size_t j = i + len;
    // Runs like "?!" or "..." then closers.
    for (bool more = true; more;) {
      more = false;
      for (auto e : kEnders)
        if (starts(j, e)) {
          j += e.size();
          more = true;
        }
      for (auto c : kClosers)
        if (starts(j, c)) {
          j += c.size();
          more = true;
        }
    }
    // "3.5" is not a sentence end: ASCII punctuation must be followed by a space or the end.
    // Full-width CJK punctuation needs no space after it.
    const bool ascii_ender = static_cast<unsigned char>(text[i]) < 0x80;
    if (j == text.size() || is_space(text[j]) || !ascii_ender) cut = j;
    i = j;
  }
  if (cut == std::string_view::npos) return std::string(text);
  return std::string(trim_whitespace(text.substr(0, cut)));
}

}  // namespace limarp
