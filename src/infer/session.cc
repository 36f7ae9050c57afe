#include "infer/session.h"

#include <algorithm>

namespace limarp {

RemovedSpan find_removed_span(std::span<const int32_t> before, std::span<const int32_t> now, int64_t min_match) {
  const auto nb = static_cast<int64_t>(before.size()), nn = static_cast<int64_t>(now.size());
  int64_t p = 0;
  while (p < nb && p < nn && before[static_cast<size_t>(p)] == now[static_cast<size_t>(p)]) ++p;
  if (p == nb || p == nn) return {p, p};
  // The removed span [p, p + d): cached tokens after it must continue `now` from p. Try every
  // d where the first token lines up, keeping the one that reuses the most.
  int64_t best_d = 0, best_len = 0;
  for (int64_t d = 1; p + d < nb; ++d) {
    if (before[static_cast<size_t>(p + d)] != now[static_cast<size_t>(p)]) continue;
    int64_t len = 0;
    while (p + d + len < nb && p + len < nn && before[static_cast<size_t>(p + d + len)] == now[static_cast<size_t>(p + len)])
      ++len;
    if (len > best_len) {
      best_len = len;
      best_d = d;
    }
    if (p + d + len == nb) break;  // reuses the whole cached tail: nothing better exists
  }
  if (best_len < min_match) return {p, p};
  return {p, p + best_d};
}

Session::Session(const LlamaModel& model, int64_t context, DType kv_type)
    : model_(model), cache_(model.config(), context, kv_type) {}

Session::Session(const LlamaModel& model, int64_t context, DType kv_type, Forward& forward)
    : model_(model), cache_(forward.make_kv_cache(context, kv_type)) {}

void Session::truncate(int64_t n) {
  drop_trial();
  n = std::clamp<int64_t>(n, 0, static_cast<int64_t>(tokens_.size()));
  tokens_.resize(static_cast<size_t>(n));
  cache_.truncate(n);
}

Result<SyncStats> Session::begin_sync(std::span<const int32_t> prompt, const LinearAdapter* adapter,
                                      ShiftPolicy shift) {
  drop_trial();
  if (prompt.empty()) return make_error("empty prompt");
  if (static_cast<int64_t>(prompt.size()) > context())
    return make_error("the prompt has {} tokens; the context holds {}", prompt.size(), context());
  SyncStats stats;
  if (adapter != adapter_) {
    clear();  // the cached values were computed with other weights
    adapter_ = adapter;
  }
  RemovedSpan span = find_removed_span(tokens_, prompt);
  if (span.end > span.begin && shift == ShiftPolicy::kAllowed) {
    LIMARP_TRY(cache_.shift_out(span.begin, span.end, model_.config()));
    tokens_.erase(tokens_.begin() + span.begin, tokens_.begin() + span.end);
    stats.shifted_out = span.end - span.begin;
    span = find_removed_span(tokens_, prompt);
  }
  // The last prompt token is always evaluated: its logits are what the caller needs.
  const int64_t keep = std::min<int64_t>(span.begin, static_cast<int64_t>(prompt.size()) - 1);
  truncate(keep);
  stats.reused = keep;
  return stats;
}

Result<SyncStats> Session::sync(std::span<const int32_t> prompt, Forward& forward, std::vector<float>& logits,
                                const LinearAdapter* adapter, const SyncOptions& options) {
  LIMARP_ASSIGN_OR_RETURN(SyncStats stats, begin_sync(prompt, adapter, options.shift));
  const auto rest = prompt.subspan(static_cast<size_t>(stats.reused));
  const auto batch = static_cast<size_t>(std::max<int64_t>(1, options.batch));
  for (size_t i = 0; i < rest.size(); i += batch) {
    if (options.cancel && options.cancel()) return make_error("cancelled while evaluating the prompt");
    const auto part = rest.subspan(i, std::min(batch, rest.size() - i));
    LIMARP_TRY(forward.eval(part, cache_, logits, LogitsWanted::kLast, adapter));
    tokens_.insert(tokens_.end(), part.begin(), part.end());
    stats.evaluated += static_cast<int64_t>(part.size());
  }
  return stats;
}

Status Session::eval_batch(std::span<const EvalStep> steps, Forward& forward) {
  std::vector<BatchItem> items;
  items.reserve(steps.size());
  for (const EvalStep& s : steps) {
    LIMARP_CHECK(s.session != nullptr);
    LIMARP_CHECK(!s.trial || s.logits != nullptr);
    // Two steps of one session would both write at the same cache positions.
    for (const BatchItem& other : items) LIMARP_CHECK(other.cache != &s.session->cache_);
    const LogitsWanted wanted = s.trial ? LogitsWanted::kAll : s.logits ? LogitsWanted::kLast : LogitsWanted::kNone;
    items.push_back(BatchItem{s.tokens, &s.session->cache_, wanted, s.logits, s.session->adapter_});
  }
  for (const EvalStep& s : steps) s.session->drop_trial();
  LIMARP_TRY(forward.eval(items));
  for (const EvalStep& s : steps) {
    if (s.trial) {
      s.session->trial_.assign(s.tokens.begin(), s.tokens.end());
      s.session->cache_.set_size(static_cast<int64_t>(s.session->tokens_.size()));
    } else {
      s.session->tokens_.insert(s.session->tokens_.end(), s.tokens.begin(), s.tokens.end());
    }
  }
  return {};
}

Status Session::eval_trial(std::span<const int32_t> tokens, Forward& forward, std::vector<float>& rows,
                           const LinearAdapter* adapter) {
  if (adapter != adapter_) return make_error("session: a different adapter than the cached tokens were computed with");
  if (cache_.size() + static_cast<int64_t>(tokens.size()) > cache_.capacity())
    return make_error("context full ({} tokens)", cache_.capacity());
  const EvalStep step{this, tokens, &rows, true};
  return eval_batch(std::span<const EvalStep>(&step, 1), forward);
}

void Session::accept_trial() {
  LIMARP_CHECK(trial_taken_ < trial_.size());
  tokens_.push_back(trial_[trial_taken_++]);
  cache_.set_size(static_cast<int64_t>(tokens_.size()));
}

Status Session::append(int32_t token, Forward& forward, std::vector<float>& logits, const LinearAdapter* adapter) {
  if (adapter != adapter_) return make_error("session: a different adapter than the cached tokens were computed with");
  if (cache_.size() >= cache_.capacity()) return make_error("context full ({} tokens)", cache_.capacity());
  drop_trial();
  const int32_t one[1] = {token};
  LIMARP_TRY(forward.eval(one, cache_, logits, LogitsWanted::kLast, adapter));
  tokens_.push_back(token);
  return {};
}

void Session::adopt_restored(std::vector<int32_t> tokens) {
  LIMARP_CHECK(static_cast<int64_t>(tokens.size()) <= cache_.capacity());
  drop_trial();
  cache_.set_size(static_cast<int64_t>(tokens.size()));
  tokens_ = std::move(tokens);
  adapter_ = nullptr;
}

}  // namespace limarp
