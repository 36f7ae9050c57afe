// What the model sees, with the real Llama-2 tokenizer: BOS first, the prompt ending in
// "Name:" so that the model's first token brings the space, and segments that encode on their
// own. The literal ids were checked against the reference SentencePiece library.
#include <gtest/gtest.h>

#include "chat/limarp_prompt.h"
#include "chat/prompt_tokens.h"
#include "chat_test_util.h"
#include "infer/generation.h"
#include "support/test_support.h"

namespace limarp {
namespace {
using namespace limarp::testing;

std::vector<ChatState> tokenization_cases() {
  ChatState examples = aqua_chat();
  examples.examples = "<START>\n{{user}}: Heal me.\n{{char}}: *sigh* Fine.";
  ChatState continued = greeting_chat();
  continued.messages.push_back({ChatRole::kChar, "Put it on the", std::nullopt});
  ChatState unicode = aqua_chat();
  unicode.messages.push_back({ChatRole::kChar, "Ça va? 日本語 — “quotes” 🙂", std::nullopt});
  return {aqua_chat(), greeting_chat(), examples, continued, unicode, ChatState{}};
}

#define LOAD_LLAMA2_TOKENIZER(tok)                                           \
  LIMARP_ASSET(tok##_path, "llama2-tokenizer/tokenizer.model");              \
  auto tok##_result = Tokenizer::load(tok##_path);                           \
  ASSERT_TRUE(tok##_result.ok()) << tok##_result.error().message();          \
  const Tokenizer& tok = *tok##_result

TEST(PromptTokens, BosFirstAndTheNameColonLast) {
  LOAD_LLAMA2_TOKENIZER(tok);
  const std::string prompt = render_limarp_prompt(aqua_chat()).text();
  const std::vector<int32_t> ids = tok.encode(prompt, {.add_bos = true});
  ASSERT_GT(ids.size(), 20u);
  EXPECT_EQ(ids.front(), 1);  // BOS
  EXPECT_NE(ids[1], 29871);   // "###" starts the text: no lone "▁" before it
  // "\n\n### Response: (length = medium)\nAqua:"
  const std::vector<int32_t> tail = {13, 13, 2277, 29937, 13291, 29901, 313, 2848, 353, 18350, 29897, 13, 29909, 21408, 29901};
  ASSERT_GE(ids.size(), tail.size());
  EXPECT_EQ(std::vector<int32_t>(ids.end() - static_cast<std::ptrdiff_t>(tail.size()), ids.end()), tail);
}

TEST(PromptTokens, TheSpaceAfterTheNameIsTheModelsFirstToken) {
  LOAD_LLAMA2_TOKENIZER(tok);
  const std::string prompt = render_limarp_prompt(aqua_chat()).text();
  const std::vector<int32_t> ids = tok.encode(prompt, {.add_bos = true});
  // The reply " Hello" adds exactly one token, "▁Hello": the prompt's tokens are untouched.
  const std::vector<int32_t> with_reply = tok.encode(prompt + " Hello", {.add_bos = true});
  ASSERT_EQ(with_reply.size(), ids.size() + 1);
  EXPECT_TRUE(std::equal(ids.begin(), ids.end(), with_reply.begin()));
  EXPECT_EQ(with_reply.back(), 15043);
  EXPECT_EQ(tok.piece(15043), "\xE2\x96\x81Hello");
  // Had the prompt ended in "Aqua: ", the space would be a lone "▁" (29871) the model never
  // saw before a reply in training.
  EXPECT_EQ(tok.encode(prompt + " ", {.add_bos = true}).back(), 29871);
  // The stored reply ("Hello", trimmed) renders back to the same tokens.
  ChatState next = aqua_chat();
  next.messages.push_back({ChatRole::kChar, "Hello", std::nullopt});
  const std::vector<int32_t> closed = tok.encode(render_limarp_prompt(next, {.tail = PromptTail::kClosed}).text(), {.add_bos = true});
  EXPECT_EQ(closed.back(), 15043);
}

TEST(PromptTokens, SegmentsEncodeOnTheirOwn) {
  LOAD_LLAMA2_TOKENIZER(tok);
  for (const ChatState& chat : tokenization_cases()) {
    for (auto tail : {PromptTail::kOpenResponse, PromptTail::kContinueLast, PromptTail::kClosed}) {
      const RenderedPrompt p = render_limarp_prompt(chat, {.tail = tail});
      const auto seg = encode_segments(tok, p);
      ASSERT_EQ(seg.size(), p.segments.size());
      EXPECT_EQ(seg[0].front(), 1);
      std::vector<int32_t> joined;
      for (size_t i = 0; i < seg.size(); ++i) {
        if (i > 0) {
          EXPECT_EQ(seg[i].front(), 13) << "segment " << i << " starts with its newline";
        }
        joined.insert(joined.end(), seg[i].begin(), seg[i].end());
      }
      EXPECT_EQ(joined, tok.encode(p.text(), {.add_bos = true}));
      EXPECT_TRUE(segments_encode_independently(tok, p));
    }
  }
}

TEST(PromptTokens, WithEveryModifierTheConversationOnlyGrowsAtTheEnd) {
  // Headers that do not change when the conversation moves on: the tokens of the closed
  // conversation so far are a prefix of the next prompt's (what KV-cache reuse relies on).
  LOAD_LLAMA2_TOKENIZER(tok);
  const ChatState full = aqua_chat();
  const PromptOptions every{.modifier = ModifierPlacement::kEvery};
  const auto next = tok.encode(render_limarp_prompt(full, every).text(), {.add_bos = true});
  for (size_t k = 1; k <= full.messages.size(); ++k) {
    ChatState part = full;
    part.messages.resize(k);
    PromptOptions closed = every;
    closed.tail = PromptTail::kClosed;
    const auto before = tok.encode(render_limarp_prompt(part, closed).text(), {.add_bos = true});
    ASSERT_LE(before.size(), next.size());
    EXPECT_TRUE(std::equal(before.begin(), before.end(), next.begin())) << k;
  }
}

TEST(PromptTokens, TokenTextTable) {
  LOAD_LLAMA2_TOKENIZER(tok);
  const auto texts = token_text_table(tok);
  ASSERT_EQ(texts->size(), 32000u);
  EXPECT_EQ((*texts)[15043], " Hello");
  EXPECT_EQ((*texts)[13], "\n");
  EXPECT_EQ((*texts)[29901], ":");
  EXPECT_EQ((*texts)[1], "");
}

}  // namespace
}  // namespace limarp
