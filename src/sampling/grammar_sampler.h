// The grammar stage of a sampler chain: every token whose bytes cannot continue the grammar
// gets logit -inf (a token may cover several grammar elements, or end or begin mid-character),
// and end-of-sequence is allowed only where the text so far is a complete match. It runs first
// after the biases and bans, so truncation and temperature see only tokens the grammar allows,
// and the probabilities the APIs report are those of the constrained distribution.
//
//   auto g = parse_gbnf(text);                 // or json_schema_to_gbnf + parse_gbnf
//   chain.add(make_grammar_sampler(*g, trie, texts, eos));
//   ... chain.sample(...) ...                  // accept() advances the grammar
//   if (grammar_finished(chain)) stop;         // nothing more may follow: end the reply
//
// Per step the cost is a walk of the vocabulary trie pruned by the live grammar states
// (grammar/token_trie.h). A dead end (no allowed token survived the stages before, or the
// vocabulary cannot spell what the grammar needs) forces EOS, so the reply ends instead of
// breaking the grammar; llama.cpp's grammars have the same dead ends, which only a lookahead
// could avoid.
#pragma once

#include <memory>
#include <span>

#include "grammar/grammar.h"
#include "grammar/token_trie.h"
#include "sampling/dry.h"
#include "sampling/sampler.h"

namespace limarp {

class GrammarSampler final : public Sampler {
 public:
  GrammarSampler(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie,
                 std::shared_ptr<const TokenTexts> texts, int32_t eos);
  const char* name() const override { return "grammar"; }
  void apply(Candidates& c, SamplerContext& ctx) override;
  void accept(int32_t token) override;

  // The reply must end: nothing more can follow, the grammar hit a dead end, or EOS was drawn
  // (when EOS does not stop generation by itself, as with ignore_eos).
  bool finished() const { return ended_ || state_.finished() || !state_.alive(); }
  // Back to the start, then through `tokens` (after the generation loop rewound some).
  void replay(std::span<const int32_t> tokens);

 private:
  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const TokenTrie> trie_;
  std::shared_ptr<const TokenTexts> texts_;
  int32_t eos_;
  GrammarState state_;
  bool ended_ = false;
  std::vector<uint8_t> allowed_;
};

// The chain's grammar stage, or null when it has none.
GrammarSampler* find_grammar_stage(SamplerChain& chain);

}  // namespace limarp
