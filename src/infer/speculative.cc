#include "infer/speculative.h"

#include <algorithm>

#include <fmt/format.h>

#include "infer/text_generator.h"
#include "kernels/kv_rows.h"

namespace limarp {

DraftProposal DraftTokens::proposal(size_t i) const {
  DraftProposal p;
  p.token = ids[i];
  if (!q.empty()) p.q = std::span<const float>(q).subspan(i * static_cast<size_t>(vocab), static_cast<size_t>(vocab));
  return p;
}

Status LookupDrafter::propose(std::span<const int32_t> history, int64_t n, DraftTokens& out) {
  out.clear();
  const auto len = static_cast<int64_t>(history.size());
  for (int k = max_; k >= min_ && out.ids.empty(); --k) {
    if (len <= k) continue;
    const auto tail = history.subspan(static_cast<size_t>(len - k));
    // The latest earlier occurrence wins: recent text predicts best.
    for (int64_t start = len - k - 1; start >= 0; --start) {
      if (!std::equal(tail.begin(), tail.end(), history.begin() + start)) continue;
      const int64_t from = start + k, to = std::min(len, from + n);
      out.ids.assign(history.begin() + from, history.begin() + to);
      break;
    }
  }
  return {};
}

ModelDrafter::ModelDrafter(Forward& forward, int64_t context, DType kv_type, std::shared_ptr<const TokenTexts> token_texts)
    : forward_(forward), session_(forward.model(), context, kv_type, forward), token_texts_(std::move(token_texts)) {
  chain_.set_draw_mode(DrawMode::kGreedy);
}

Status ModelDrafter::begin(const SamplerSettings& settings) {
  SamplerSettings draft = settings;
  draft.grammar.reset();
  draft.mirostat = 0;
  ChainOptions options;
  options.token_texts = token_texts_;
  LIMARP_ASSIGN_OR_RETURN(chain_, build_chain(draft, options));
  if (draft.seed) draft.seed = *draft.seed ^ 0x5bd1e9955bd1e995ULL;
  rng_ = make_sampler_rng(draft);
  return {};
}

Status ModelDrafter::propose(std::span<const int32_t> history, int64_t n, DraftTokens& out) {
  out.clear();
  if (n <= 0) return {};
  // The rounds' rejected guesses are the part of the cache that no longer matches: sync rewinds
  // them. The target evaluated the last token of `history` (the pending one) in its verification
  // pass and everything before it earlier; when much is new here (a reply's first round, a new
  // turn), the last token gets a pass of its own too, since a pass of many rows may take other
  // kernels (the AMX prompt GEMM) than a pass of a few, and a draft model identical to the
  // target would then drift from it in the last bits.
  LIMARP_TRY(session_.begin_sync(history, nullptr, ShiftPolicy::kAllowed).status());
  if (history.size() - session_.tokens().size() > 2)
    LIMARP_TRY(session_.sync(history.first(history.size() - 1), forward_, logits_).status());
  LIMARP_TRY(session_.sync(history, forward_, logits_).status());
  const bool sampled = !chain_.greedy();
  out.vocab = forward_.model().config().vocab_size;
  for (int64_t i = 0; i < n; ++i) {
    SamplerContext ctx{session_.tokens(), sampled ? &rng_ : nullptr};
    const int32_t id = chain_.sample(logits_, ctx);
    out.ids.push_back(id);
    if (sampled) {
      const size_t row = out.q.size();
      out.q.resize(row + static_cast<size_t>(out.vocab), 0.0f);
      for (const Candidate& c : chain_.last_candidates().items()) out.q[row + static_cast<size_t>(c.id)] = c.p;
    }
    if (i + 1 == n || session_.tokens().size() + 1 >= static_cast<size_t>(session_.context())) break;
    LIMARP_TRY(session_.append(id, forward_, logits_));
  }
  return {};
}

Status check_draft_vocabulary(const Tokenizer& target, const Tokenizer& draft) {
  if (target.n_vocab() != draft.n_vocab())
    return make_error("the draft model's vocabulary has {} tokens, the model's {}: speculative decoding needs the same "
                      "tokenizer", draft.n_vocab(), target.n_vocab());
  for (int32_t id = 0; id < target.n_vocab(); ++id)
    if (target.token_bytes(id) != draft.token_bytes(id))
      return make_error("the draft model's token {} differs from the model's: speculative decoding needs the same "
                        "tokenizer", id);
  if (target.bos() != draft.bos() || target.eos() != draft.eos())
    return make_error("the draft model's BOS/EOS ids differ from the model's");
  return {};
}

DraftSource DraftSource::lookup(int64_t draft_n) {
  DraftSource s;
  s.kind_ = Kind::kLookup;
  s.draft_n_ = draft_n;
  return s;
}

Result<DraftSource> DraftSource::model(ModelBundle draft, const Tokenizer& target, ThreadPool& pool, int64_t draft_n,
                                       DType kv_type) {
  if (!draft.tokenizer) return make_error("the draft model has no tokenizer to compare with the model's");
  LIMARP_TRY(check_draft_vocabulary(target, *draft.tokenizer));
  if (draft.model.config().vocab_size != target.n_vocab())
    return make_error("the draft model's output has {} rows, its tokenizer {} tokens", draft.model.config().vocab_size,
                      target.n_vocab());
  DraftSource s;
  s.kind_ = Kind::kModel;
  s.draft_n_ = draft_n;
  // The draft keeps the model's cache type where its heads allow it.
  s.kv_type_ = kernels::kv_type_fits(kv_type, draft.model.config().head_dim()) ? kv_type : DType::kF16;
  s.draft_ = std::make_unique<ModelBundle>(std::move(draft));
  s.forward_ = std::make_unique<Forward>(s.draft_->model, pool);
  s.token_texts_ = token_text_table(target);
  return s;
}

std::unique_ptr<Drafter> DraftSource::make(int64_t context) const {
  switch (kind_) {
    case Kind::kNone: return nullptr;
    case Kind::kLookup: return std::make_unique<LookupDrafter>();
    case Kind::kModel: return std::make_unique<ModelDrafter>(*forward_, context, kv_type_, token_texts_);
  }
  return nullptr;
}

std::string DraftSource::describe() const {
  switch (kind_) {
    case Kind::kNone: return "off";
    case Kind::kLookup: return fmt::format("prompt lookup, up to {} tokens per round", draft_n_);
    case Kind::kModel:
      return fmt::format("draft model ({:.2f} M parameters, {}), up to {} tokens per round",
                         static_cast<double>(draft_->model.config().parameter_count()) / 1e6,
                         draft_->model.weight_type_name(), draft_n_);
  }
  return "?";
}

int64_t draft_budget(const TextGenerator& gen, const Session& session, int64_t draft_n) {
  // Each kept guess is a token of the reply, and the round's last row samples one more.
  const int64_t reply_left = gen.max_tokens() - gen.generated() - 1;
  const int64_t context_left = session.context() - static_cast<int64_t>(session.tokens().size()) - 1;
  return std::max<int64_t>(0, std::min({draft_n, reply_left, context_left}));
}

std::optional<int32_t> verify_trial(TextGenerator& gen, Session& session, const DraftTokens& draft,
                                    std::span<const float> rows, int64_t vocab, const TextCallback& on_text,
                                    SpeculativeStats& stats) {
  ++stats.rounds;
  stats.drafted += static_cast<int64_t>(draft.ids.size());
  session.accept_trial();  // the pending token: sampled before the round, it always stays
  for (size_t i = 0; i <= draft.ids.size(); ++i) {
    const auto row = rows.subspan(i * static_cast<size_t>(vocab), static_cast<size_t>(vocab));
    const bool guessed = i < draft.ids.size();
    const std::optional<int32_t> next = guessed ? gen.step(session, row, on_text, draft.proposal(i))
                                                : gen.step(session, row, on_text);
    // A banned-string rewind inside step() truncates the session, dropping the trial: then the
    // token returned is one to evaluate again, not a guess to keep.
    if (next && guessed && *next == draft.ids[i] && !session.trial().empty() && session.trial()[0] == *next) {
      session.accept_trial();
      ++stats.accepted;
      continue;
    }
    session.drop_trial();
    return next;
  }
  return std::nullopt;  // not reached: the last row has no guess
}

Result<std::optional<int32_t>> speculative_round(TextGenerator& gen, Session& session, Forward& forward,
                                                 int32_t pending, const SpeculativeOptions& options,
                                                 const LinearAdapter* adapter, const TextCallback& on_text,
                                                 std::vector<float>& logits, SpeculativeStats& stats) {
  DraftTokens draft;
  const int64_t budget = options.drafter ? draft_budget(gen, session, options.draft_n) : 0;
  if (budget > 0) {
    std::vector<int32_t> history(session.tokens());
    history.push_back(pending);
    LIMARP_TRY(options.drafter->propose(history, budget, draft));
    if (static_cast<int64_t>(draft.ids.size()) > budget) draft.ids.resize(static_cast<size_t>(budget));
  }
  if (draft.ids.empty()) {
    LIMARP_TRY(session.append(pending, forward, logits, adapter));
    return gen.step(session, logits, on_text);
  }
  std::vector<int32_t> tokens;
  tokens.reserve(draft.ids.size() + 1);
  tokens.push_back(pending);
  tokens.insert(tokens.end(), draft.ids.begin(), draft.ids.end());
  LIMARP_TRY(session.eval_trial(tokens, forward, logits, adapter));
  return verify_trial(gen, session, draft, logits, forward.model().config().vocab_size, on_text, stats);
}

}  // namespace limarp
