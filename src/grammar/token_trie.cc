#include "grammar/token_trie.h"

#include <algorithm>

namespace limarp {

TokenTrie::TokenTrie(const std::vector<std::string>& texts) {
  nodes_.emplace_back();
  for (size_t id = 0; id < texts.size(); ++id) {
    uint32_t node = 0;
    for (const char ch : texts[id]) {
      const auto byte = static_cast<uint8_t>(ch);
      auto& kids = nodes_[node].children;
      auto it = std::lower_bound(kids.begin(), kids.end(), byte, [](const auto& kid, uint8_t b) { return kid.first < b; });
      if (it != kids.end() && it->first == byte) {
        node = it->second;
      } else {
        const auto fresh = static_cast<uint32_t>(nodes_.size());
        kids.insert(it, {byte, fresh});
        nodes_.emplace_back();  // invalidates `kids`; not used again below
        node = fresh;
      }
    }
    if (node != 0) nodes_[node].tokens.push_back(static_cast<int32_t>(id));
  }
}

void TokenTrie::walk(uint32_t node, const Grammar& g, const GrammarState& state, std::vector<uint8_t>& allowed) const {
  for (const auto& [byte, child] : nodes_[node].children) {
    const GrammarState next = state.advance_byte(g, byte);
    if (!next.alive()) continue;
    for (int32_t id : nodes_[child].tokens) allowed[static_cast<size_t>(id)] = 1;
    walk(child, g, next, allowed);
  }
}

void TokenTrie::mark_allowed(const Grammar& g, const GrammarState& state, std::vector<uint8_t>& allowed) const {
  if (state.alive()) walk(0, g, state, allowed);
}

}  // namespace limarp
