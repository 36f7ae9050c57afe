#include "infer/generation.h"

#include <chrono>

#include "infer/speculative.h"
#include "infer/text_generator.h"

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

const char* finish_reason_name(StopReason r) {
  return r == StopReason::kLength || r == StopReason::kContextFull ? "length" : "stop";
}

std::shared_ptr<const TokenTexts> token_text_table(const Tokenizer& tok) {
  auto t = std::make_shared<TokenTexts>();
  t->reserve(static_cast<size_t>(tok.n_vocab()));
  for (int32_t id = 0; id < tok.n_vocab(); ++id) t->push_back(tok.token_bytes(id));
  return t;
}

Result<GenerationResult> generate_text(Session& session, Forward& forward, const Tokenizer& tok,
                                       const GenerationRequest& req, const TextCallback& on_text, Rng* shared_rng) {
  using Clock = std::chrono::steady_clock;
  LIMARP_ASSIGN_OR_RETURN(TextGenerator gen, TextGenerator::create(tok, req, shared_rng));
  if (req.speculative.drafter) LIMARP_TRY(req.speculative.drafter->begin(req.sampler));
  std::vector<float> logits;
  const auto t0 = Clock::now();
  LIMARP_ASSIGN_OR_RETURN(SyncStats prompt, session.sync(req.prompt, forward, logits, req.adapter, req.sync));
  const auto t1 = Clock::now();
  SpeculativeStats spec;
  std::optional<int32_t> next = gen.step(session, logits, on_text);
  while (next) {
    LIMARP_ASSIGN_OR_RETURN(next, speculative_round(gen, session, forward, *next, req.speculative, req.adapter,
                                                    on_text, logits, spec));
  }
  GenerationResult result = gen.finish(on_text);
  result.speculative = spec;
  result.prompt = prompt;
  result.prompt_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  result.generation_ms = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
  return result;
}

}  // namespace limarp
