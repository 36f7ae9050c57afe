// Banned strings ("anti-slop"): phrases the model must not write. Token bans cannot express
// them, since a phrase spans several tokens and each token alone is harmless. So the generation
// loop writes ahead, and when the generated text comes to contain a banned phrase, it rewinds
// to the token where the phrase began, bans that token at that position only, and samples again.
// This matcher is the part that decides; the loop owns the KV cache and the rewinding.
//
//   BannedStringMatcher banned({"shivers down her spine"});
//   for (;;) {
//     SamplerContext ctx{history, &rng, banned.bans_at(banned.size())};
//     int32_t id = chain.sample(logits, ctx);
//     if (auto hit = banned.push(id, tok.token_bytes(id))) {
//       drop the last hit->rewind_tokens tokens (KV cache, history); continue;
//     }
//     feed tokens [fed, banned.final_tokens()) to the decoder and stop matcher; ...
//   }
//   banned.finish();   // at the end every token is final
//
// Tokens are given with their raw text (Tokenizer::token_bytes: "▁" as a space, so the leading
// space is kept). Matching is ASCII case-insensitive by default: a phrase banned as "Shivers"
// should not come back as "shivers". A token is final once no banned phrase can still start at
// or before it, i.e. once it lies before the longest suffix of the text that could begin a
// banned phrase. After max_rewinds rewinds in one reply the matcher stops reporting, so a
// model that insists cannot loop forever.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace limarp {

enum class CaseMatching { kExact, kAsciiInsensitive };

struct BannedStringOptions {
  CaseMatching case_matching = CaseMatching::kAsciiInsensitive;
  int max_rewinds = 100;
};

struct BannedStringHit {
  size_t position = 0;       // index (among the pushed tokens) of the token where the phrase began
  size_t rewind_tokens = 0;  // tokens to drop from the end: every token from `position` on
  int32_t banned_token = 0;  // the token now banned at `position`
  std::string phrase;        // which banned phrase
};

class BannedStringMatcher {
 public:
  explicit BannedStringMatcher(std::vector<std::string> banned, BannedStringOptions options = {});

  bool active() const { return !banned_.empty(); }
  // Appends a token. On a hit, the matcher has already forgotten tokens from hit.position on
  // and recorded the ban; the caller drops the same tokens.
  std::optional<BannedStringHit> push(int32_t token, std::string_view text);
  // Tokens banned at this position (the index the next pushed token will have).
  std::span<const int32_t> bans_at(size_t position) const;
  // Number of pushed tokens that can no longer be rewound.
  size_t final_tokens() const;
  // Marks everything final (generation ended).
  void finish() { finished_ = true; }
  // Forgets tokens, bans and the rewind count: a new reply.
  void reset();

  size_t size() const { return tokens_.size(); }
  int rewinds() const { return rewinds_; }

 private:
  std::string fold(std::string_view s) const;

  std::vector<std::string> banned_;  // folded
  BannedStringOptions options_;
  std::vector<int32_t> tokens_;
  std::vector<size_t> starts_;  // text offset where each token begins
  std::string text_;            // folded text of all tokens
  std::map<size_t, std::vector<int32_t>> bans_;
  size_t max_len_ = 0;
  int rewinds_ = 0;
  bool finished_ = false;
};

}  // namespace limarp
