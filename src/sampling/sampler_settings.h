// Every sampling parameter in one struct, the order the samplers run in, and the factory that
// turns them into a SamplerChain. Defaults are the LimaRP model cards' advice.
//
//   SamplerSettings s;                        // LimaRP defaults: T 0.8, TFS 0.95, rep pen 1.08
//   s.min_p = 0.05f;
//   ChainOptions options;  options.token_texts = texts;       // for DRY and grammars
//   LIMARP_ASSIGN_OR_RETURN(SamplerChain chain, build_chain(s, options));
//   Rng rng = make_sampler_rng(s);
//
// A grammar stage (settings.grammar) runs right after logit_bias and banned_tokens.
//
// Order. `order` lists stages by KoboldCpp's sampler_order numbers (0 top_k, 1 top_a,
// 2 top_p, 3 tfs, 4 typical, 5 temperature, 6 rep_pen) or by name; the default is KoboldCpp's
// [6, 0, 1, 3, 4, 2, 5]. Stages KoboldCpp does not number take their KoboldCpp places unless
// the order names them:
//   logit_bias, banned_tokens       always first (not orderable)
//   dry                             first of the ordered stages
//   presence_frequency ("penalties") right after rep_pen
//   min_p                           right after top_p (KoboldCpp runs it inside its top_p step)
//   xtc                             last
// With mirostat (1 or 2) the ordered truncation stages are skipped, as KoboldCpp does:
// bias/bans → dry → rep_pen → presence_frequency → temperature → mirostat.
// Temperature <= 0 means greedy: penalties and biases still apply, the draw is the argmax, and
// the stages that cannot change the argmax's identity or need randomness (truncation,
// temperature, XTC, mirostat) are left out.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_util.h"
#include "base/rng.h"
#include "base/status.h"
#include "grammar/grammar.h"
#include "grammar/token_trie.h"
#include "sampling/dry.h"
#include "sampling/sampler.h"

namespace limarp {

enum class SamplerStage {
  kTopK = 0,
  kTopA = 1,
  kTopP = 2,
  kTfs = 3,
  kTypical = 4,
  kTemperature = 5,
  kRepPen = 6,
  // Not numbered by KoboldCpp; orderable by name.
  kMinP = 100,
  kPresenceFrequency,
  kDry,
  kXtc,
};

// "top_k", "top_a", "top_p", "tfs", "typical", "temperature", "rep_pen", "min_p",
// "presence_frequency", "dry", "xtc".
const char* sampler_stage_name(SamplerStage stage);
// A name (also "penalties", "temp", "typical_p", "tail_free", "repetition_penalty") or a
// KoboldCpp number 0..6.
Result<SamplerStage> parse_sampler_stage(std::string_view text);
// "6,0,1,3,4,2,5" or "rep_pen, top_k, ..." (duplicates are an error).
Result<std::vector<SamplerStage>> parse_sampler_order(std::string_view text);
// A JSON array of numbers and/or names.
Result<std::vector<SamplerStage>> parse_sampler_order(const Json& array, std::string_view source);
// KoboldCpp's default order.
std::vector<SamplerStage> default_sampler_order();

struct SamplerSettings {
  // LimaRP v3 cards: temperature 0.70–0.85 (0.8 picked), TFS 0.90–0.95 (0.95 picked),
  // repetition penalty 1.05–1.10 (1.08 picked), top-k 0 (off), top-p 1 (off).
  float temperature = 0.8f;          // <= 0: greedy
  float dynatemp_range = 0.0f;       // 0 = off; T varies in [T - range, T + range]
  float dynatemp_exponent = 1.0f;
  int top_k = 0;                     // 0 = off
  float top_p = 1.0f;                // 1 = off
  float min_p = 0.0f;                // 0 = off
  float typical_p = 1.0f;            // 1 = off
  float tfs = 0.95f;                 // 1 = off
  float top_a = 0.0f;                // 0 = off
  float rep_pen = 1.08f;             // 1 = off
  int rep_pen_range = 320;           // KoboldCpp's default; < 0 whole history, 0 off
  float rep_pen_slope = 1.0f;        // 1 = the whole range at full strength
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;    // both over rep_pen_range
  float dry_multiplier = 0.0f;       // 0 = off; 0.8 is the usual "on"
  float dry_base = 1.75f;
  int dry_allowed_length = 2;
  int dry_penalty_last_n = 0;        // <= 0 the whole history
  std::vector<std::string> dry_sequence_breakers = {"\n", ":", "\"", "*"};
  float xtc_threshold = 0.1f;
  float xtc_probability = 0.0f;      // 0 = off
  int mirostat = 0;                  // 0 off, 1 or 2
  float mirostat_tau = 5.0f;
  float mirostat_eta = 0.1f;
  std::map<int32_t, float> logit_bias;
  std::vector<int32_t> banned_tokens;
  // KoboldCpp's "Banned tokens" box ("1954, 13" or a list); kept apart from banned_tokens so
  // that an id outside the vocabulary is reported under the key the client sent.
  std::vector<int32_t> custom_token_bans;
  // Phrases for the generation loop's rewind-and-resample (banned_strings.h); not a sampler.
  std::vector<std::string> banned_strings;
  std::vector<SamplerStage> order = default_sampler_order();
  std::optional<uint64_t> seed;      // none: a random seed
  // A GBNF grammar the reply must match (sampling/grammar_sampler.h): its stage runs right
  // after the biases and bans, in greedy chains too. Parsed by whoever reads the request.
  std::shared_ptr<const Grammar> grammar;
};

// Range checks with the field named: "top_p must be in [0, 1], got 1.5".
Status validate(const SamplerSettings& settings);
// Token ids in logit_bias, banned_tokens and custom_token_bans must name tokens of the model's vocabulary: an id
// beyond it is a client's mistake (another model's ids), refused rather than silently ignored.
Status check_token_ids(const SamplerSettings& settings, int64_t vocab_size);

struct ChainOptions {
  // Each token's text, for DRY's sequence breakers (infer: token_text_table(tokenizer)).
  std::shared_ptr<const TokenTexts> token_texts;
  // For a grammar: the vocabulary trie (built from token_texts when null) and EOS, which the
  // grammar allows only where its match is complete.
  std::shared_ptr<const TokenTrie> token_trie;
  int32_t eos = -1;
};

// The stages build_chain would run, in order (after the placement rules above), ignoring
// whether their parameters make them no-ops.
std::vector<SamplerStage> resolve_sampler_order(const SamplerSettings& settings);

// Validates, then builds. Stages whose parameters make them no-ops are left out. DRY with
// sequence breakers but no token_texts is an error rather than a silent difference.
Result<SamplerChain> build_chain(const SamplerSettings& settings, const ChainOptions& options = {});

// Rng(seed) when a seed is set, else seeded from std::random_device.
Rng make_sampler_rng(const SamplerSettings& settings);

}  // namespace limarp
