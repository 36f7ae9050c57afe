#include "chat/generation.h"

#include <chrono>

#include "chat/prompt_tokens.h"
#include "chat/stop_strings.h"
#include "sampling/banned_strings.h"

namespace limarp {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::kEos: return "eos";
    case StopReason::kLength: return "length";
    case StopReason::kStopString: return "stop";
    case StopReason::kCancelled: return "cancelled";
    case StopReason::kContextFull: return "context";
  }
  return "?";
}

Result<GenerationResult> generate_text(Session& session, Forward& forward, const Tokenizer& tok,
                                       const GenerationRequest& req, const TextCallback& on_text, Rng* shared_rng) {
  using Clock = std::chrono::steady_clock;
  GenerationResult result;
  LIMARP_TRY(validate(req.sampler));
  std::shared_ptr<const TokenTexts> texts = req.token_texts;
  if (!texts && req.sampler.dry_multiplier > 0) texts = token_text_table(tok);
  LIMARP_ASSIGN_OR_RETURN(SamplerChain chain, build_chain(req.sampler, {texts}));
  Rng own_rng = make_sampler_rng(req.sampler);
  Rng& rng = shared_rng ? *shared_rng : own_rng;

  std::vector<float> logits;
  const auto t0 = Clock::now();
  LIMARP_ASSIGN_OR_RETURN(result.prompt, session.sync(req.prompt, forward, logits, req.adapter, req.sync));
  const auto t1 = Clock::now();
  result.prompt_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();

  const auto prompt_len = static_cast<int64_t>(req.prompt.size());
  BannedStringMatcher banned(req.sampler.banned_strings);
  StopStringMatcher stop(req.stop, req.continue_text ? ReplyWhitespace::kExact : ReplyWhitespace::kTrim);
  StreamDecoder decoder(tok);
  decoder.reset(/*at_start=*/!req.continue_text && prompt_len <= 1);
  std::vector<int32_t> generated;
  size_t fed = 0;  // generated tokens already decoded and shown
  bool cancelled = false;

  // Decodes the tokens no banned string can rewind any more, through the stop matcher.
  auto feed = [&](size_t upto) {
    for (; fed < upto && !stop.stopped() && !cancelled; ++fed) {
      const std::string shown = stop.push(decoder.push(generated[fed]));
      if (!shown.empty() && on_text && !on_text(shown)) cancelled = true;
      if (!stop.stopped()) result.tokens.push_back(generated[fed]);
    }
  };

  result.reason = StopReason::kLength;
  for (int64_t step = 0; step < req.max_tokens; ++step) {
    SamplerContext ctx{session.tokens(), &rng, banned.bans_at(banned.size())};
    const int32_t id = chain.sample(logits, ctx);
    if (req.stop_at_eos && id == tok.eos()) {
      result.reason = StopReason::kEos;
      break;
    }
    if (auto hit = banned.push(id, tok.token_bytes(id))) {
      // Rewind to where the phrase began; the next sample there excludes the banned token.
      const size_t keep = generated.size() - (hit->rewind_tokens - 1);  // `id` itself was never appended
      generated.resize(keep);
      session.truncate(prompt_len + static_cast<int64_t>(keep) - 1);
      const int32_t last = keep > 0 ? generated.back() : req.prompt.back();
      LIMARP_TRY(session.append(last, forward, logits, req.adapter));
      ++result.rewinds;
      --step;
      continue;
    }
    generated.push_back(id);
    feed(banned.final_tokens());
    if (stop.stopped()) {
      result.reason = StopReason::kStopString;
      break;
    }
    if (cancelled) {
      result.reason = StopReason::kCancelled;
      break;
    }
    if (step + 1 == req.max_tokens) break;
    if (session.tokens().size() >= static_cast<size_t>(session.context())) {
      result.reason = StopReason::kContextFull;
      break;
    }
    LIMARP_TRY(session.append(id, forward, logits, req.adapter));
  }
  if (result.reason != StopReason::kStopString && result.reason != StopReason::kCancelled) {
    banned.finish();
    feed(generated.size());
    if (stop.stopped()) result.reason = StopReason::kStopString;
  }
  if (!stop.stopped() && !cancelled) {
    std::string rest = stop.push(decoder.flush());
    if (stop.stopped()) result.reason = StopReason::kStopString;
    else rest += stop.finish();
    if (!rest.empty() && on_text) on_text(rest);
  }
  result.stop_string = stop.matched();
  result.text = stop.reply();
  if (result.reason == StopReason::kLength && req.trim_unfinished_sentence)
    result.text = trim_unfinished_sentence(result.text);
  result.generation_ms = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
  return result;
}

}  // namespace limarp
