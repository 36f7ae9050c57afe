// Speculative decoding: decoding reads every weight once per token, so a CPU cannot decode
// faster than its memory bandwidth allows, unless one pass of the weights verifies several
// tokens. A drafter guesses the next few tokens cheaply; the model evaluates the pending token
// and the guesses in one pass (Session::eval_trial), and the generator walks the rows: each
// guess the sampler keeps costs no pass of its own, the first it does not keep ends the round
// with the token the sampler chose instead. Output is what plain decoding gives: the same
// tokens when greedy (argmax of the same logits), the same distribution when sampling
// (SamplerChain::sample with a DraftProposal).
//
// Two drafters: prompt lookup (the last few tokens seen earlier in the context propose what
// followed them then; roleplay repeats names and phrases) and a small draft model with the same
// vocabulary, sampled with the same sampler settings.
//
//   LookupDrafter lookup;
//   GenerationRequest req;  req.speculative = {&lookup, 8};
//   generate_text(session, forward, tok, req, on_text);   // result.drafted / .accepted
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "base/status.h"
#include "infer/generation.h"
#include "infer/model_bundle.h"
#include "infer/session.h"
#include "sampling/sampler.h"
#include "sampling/sampler_settings.h"
#include "tokenizer/tokenizer.h"

namespace limarp {

class TextGenerator;

// Tokens a drafter proposes, and for a sampled draft the distribution each was drawn from.
struct DraftTokens {
  std::vector<int32_t> ids;
  std::vector<float> q;  // [ids.size(), vocab] when sampled; empty when deterministic
  int64_t vocab = 0;

  void clear() {
    ids.clear();
    q.clear();
  }
  DraftProposal proposal(size_t i) const;
};

class Drafter {
 public:
  virtual ~Drafter() = default;
  virtual const char* kind() const = 0;  // "lookup", "draft model"
  // Called as each reply starts, with its sampler settings (a sampling drafter samples alike).
  virtual Status begin(const SamplerSettings& /*settings*/) { return {}; }
  // Forgets what it cached (the server's cache_prompt: false starts both models afresh).
  virtual void reset() {}
  // Up to `n` tokens likely to follow `history` (the prompt, the reply so far and the token
  // about to be evaluated). May propose fewer, or none.
  virtual Status propose(std::span<const int32_t> history, int64_t n, DraftTokens& out) = 0;
};

// Prompt lookup: finds the latest earlier place where the last k tokens of the history occurred
// (k from max_ngram down to min_ngram) and proposes the tokens that followed them there.
class LookupDrafter final : public Drafter {
 public:
  explicit LookupDrafter(int min_ngram = 2, int max_ngram = 4) : min_(min_ngram), max_(max_ngram) {}
  const char* kind() const override { return "lookup"; }
  Status propose(std::span<const int32_t> history, int64_t n, DraftTokens& out) override;

 private:
  int min_, max_;
};

// A smaller model with the same vocabulary, its own KV cache synced to the history each round
// (the tokens the target rejected are rewound by the sync's prefix reuse), sampling with the
// target's settings. Stages that carry state from token to token (mirostat, a grammar) stay
// with the target alone: the draft proposes from the rest of the chain, which changes how often
// drafts are kept, never what comes out.
class ModelDrafter final : public Drafter {
 public:
  // `forward` (on the draft model) outlives the drafter; its KV cache holds `context` tokens
  // and is kept from reply to reply, like the target's session.
  ModelDrafter(Forward& forward, int64_t context, DType kv_type, std::shared_ptr<const TokenTexts> token_texts);
  const char* kind() const override { return "draft model"; }
  // Builds the chain from the reply's settings; its randomness is seeded apart from the
  // target's (from the same seed, when there is one, so a seeded reply repeats).
  Status begin(const SamplerSettings& settings) override;
  void reset() override { session_.clear(); }
  Status propose(std::span<const int32_t> history, int64_t n, DraftTokens& out) override;

 private:
  Forward& forward_;
  Session session_;
  std::shared_ptr<const TokenTexts> token_texts_;
  SamplerChain chain_;
  Rng rng_;
  std::vector<float> logits_;
};

// The draft model must share the target's vocabulary token for token: a draft token is an id.
Status check_draft_vocabulary(const Tokenizer& target, const Tokenizer& draft);

// What a program decodes speculatively with: prompt lookup, or a draft model loaded once whose
// weights every session's drafter shares (the server makes one drafter per slot, each with its
// own KV cache). Drafters must be used on one thread at a time, with the source alive.
class DraftSource {
 public:
  DraftSource() = default;  // none: plain decoding
  static DraftSource lookup(int64_t draft_n);
  // `draft` must share `target`'s vocabulary; its drafters' caches are of `kv_type`.
  static Result<DraftSource> model(ModelBundle draft, const Tokenizer& target, ThreadPool& pool, int64_t draft_n,
                                   DType kv_type);

  bool enabled() const { return kind_ != Kind::kNone; }
  int64_t draft_n() const { return draft_n_; }
  // A drafter for one session of `context` tokens; null when disabled.
  std::unique_ptr<Drafter> make(int64_t context) const;
  // "lookup, 8 tokens per round" or "draft model (shape), 5 tokens per round", for logs.
  std::string describe() const;
  const LlamaModel* draft_model() const { return draft_ ? &draft_->model : nullptr; }

 private:
  enum class Kind { kNone, kLookup, kModel };
  Kind kind_ = Kind::kNone;
  int64_t draft_n_ = 0;
  DType kv_type_ = DType::kF16;
  std::unique_ptr<ModelBundle> draft_;
  std::unique_ptr<Forward> forward_;
  std::shared_ptr<const TokenTexts> token_texts_;
};

// How many tokens the next round may draft: no more than the reply may still write, nor than
// the context holds after the pending token.
int64_t draft_budget(const TextGenerator& gen, const Session& session, int64_t draft_n);

// One round: `pending` is the token the generator returned; evaluates it with a draft in one
// pass and walks the rows. Returns the next token to evaluate, or nullopt when the reply is
// over; rejected draft tokens leave the session. Without a draft (none proposed, or no budget)
// the pending token is evaluated alone and `logits` hold its row, as in plain decoding.
Result<std::optional<int32_t>> speculative_round(TextGenerator& gen, Session& session, Forward& forward,
                                                 int32_t pending, const SpeculativeOptions& options,
                                                 const LinearAdapter* adapter, const TextCallback& on_text,
                                                 std::vector<float>& logits, SpeculativeStats& stats);

// The verification half, for callers that evaluate the trial themselves (the server batches
// many slots' rounds): session.trial() holds [pending, draft...] and `rows` their logits.
std::optional<int32_t> verify_trial(TextGenerator& gen, Session& session, const DraftTokens& draft,
                                    std::span<const float> rows, int64_t vocab, const TextCallback& on_text,
                                    SpeculativeStats& stats);

}  // namespace limarp
