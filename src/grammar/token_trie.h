// The vocabulary as a byte trie, walked against a grammar state to find every token the grammar
// accepts next. A subtree is left as soon as the state dies, so the work is proportional to the
// token prefixes the grammar still allows (times its live stacks), not to vocabulary × grammar:
// at a closing quote only the few tokens starting with '"' are visited.
//
//   TokenTrie trie(token_texts);                 // once per vocabulary
//   std::vector<uint8_t> ok(vocab_size, 0);
//   trie.mark_allowed(grammar, state, ok);       // ok[id] = 1 for each accepted token
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "grammar/grammar.h"

namespace limarp {

class TokenTrie {
 public:
  // texts[id] = the bytes token id stands for; tokens with no bytes (control tokens) are left
  // out, the caller decides about them (EOS ends a complete match).
  explicit TokenTrie(const std::vector<std::string>& texts);

  void mark_allowed(const Grammar& g, const GrammarState& state, std::vector<uint8_t>& allowed) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, uint32_t>> children;  // by byte, sorted
    std::vector<int32_t> tokens;                          // tokens whose bytes end here
  };
  void walk(uint32_t node, const Grammar& g, const GrammarState& state, std::vector<uint8_t>& allowed) const;
  std::vector<Node> nodes_;
};

}  // namespace limarp
