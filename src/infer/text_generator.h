// One reply's generation as a state machine advanced one token at a time, so that whoever
// evaluates the model decides when: `limarp generate` and the terminal chat evaluate right away
// (generate_text), the server batches the evaluation steps of many replies into one forward pass.
//
//   LIMARP_ASSIGN_OR_RETURN(TextGenerator gen, TextGenerator::create(tok, request));
//   session.sync(request.prompt, forward, logits, request.adapter);
//   while (auto next = gen.step(session, logits, on_text))     // samples, streams text
//     session.append(*next, forward, logits, request.adapter);  // or batch it with others
//   GenerationResult r = gen.finish(on_text);                    // flushes held-back text
//
// step() samples from the logits of the session's last token, feeds the token through the
// banned-string matcher (a hit truncates the session and asks for its new last token to be
// evaluated again), the streaming decoder and the stop-string matcher, and returns the token
// whose logits it needs next, or nullopt when the reply is over (EOS, stop string, token limit,
// context full, or the callback returned false). The randomness is the generator's own Rng (or
// the one passed in), so a seeded reply does not depend on what it was batched with.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "infer/generation.h"
#include "infer/stop_strings.h"
#include "sampling/banned_strings.h"
#include "sampling/grammar_sampler.h"

namespace limarp {

class TextGenerator {
 public:
  // Validates the sampler settings and builds the chain. `shared_rng`, when given, must outlive
  // the generator; else the generator seeds its own from request.sampler.seed.
  static Result<TextGenerator> create(const Tokenizer& tokenizer, const GenerationRequest& request,
                                      Rng* shared_rng = nullptr);

  // Given the logits of the session's last token (the prompt's, then each returned token's),
  // advances by one token. Returns the token to evaluate next, or nullopt when finished.
  std::optional<int32_t> step(Session& session, std::span<const float> logits, const TextCallback& on_text);
  // The same step where speculative decoding proposed `draft` for this position: the token is
  // drawn by the accept-or-resample rule (SamplerChain::sample), so it keeps the distribution
  // plain decoding has (infer/speculative.h runs the rounds).
  std::optional<int32_t> step(Session& session, std::span<const float> logits, const TextCallback& on_text,
                              const DraftProposal& draft);
  int64_t max_tokens() const { return max_tokens_; }

  // Ends the reply early for a reason decided outside (a time limit: kLength, whose held-back
  // text is still shown; a client gone: kCancelled). No effect once finished.
  void stop(StopReason reason);

  // The probabilities of the tokens whose text went to the callback since the last call (with
  // request.probs_top set); the server sends them with the stream's pieces.
  std::vector<TokenProbs> take_shown_probs() { return std::exchange(shown_probs_, {}); }

  bool finished() const { return finished_; }
  int64_t generated() const { return steps_; }

  // Flushes what was held back (when the reply did not end on a stop string or a cancel) and
  // returns the result. `prompt`, `prompt_ms` and `generation_ms` are the caller's to fill.
  GenerationResult finish(const TextCallback& on_text);

 private:
  TextGenerator(const Tokenizer& tok, const GenerationRequest& request, SamplerChain chain, Rng* shared_rng);
  Rng& rng() { return shared_rng_ ? *shared_rng_ : own_rng_; }
  void feed(size_t upto, const TextCallback& on_text);

  const Tokenizer* tok_;
  int64_t prompt_len_;
  int32_t last_prompt_token_;
  int64_t max_tokens_;
  bool stop_at_eos_;
  bool trim_unfinished_;
  std::unique_ptr<SamplerChain> chain_;
  GrammarSampler* grammar_ = nullptr;  // the chain's grammar stage, if any
  Rng own_rng_;
  Rng* shared_rng_;
  std::unique_ptr<BannedStringMatcher> banned_;
  std::unique_ptr<StopStringMatcher> stop_;
  std::unique_ptr<StreamDecoder> decoder_;
  std::vector<int32_t> generated_;
  std::optional<size_t> probs_top_;
  std::vector<TokenProbs> generated_probs_;  // parallel to generated_ when probs_top_ is set
  std::vector<TokenProbs> shown_probs_;
  size_t fed_ = 0;  // generated tokens already decoded and shown
  int64_t steps_ = 0;
  bool cancelled_ = false;
  bool finished_ = false;
  GenerationResult result_;
};

}  // namespace limarp
