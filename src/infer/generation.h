// The one generation loop, shared by `limarp generate`, the terminal chat and the server: sync
// the prompt into a session (only new tokens are evaluated), then sample token by token through
// the sampler chain, rewinding and resampling when a banned string appears, decoding to whole
// UTF-8 characters, holding back text that may become a stop string, and streaming the rest to
// a callback that can cancel by returning false.
//
//   GenerationRequest req;  req.prompt = ids;  req.stop = default_stop_strings(chat);  // chat's
//   LIMARP_ASSIGN_OR_RETURN(GenerationResult r, generate_text(session, forward, tok, req,
//       [](std::string_view piece) { std::fwrite(piece.data(), 1, piece.size(), stdout); return true; }));
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "infer/session.h"
#include "sampling/dry.h"
#include "sampling/sampler_settings.h"
#include "sampling/token_probs.h"
#include "tokenizer/tokenizer.h"

namespace limarp {

// kEos also ends a reply whose grammar is complete with nothing more allowed.
enum class StopReason { kEos, kLength, kStopString, kCancelled, kContextFull };
const char* stop_reason_name(StopReason r);  // "eos", "length", "stop", "cancelled", "context"
// The two-valued finish_reason of the OpenAI and KoboldCpp APIs, also printed by `generate`:
// "length" when the token limit or the context ended the text, else "stop".
const char* finish_reason_name(StopReason r);

// Tokenizer::token_bytes for every id (control tokens ""): what DRY's sequence breakers and
// grammars match tokens by (GenerationRequest::token_texts, ChainOptions::token_texts).
std::shared_ptr<const TokenTexts> token_text_table(const Tokenizer& tok);

class Drafter;  // infer/speculative.h

struct SpeculativeOptions {
  Drafter* drafter = nullptr;  // null: plain decoding
  int64_t draft_n = 8;         // most tokens drafted per round
};

struct SpeculativeStats {
  int64_t rounds = 0;    // verification passes
  int64_t drafted = 0;   // tokens proposed and verified
  int64_t accepted = 0;  // of those, kept
};

struct GenerationRequest {
  std::vector<int32_t> prompt;           // BOS included
  int64_t max_tokens = 256;
  SamplerSettings sampler;
  std::vector<std::string> stop;         // stop strings, trimmed from the text
  bool stop_at_eos = true;
  // At the token limit, cut the returned text back to its last full sentence (what was
  // streamed stays as it was).
  bool trim_unfinished_sentence = false;
  // The prompt ends mid-text (a raw completion), so the first generated token keeps its leading
  // space; a chat reply after "Name:" drops it.
  bool continue_text = false;
  const LinearAdapter* adapter = nullptr;
  Session::SyncOptions sync;
  std::shared_ptr<const TokenTexts> token_texts;  // for DRY and grammars; built when null and needed
  std::shared_ptr<const TokenTrie> token_trie;    // for grammars; built from token_texts when null
  // When set, each generated token's probability and this many most likely alternatives are
  // recorded (sampling/token_probs.h says of which distribution).
  std::optional<size_t> probs_top;
  // Speculative decoding (infer/speculative.h); the output is what plain decoding gives.
  SpeculativeOptions speculative;
};

struct GenerationResult {
  std::string text;              // what the model wrote, stop string excluded
  std::vector<int32_t> tokens;   // generated ids that made it into the text
  StopReason reason = StopReason::kLength;
  std::string stop_string;       // which one, for kStopString
  SyncStats prompt;              // reused / shifted / evaluated prompt tokens
  double prompt_ms = 0, generation_ms = 0;
  int rewinds = 0;               // banned-string resamples
  SpeculativeStats speculative;  // drafted and accepted tokens, with a drafter
  std::vector<TokenProbs> probs; // one per entry of `tokens`, when request.probs_top is set
};

// Returns false to cancel generation.
using TextCallback = std::function<bool(std::string_view piece)>;

// `rng` carries the sampling randomness across calls (a chat's regenerations differ, a seeded
// chat repeats); when null, one is made from request.sampler.seed.
Result<GenerationResult> generate_text(Session& session, Forward& forward, const Tokenizer& tokenizer,
                                       const GenerationRequest& request, const TextCallback& on_text,
                                       Rng* rng = nullptr);

}  // namespace limarp
