#include "sampling/banned_strings.h"

#include <algorithm>

#include "sampling/text_match.h"

namespace limarp {

BannedStringMatcher::BannedStringMatcher(std::vector<std::string> banned, BannedStringOptions options)
    : options_(options) {
  for (auto& b : banned) {
    if (b.empty()) continue;
    banned_.push_back(fold(b));
    max_len_ = std::max(max_len_, b.size());
  }
}

std::string BannedStringMatcher::fold(std::string_view s) const {
  std::string out(s);
  if (options_.case_matching == CaseMatching::kAsciiInsensitive)
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<BannedStringHit> BannedStringMatcher::push(int32_t token, std::string_view text) {
  const size_t old_len = text_.size();
  tokens_.push_back(token);
  starts_.push_back(old_len);
  text_ += fold(text);
  if (banned_.empty() || rewinds_ >= options_.max_rewinds) return std::nullopt;
  // Only a phrase that ends inside the new text is new: start looking max_len - 1 back.
  const size_t from = old_len >= max_len_ ? old_len - max_len_ + 1 : 0;
  const PatternHit hit = find_first_pattern(text_, banned_, from);
  if (!hit.found() || hit.pos + banned_[hit.pattern].size() <= old_len) return std::nullopt;
  // The token holding the phrase's first byte.
  const size_t pos = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), hit.pos) - starts_.begin()) - 1;
  BannedStringHit out;
  out.position = pos;
  out.rewind_tokens = tokens_.size() - pos;
  out.banned_token = tokens_[pos];
  out.phrase = banned_[hit.pattern];
  // Bans recorded further on belonged to a continuation that is being thrown away.
  bans_.erase(bans_.upper_bound(pos), bans_.end());
  bans_[pos].push_back(tokens_[pos]);
  text_.resize(starts_[pos]);
  tokens_.resize(pos);
  starts_.resize(pos);
  ++rewinds_;
  return out;
}

std::span<const int32_t> BannedStringMatcher::bans_at(size_t position) const {
  auto it = bans_.find(position);
  if (it == bans_.end()) return {};
  return it->second;
}

size_t BannedStringMatcher::final_tokens() const {
  if (finished_ || banned_.empty() || rewinds_ >= options_.max_rewinds) return tokens_.size();
  const size_t held = partial_suffix_length(text_, banned_);
  const size_t first_open = text_.size() - held;
  // Tokens that begin at or after first_open, and the one that contains it, are open.
  const size_t pos = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), first_open) - starts_.begin());
  if (held == 0) return tokens_.size();
  return pos == 0 ? 0 : pos - 1;
}

void BannedStringMatcher::reset() {
  tokens_.clear();
  starts_.clear();
  text_.clear();
  bans_.clear();
  rewinds_ = 0;
  finished_ = false;
}

}  // namespace limarp
