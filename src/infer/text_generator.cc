#include "infer/text_generator.h"

#include "sampling/grammar_sampler.h"

namespace limarp {

Result<TextGenerator> TextGenerator::create(const Tokenizer& tok, const GenerationRequest& req, Rng* shared_rng) {
  LIMARP_TRY(validate(req.sampler));
  LIMARP_TRY(check_token_ids(req.sampler, tok.n_vocab()));
  std::shared_ptr<const TokenTexts> texts = req.token_texts;
  if (!texts && (req.sampler.dry_multiplier > 0 || req.sampler.grammar)) texts = token_text_table(tok);
  ChainOptions options;
  options.token_texts = texts;
  options.token_trie = req.token_trie;
  options.eos = tok.eos();
  LIMARP_ASSIGN_OR_RETURN(SamplerChain chain, build_chain(req.sampler, options));
  return TextGenerator(tok, req, std::move(chain), shared_rng);
}

TextGenerator::TextGenerator(const Tokenizer& tok, const GenerationRequest& req, SamplerChain chain, Rng* shared_rng)
    : tok_(&tok),
      prompt_len_(static_cast<int64_t>(req.prompt.size())),
      last_prompt_token_(req.prompt.empty() ? 0 : req.prompt.back()),
      max_tokens_(req.max_tokens),
      stop_at_eos_(req.stop_at_eos),
      trim_unfinished_(req.trim_unfinished_sentence),
      chain_(std::make_unique<SamplerChain>(std::move(chain))),
      own_rng_(make_sampler_rng(req.sampler)),
      shared_rng_(shared_rng),
      banned_(std::make_unique<BannedStringMatcher>(req.sampler.banned_strings)),
      stop_(std::make_unique<StopStringMatcher>(req.stop, req.continue_text ? ReplyWhitespace::kExact
                                                                              : ReplyWhitespace::kTrim)),
      decoder_(std::make_unique<StreamDecoder>(tok)),
      probs_top_(req.probs_top) {
  grammar_ = find_grammar_stage(*chain_);
  // A prompt of only BOS starts the text (SentencePiece drops the first piece's space there), raw
  // completion or not; after anything else the leading space belongs to the text.
  const bool only_bos = req.prompt.empty() || (req.prompt.size() == 1 && req.prompt[0] == tok.bos());
  decoder_->reset(only_bos);
  result_.reason = StopReason::kLength;
}

// Decodes the tokens no banned string can rewind any more, through the stop matcher.
void TextGenerator::feed(size_t upto, const TextCallback& on_text) {
  for (; fed_ < upto && !stop_->stopped() && !cancelled_; ++fed_) {
    const std::string shown = stop_->push(decoder_->push(generated_[fed_]));
    // Recorded before the callback, so the piece it gets can carry this token's probabilities.
    if (!stop_->stopped()) {
      result_.tokens.push_back(generated_[fed_]);
      if (probs_top_) {
        result_.probs.push_back(generated_probs_[fed_]);
        shown_probs_.push_back(generated_probs_[fed_]);
      }
    }
    if (!shown.empty() && on_text && !on_text(shown)) cancelled_ = true;
  }
}

std::optional<int32_t> TextGenerator::step(Session& session, std::span<const float> logits,
                                           const TextCallback& on_text) {
  return step(session, logits, on_text, DraftProposal{});
}

std::optional<int32_t> TextGenerator::step(Session& session, std::span<const float> logits,
                                           const TextCallback& on_text, const DraftProposal& draft) {
  if (finished_) return std::nullopt;
  if (steps_ >= max_tokens_) {
    finished_ = true;  // kLength
    return std::nullopt;
  }
  SamplerContext ctx{session.tokens(), &rng(), banned_->bans_at(banned_->size())};
  const int32_t id = chain_->sample(logits, ctx, draft);
  if (stop_at_eos_ && id == tok_->eos()) {
    result_.reason = StopReason::kEos;
    finished_ = true;
    return std::nullopt;
  }
  if (auto hit = banned_->push(id, tok_->token_bytes(id))) {
    // Rewind to where the phrase began; the next sample there excludes the banned token. The
    // session forgets the rewound tokens and the one before them, which is evaluated again to
    // give the logits at that position.
    const size_t keep = generated_.size() - (hit->rewind_tokens - 1);  // `id` itself was never appended
    generated_.resize(keep);
    if (probs_top_) generated_probs_.resize(keep);
    if (grammar_) grammar_->replay(generated_);
    session.truncate(prompt_len_ + static_cast<int64_t>(keep) - 1);
    ++result_.rewinds;
    return keep > 0 ? generated_.back() : last_prompt_token_;
  }
  generated_.push_back(id);
  if (probs_top_) generated_probs_.push_back(token_probs(chain_->last_candidates(), id, *probs_top_));
  feed(banned_->final_tokens(), on_text);
  if (stop_->stopped()) {
    result_.reason = StopReason::kStopString;
    finished_ = true;
    return std::nullopt;
  }
  if (cancelled_) {
    result_.reason = StopReason::kCancelled;
    finished_ = true;
    return std::nullopt;
  }
  if (grammar_ && grammar_->finished()) {
    ++steps_;
    result_.reason = StopReason::kEos;
    finished_ = true;
    return std::nullopt;
  }
  if (++steps_ == max_tokens_) {
    finished_ = true;  // kLength
    return std::nullopt;
  }
  if (session.tokens().size() >= static_cast<size_t>(session.context())) {
    result_.reason = StopReason::kContextFull;
    finished_ = true;
    return std::nullopt;
  }
  return id;
}

void TextGenerator::stop(StopReason reason) {
  if (finished_) return;
  result_.reason = reason;
  if (reason == StopReason::kCancelled) cancelled_ = true;
  finished_ = true;
}

GenerationResult TextGenerator::finish(const TextCallback& on_text) {
  finished_ = true;
  if (result_.reason != StopReason::kStopString && result_.reason != StopReason::kCancelled) {
    banned_->finish();
    feed(generated_.size(), on_text);
    if (stop_->stopped()) result_.reason = StopReason::kStopString;
  }
  if (!stop_->stopped() && !cancelled_) {
    std::string rest = stop_->push(decoder_->flush());
    if (stop_->stopped()) result_.reason = StopReason::kStopString;
    else rest += stop_->finish();
    if (!rest.empty() && on_text) on_text(rest);
  }
  result_.stop_string = stop_->matched();
  result_.text = stop_->reply();
  if (result_.reason == StopReason::kLength && trim_unfinished_) result_.text = trim_unfinished_sentence(result_.text);
  return std::move(result_);
}

}  // namespace limarp
