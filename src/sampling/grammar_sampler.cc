#include "sampling/grammar_sampler.h"

#include <algorithm>
#include <limits>

namespace limarp {

GrammarSampler::GrammarSampler(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie,
                               std::shared_ptr<const TokenTexts> texts, int32_t eos)
    : grammar_(std::move(grammar)),
      trie_(std::move(trie)),
      texts_(std::move(texts)),
      eos_(eos),
      state_(GrammarState::start(*grammar_)) {}

void GrammarSampler::apply(Candidates& c, SamplerContext&) {
  allowed_.assign(texts_->size(), 0);
  trie_->mark_allowed(*grammar_, state_, allowed_);
  const bool eos_known = eos_ >= 0 && static_cast<size_t>(eos_) < allowed_.size();
  if (eos_known && state_.complete()) allowed_[static_cast<size_t>(eos_)] = 1;
  constexpr float kBanned = -std::numeric_limits<float>::infinity();
  bool any = false;
  for (Candidate& x : c.items()) {
    if (x.id < 0 || static_cast<size_t>(x.id) >= allowed_.size() || !allowed_[static_cast<size_t>(x.id)]) x.logit = kBanned;
    any |= x.logit != kBanned;
  }
  // A dead end (what the grammar allows was banned or truncated away earlier in the chain, or
  // the vocabulary cannot spell it): end the reply rather than draw a token that breaks it.
  if (!any && eos_known)
    for (Candidate& x : c.items())
      if (x.id == eos_) x.logit = 0.0f;
  c.mark_unsorted();
}

void GrammarSampler::accept(int32_t token) {
  if (token == eos_) ended_ = true;
  if (token == eos_ || token < 0 || static_cast<size_t>(token) >= texts_->size()) return;
  state_ = state_.advance_bytes(*grammar_, (*texts_)[static_cast<size_t>(token)]);
}

void GrammarSampler::replay(std::span<const int32_t> tokens) {
  state_ = GrammarState::start(*grammar_);
  ended_ = false;
  for (int32_t t : tokens) accept(t);
}

GrammarSampler* find_grammar_stage(SamplerChain& chain) {
  for (const auto& s : chain.samplers())
    if (auto* g = dynamic_cast<GrammarSampler*>(s.get())) return g;
  return nullptr;
}

}  // namespace limarp
