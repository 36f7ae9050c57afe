#include "train/length_augment.h"

#include <map>

#include "base/text_util.h"

namespace limarp::train {
namespace {

bool is_sentence_mark(char c) { return c == '.' || c == '!' || c == '?'; }
bool is_closer(char c) { return c == '"' || c == '*'; }

bool has_reply_after(const std::vector<ChatMessage>& messages, size_t from) {
  for (size_t i = from; i < messages.size(); ++i)
    if (messages[i].role == ChatRole::kChar) return true;
  return false;
}

// Cuts `reply` at a random sentence end giving a shorter level than its own, choosing the
// level first (uniformly among those reachable) so short levels are not favoured just because
// a reply has more ways to reach them. False when no cut lowers the level.
bool truncate_reply(std::string& reply, const LengthLabelRule& rule, const LengthMeasure& measure, Rng& rng) {
  const std::string_view text = trim_whitespace(reply);
  const LengthLevel level = rule.level_for(measure(text));
  if (level == LengthLevel::kTiny) return false;
  std::map<LengthLevel, std::vector<size_t>> cuts_by_level;
  for (size_t cut : sentence_cuts(text)) {
    const std::string_view head = trim_whitespace(text.substr(0, cut));
    const int64_t length = measure(head);
    if (length <= 0) continue;
    const LengthLevel l = rule.level_for(length);
    if (l < level) cuts_by_level[l].push_back(cut);
  }
  if (cuts_by_level.empty()) return false;
  auto pick = cuts_by_level.begin();
  std::advance(pick, static_cast<long>(rng.next_u64() % cuts_by_level.size()));
  const std::vector<size_t>& cuts = pick->second;
  const size_t cut = cuts[rng.next_u64() % cuts.size()];
  reply = std::string(trim_whitespace(text.substr(0, cut)));
  return true;
}

}  // namespace

std::vector<size_t> sentence_cuts(std::string_view reply) {
  std::vector<size_t> cuts;
  int quotes = 0, stars = 0;  // counts in reply[0, i)
  size_t i = 0;
  while (i < reply.size()) {
    const char c = reply[i];
    if (!is_sentence_mark(c)) {
      quotes += c == '"';
      stars += c == '*';
      ++i;
      continue;
    }
    size_t j = i;
    while (j < reply.size() && is_sentence_mark(reply[j])) ++j;  // "?!" and "..."
    while (j < reply.size() && is_closer(reply[j])) {
      quotes += reply[j] == '"';
      stars += reply[j] == '*';
      ++j;
    }
    if (j < reply.size() && is_space(reply[j]) && quotes % 2 == 0 && stars % 2 == 0) cuts.push_back(j);
    i = j;
  }
  return cuts;
}

std::vector<ChatState> length_variants(const ChatState& chat, const LengthAugmentation& how,
                                       const LengthLabelRule& rule, const LengthMeasure& measure, Rng& rng) {
  std::vector<ChatState> out;
  if (how.openings) {
    for (size_t i = 1; i < chat.messages.size(); ++i) {
      if (chat.messages[i].role != ChatRole::kUser || !has_reply_after(chat.messages, i)) continue;
      ChatState opening = chat;
      opening.messages.assign(chat.messages.begin() + static_cast<long>(i), chat.messages.end());
      out.push_back(std::move(opening));
    }
  }
  const size_t openings = out.size();
  for (int64_t copy = 0; copy < how.truncated_copies; ++copy) {
    for (size_t b = 0; b <= openings; ++b) {
      ChatState cut = b == 0 ? chat : out[b - 1];
      bool changed = false;
      for (ChatMessage& m : cut.messages)
        if (m.role == ChatRole::kChar) changed |= truncate_reply(m.text, rule, measure, rng);
      if (changed) out.push_back(std::move(cut));
    }
  }
  return out;
}

}  // namespace limarp::train
