// The pushdown matcher: stacks of positions, advanced one code point at a time, with UTF-8
// decoded byte by byte so a token may end (or begin) in the middle of a character.
#include <algorithm>

#include "grammar/grammar.h"

namespace limarp {
namespace {

// Rules reached without consuming a character, one inside another; a grammar needs this deep
// a chain of such references only when it is hostile (left recursion is refused at parse time).
constexpr int kMaxExpandDepth = 4096;
// Expansion steps for one character: alternatives of alternatives multiply before duplicates
// are merged, so a hostile grammar (x1 ::= x2 | x2, x2 ::= x3 | x3, ...) could ask for 2^n. Past
// this budget the remaining paths are dropped, which only such grammars ever see.
constexpr int kMaxExpandSteps = 1 << 16;

}  // namespace

bool Grammar::matches(const GrammarElement& e, uint32_t cp) const {
  bool in = false;
  for (uint32_t i = e.a; i < e.b && !in; ++i) in = ranges[i].lo <= cp && cp <= ranges[i].hi;
  return in != e.negated;
}

bool Grammar::matches_any(const GrammarElement& e, uint32_t lo, uint32_t hi) const {
  if (!e.negated) {
    for (uint32_t i = e.a; i < e.b; ++i)
      if (ranges[i].lo <= hi && lo <= ranges[i].hi) return true;
    return false;
  }
  // Negated: some code point of [lo, hi] lies outside every range. Walk up from lo past the
  // ranges covering it.
  uint32_t cp = lo;
  for (bool moved = true; moved && cp <= hi;) {
    moved = false;
    for (uint32_t i = e.a; i < e.b; ++i)
      if (ranges[i].lo <= cp && cp <= ranges[i].hi) {
        if (ranges[i].hi >= hi) return false;
        cp = ranges[i].hi + 1;
        moved = true;
      }
  }
  return cp <= hi;
}

void GrammarState::expand(const Grammar& g, Stack stack, std::vector<Stack>& out, int depth, int& budget) {
  if (depth > kMaxExpandDepth || --budget < 0) return;
  if (stack.empty()) {
    out.push_back(std::move(stack));
    return;
  }
  const uint32_t pos = stack.back();
  const GrammarElement& e = g.elements[pos];
  if (e.kind == ElementKind::kChars) {
    out.push_back(std::move(stack));
    return;
  }
  // A rule reference: its continuation replaces it (dropped when the alternative ends there,
  // so right recursion does not grow the stack), then each alternative goes on top.
  stack.pop_back();
  if (g.elements[pos + 1].kind != ElementKind::kEnd) stack.push_back(pos + 1);
  const std::vector<uint32_t>& alts = g.alternatives[e.a];
  for (size_t i = 0; i < alts.size(); ++i) {
    Stack next = i + 1 == alts.size() ? std::move(stack) : stack;
    if (g.elements[alts[i]].kind != ElementKind::kEnd) next.push_back(alts[i]);
    expand(g, std::move(next), out, depth + 1, budget);
  }
}

void GrammarState::normalize() {
  std::sort(stacks_.begin(), stacks_.end());
  stacks_.erase(std::unique(stacks_.begin(), stacks_.end()), stacks_.end());
}

GrammarState GrammarState::start(const Grammar& g) {
  GrammarState s;
  int budget = kMaxExpandSteps;
  for (uint32_t alt : g.alternatives[g.root]) {
    Stack stack;
    if (g.elements[alt].kind != ElementKind::kEnd) stack.push_back(alt);
    expand(g, std::move(stack), s.stacks_, 0, budget);
  }
  s.normalize();
  return s;
}

GrammarState GrammarState::advance_code_point(const Grammar& g, uint32_t cp) const {
  GrammarState next;
  int budget = kMaxExpandSteps;
  for (const Stack& stack : stacks_) {
    if (stack.empty()) continue;
    const uint32_t pos = stack.back();
    if (!g.matches(g.elements[pos], cp)) continue;
    Stack s(stack.begin(), stack.end() - 1);
    if (g.elements[pos + 1].kind != ElementKind::kEnd) s.push_back(pos + 1);
    expand(g, std::move(s), next.stacks_, 0, budget);
  }
  next.normalize();
  return next;
}

bool GrammarState::partial_viable(const Grammar& g) const {
  // The character's code point lies in [pending << 6r, pending << 6r | (2^6r - 1)].
  // A sequence of n bytes encodes only code points past what n - 1 bytes can: anything lower
  // would be an overlong form, which never completes.
  const uint32_t shift = 6u * remaining_;
  const uint32_t least = pending_len_ == 2 ? 0x80 : pending_len_ == 3 ? 0x800 : 0x10000;
  const uint32_t hi = (pending_ << shift) | ((1u << shift) - 1);
  const uint32_t lo = std::max(pending_ << shift, least);
  if (lo > hi) return false;
  for (const Stack& stack : stacks_)
    if (!stack.empty() && g.matches_any(g.elements[stack.back()], lo, std::min<uint32_t>(hi, 0x10FFFF))) return true;
  return false;
}

GrammarState GrammarState::advance_byte(const Grammar& g, uint8_t byte) const {
  GrammarState dead;
  if (!alive()) return dead;
  if (remaining_ == 0) {
    if (byte < 0x80) return advance_code_point(g, byte);
    GrammarState s = *this;
    if ((byte & 0xE0) == 0xC0 && byte >= 0xC2) s.pending_ = byte & 0x1F, s.remaining_ = 1, s.pending_len_ = 2;
    else if ((byte & 0xF0) == 0xE0) s.pending_ = byte & 0x0F, s.remaining_ = 2, s.pending_len_ = 3;
    else if ((byte & 0xF8) == 0xF0 && byte <= 0xF4) s.pending_ = byte & 0x07, s.remaining_ = 3, s.pending_len_ = 4;
    else return dead;  // a continuation byte without a lead, or a lead no valid character has
    return s.partial_viable(g) ? s : dead;
  }
  if ((byte & 0xC0) != 0x80) return dead;
  GrammarState s = *this;
  s.pending_ = (s.pending_ << 6) | (byte & 0x3F);
  if (--s.remaining_ > 0) return s.partial_viable(g) ? s : dead;
  const uint32_t cp = s.pending_;
  // Overlong forms and surrogates are not characters.
  const bool overlong = (s.pending_len_ == 3 && cp < 0x800) || (s.pending_len_ == 4 && cp < 0x10000);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return dead;
  s.pending_ = 0;
  s.pending_len_ = 0;
  return s.advance_code_point(g, cp);
}

GrammarState GrammarState::advance_bytes(const Grammar& g, std::string_view bytes) const {
  GrammarState s = *this;
  for (const char ch : bytes) {
    s = s.advance_byte(g, static_cast<uint8_t>(ch));
    if (!s.alive()) break;
  }
  return s;
}

bool GrammarState::complete() const {
  return remaining_ == 0 && std::any_of(stacks_.begin(), stacks_.end(), [](const Stack& s) { return s.empty(); });
}

bool GrammarState::finished() const {
  return remaining_ == 0 && !stacks_.empty() && std::all_of(stacks_.begin(), stacks_.end(), [](const Stack& s) { return s.empty(); });
}

}  // namespace limarp
