// One conversation's state on the model: the tokens whose keys and values sit in its KV cache.
// A new prompt is synced against what is cached so only new tokens are evaluated:
//   - the longest common prefix is kept;
//   - when the new prompt equals the cached tokens with one span removed after that prefix
//     (old chat turns dropped to fit the context), the span is shifted out of the cache — the
//     later keys are re-rotated for their new positions — instead of re-evaluating them.
// Shifting keeps the later tokens' values as they were computed, with the dropped turns still
// in view (what llama.cpp calls context shift); `ShiftPolicy::kNever` re-evaluates instead.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "base/status.h"
#include "model/forward.h"
#include "model/kv_cache.h"

namespace limarp {

enum class ShiftPolicy { kAllowed, kNever };

struct SyncStats {
  int64_t reused = 0;       // tokens kept in the cache
  int64_t shifted_out = 0;  // cached tokens removed by shifting
  int64_t evaluated = 0;    // tokens run through the model
};

class Session {
 public:
  Session(const LlamaModel& model, int64_t context, DType kv_type = DType::kF16);
  // With the cache where `forward` computes each layer (a device, or split under offload).
  Session(const LlamaModel& model, int64_t context, DType kv_type, Forward& forward);

  // Makes the cache hold `prompt` and leaves the logits of its last token in `logits`. New
  // tokens are evaluated in batches of `options.batch`; `options.cancel`, when set, is asked
  // between batches and stops the sync with an error (what was evaluated stays cached).
  struct SyncOptions {
    ShiftPolicy shift = ShiftPolicy::kAllowed;
    int64_t batch = 512;
    std::function<bool()> cancel;
  };
  Result<SyncStats> sync(std::span<const int32_t> prompt, Forward& forward, std::vector<float>& logits,
                         const LinearAdapter* adapter, const SyncOptions& options);
  Result<SyncStats> sync(std::span<const int32_t> prompt, Forward& forward, std::vector<float>& logits,
                         const LinearAdapter* adapter = nullptr) {
    return sync(prompt, forward, logits, adapter, SyncOptions{});
  }
  // The first half of sync, for callers that evaluate the rest themselves (the server
  // interleaves many sessions' prompts and decode steps in one batch): keeps the reusable
  // prefix of the cache (shifting out a removed span) and returns what was reused and shifted.
  // The tokens still to evaluate are prompt[tokens().size():] (at least the last one).
  Result<SyncStats> begin_sync(std::span<const int32_t> prompt, const LinearAdapter* adapter, ShiftPolicy shift);

  // One session's share of a batched evaluation: `tokens` follow what the session holds; with
  // `logits` set, the logits of the last of them are left there.
  struct EvalStep {
    Session* session = nullptr;
    std::span<const int32_t> tokens;
    std::vector<float>* logits = nullptr;
    // Speculative decoding: the tokens are evaluated on trial (see eval_trial), and `logits`
    // gets the rows of all of them.
    bool trial = false;
  };
  // Evaluates every step in one Forward::eval call, so the weights are read once for all the
  // sessions (decoding is bound by weight reads; a batch of decode steps costs little more
  // than one). Each session uses the adapter it was synced with. On error no session changes.
  static Status eval_batch(std::span<const EvalStep> steps, Forward& forward);

  // Evaluates one more token (a generated one) and leaves its logits.
  Status append(int32_t token, Forward& forward, std::vector<float>& logits, const LinearAdapter* adapter = nullptr);
  // Speculative decoding verifies several tokens in one pass: they are evaluated "on trial",
  // their keys and values written past the cache's filled size and `rows` given the logits of
  // every one ([tokens.size(), vocab]), but tokens() leaves them out until accept_trial() takes
  // the next. Rejecting the rest is dropping them: the cache rewinds to the accepted tokens,
  // and whatever comes next overwrites the rows. Any other change to the session drops them too.
  Status eval_trial(std::span<const int32_t> tokens, Forward& forward, std::vector<float>& rows,
                    const LinearAdapter* adapter = nullptr);
  std::span<const int32_t> trial() const { return std::span<const int32_t>(trial_).subspan(trial_taken_); }
  void accept_trial();
  void drop_trial() {
    trial_.clear();
    trial_taken_ = 0;
  }

  // Forgets everything after the first n tokens (regenerate, undo).
  void truncate(int64_t n);
  void clear() { truncate(0); }

  const std::vector<int32_t>& tokens() const { return tokens_; }
  int64_t context() const { return cache_.capacity(); }
  KvCache& cache() { return cache_; }
  const KvCache& cache() const { return cache_; }
  const LlamaModel& model() const { return model_; }
  // After the cache's first tokens.size() positions were filled from elsewhere (a slot file):
  // the session holds those tokens, computed without an adapter.
  void adopt_restored(std::vector<int32_t> tokens);
  // The adapter the cached tokens were computed with; a different one invalidates the cache.
  const LinearAdapter* adapter() const { return adapter_; }

 private:
  const LlamaModel& model_;
  KvCache cache_;
  std::vector<int32_t> tokens_;
  std::vector<int32_t> trial_;  // evaluated past the cache's size; trial_[trial_taken_] is next
  size_t trial_taken_ = 0;
  const LinearAdapter* adapter_ = nullptr;
};

// Where `now` equals `before` with before[begin, end) removed, after their common prefix:
// returns {begin, end}, or {prefix, prefix} when no single removed span explains `now` (only
// the prefix is reusable). Requires at least `min_match` tokens to match after the span.
struct RemovedSpan {
  int64_t begin, end;
};
RemovedSpan find_removed_span(std::span<const int32_t> before, std::span<const int32_t> now, int64_t min_match = 8);

}  // namespace limarp
