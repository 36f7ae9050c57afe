#include "bench_speculative.h"

#include <algorithm>
#include <chrono>

#include "base/rng.h"
#include "infer/generation.h"

namespace limarp::cli {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Result<std::vector<VerifyCost>> bench_verify(Forward& fwd, KvCache& cache, int64_t depth, std::vector<int64_t> ks,
                                             int reps, const LinearAdapter* adapter) {
  if (std::find(ks.begin(), ks.end(), 1) == ks.end()) ks.insert(ks.begin(), 1);
  const int64_t vocab = fwd.model().config().vocab_size;
  Rng rng(7);
  std::vector<float> logits;
  constexpr int kPasses = 4;
  std::vector<VerifyCost> out;
  for (int64_t k : ks) {
    if (depth + k > cache.capacity()) return make_error("--verify {}: the cache holds {} tokens", k, cache.capacity());
    std::vector<int32_t> tokens(static_cast<size_t>(k));
    double best = 0;
    // Passes alternate k tokens with nothing else; each repetition's mean, and the fastest
    // repetition kept (the others met other load on the machine).
    for (int r = 0; r < reps; ++r) {
      double total = 0;
      for (int p = 0; p < kPasses; ++p) {
        for (auto& t : tokens) t = static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(vocab));
        cache.truncate(depth);
        const auto t0 = std::chrono::steady_clock::now();
        LIMARP_TRY(fwd.eval(tokens, cache, logits, LogitsWanted::kAll, adapter));
        total += seconds_since(t0);
      }
      const double ms = 1000.0 * total / kPasses;
      best = r == 0 ? ms : std::min(best, ms);
    }
    out.push_back({k, best, 0});
  }
  for (auto& v : out) v.ratio = v.ms / out.front().ms;
  return out;
}

Result<SpeculativeBench> bench_speculative(Forward& fwd, const Tokenizer& tok, const DraftSource& drafts,
                                           const std::vector<int32_t>& prompt, int64_t gen, int reps, DType kv_type) {
  const LlamaModel& model = fwd.model();
  const int64_t ctx = static_cast<int64_t>(prompt.size()) + gen + 1;
  if (ctx > model.config().usable_context())
    return make_error("the benchmark prompt ({} tokens) and {} generated tokens exceed the model's context", prompt.size(), gen);
  SpeculativeBench out;
  GenerationRequest req;
  req.prompt = prompt;
  req.max_tokens = gen;
  req.sampler.temperature = 0;  // greedy: plain and speculative must write the same tokens
  req.stop_at_eos = false;
  for (int r = 0; r < reps; ++r) {
    double tok_s[2] = {0, 0};
    std::vector<int32_t> text[2];
    for (int spec = 0; spec < 2; ++spec) {
      Session session(model, ctx, kv_type, fwd);
      const std::unique_ptr<Drafter> drafter = spec ? drafts.make(ctx) : nullptr;
      req.speculative = {drafter.get(), drafts.draft_n()};
      LIMARP_ASSIGN_OR_RETURN(GenerationResult g, generate_text(session, fwd, tok, req, nullptr));
      tok_s[spec] = 1000.0 * static_cast<double>(g.tokens.size()) / std::max(g.generation_ms, 1e-3);
      text[spec] = g.tokens;
      if (spec) {
        out.stats.rounds += g.speculative.rounds;
        out.stats.drafted += g.speculative.drafted;
        out.stats.accepted += g.speculative.accepted;
      }
    }
    out.plain_tok_s.push_back(tok_s[0]);
    out.spec_tok_s.push_back(tok_s[1]);
    out.ratios.push_back(tok_s[1] / tok_s[0]);
    out.same_text = out.same_text && text[0] == text[1];
  }
  return out;
}

const char* default_speculative_prompt() {
  return "### Instruction:\n"
         "Mira's Persona: Mira is a cheerful baker who runs the little bakery at the end of Apple Street. She "
         "loves bread, her cat Pip and her friends, and she talks a lot when she is happy.\n"
         "Tom's Persona: Tom is a shy boy who visits the bakery every morning.\n"
         "Scenario: Tom comes into the bakery on a rainy morning. Mira is baking bread.\n"
         "Play the role of Mira. Taking the above information into consideration, you must engage in a roleplaying "
         "chat with Tom below this line. Do not write dialogues and narration for Tom.\n\n"
         "### Input:\nTom: *Tom opens the door of the bakery and shakes the rain off his coat.* Good morning, Mira! "
         "It is so cold today.\n\n"
         "### Response: (length = medium)\nMira: *Mira smiles and puts the bread on the table.* Good morning, Tom! "
         "Come in, come in. The bread is warm and Pip is sleeping by the oven.\n\n"
         "### Input:\nTom: *Tom smiles at Mira and looks at the bread.* Can I have some warm bread, Mira?\n\n"
         "### Response: (length = long)\nMira:";
}

}  // namespace limarp::cli
