// A 50-turn chat through the real chat layer (LimaRP renderer, Llama tokenizer of
// stories260K, context budget) in a small context: after the first turn, each turn evaluates
// only what is new — the user's message, the reply headers and the last reply (re-read once,
// because its header loses the length modifier when the reply is stored) — never the history,
// even when old turns are dropped and shifted out of the cache.
#include <gtest/gtest.h>

#include "base/thread_pool.h"
#include "chat/chat_session.h"
#include "chat/limarp_prompt.h"
#include "chat/prompt_tokens.h"
#include "infer/model_bundle.h"
#include "support/test_support.h"

namespace limarp {
namespace {

TEST(ChatSession, FiftyTurnsInASmallContextEvaluateOnlyNewTokens) {
  LIMARP_ASSET(model_path, "stories260K/stories260K.gguf");
  auto bundle = load_model_bundle(model_path);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  ThreadPool pool(2);
  ChatSettings settings;
  settings.context = 384;
  settings.max_reply_tokens = 24;
  settings.sampler.seed = 11;
  ChatSession chat(bundle->model, *bundle->tokenizer, pool, settings);
  chat.chat().char_name = "Lily";
  chat.chat().user_name = "Tom";
  chat.chat().scenario = "Lily and Tom play in the park on a sunny day.";
  const char* lines[] = {"Hi Lily!", "What do you see?", "Let's go to the pond.", "Look, a duck!", "I am hungry."};
  int64_t total_evaluated = 0, total_new = 0, dropped_turns = 0, shifted = 0;
  for (int turn = 0; turn < 50; ++turn) {
    const std::string user_text = lines[turn % 5];
    chat.chat().messages.push_back({ChatRole::kUser, user_text, std::nullopt});
    auto r = chat.reply(nullptr);
    ASSERT_TRUE(r.ok()) << r.error().message();
    const auto& g = r->generation;
    if (turn == 0) continue;
    // What is new this turn, in tokens: the previous reply with its header, the user's line
    // with its header, and the open header.
    const ChatState& c = chat.chat();
    const std::string prev_reply = c.messages[c.messages.size() - 3].text;
    const int64_t new_tokens = static_cast<int64_t>(bundle->tokenizer->encode(
                                   "\n### Response:\nLily: " + prev_reply + "\n\n### Input:\nTom: " + user_text +
                                       "\n\n### Response: (length = medium)\nLily:",
                                   {.add_bos = false}).size());
    EXPECT_LE(g.prompt.evaluated, new_tokens + 2) << "turn " << turn;
    total_evaluated += g.prompt.evaluated;
    total_new += new_tokens;
    dropped_turns += r->dropped_messages > 0;
    shifted += g.prompt.shifted_out > 0;
  }
  std::printf("49 turns: %lld prompt tokens evaluated for %lld new; %lld turns with dropped history, %lld shifts\n",
              static_cast<long long>(total_evaluated), static_cast<long long>(total_new),
              static_cast<long long>(dropped_turns), static_cast<long long>(shifted));
  EXPECT_GT(dropped_turns, 20) << "the context should overflow and drop old turns";
  EXPECT_GT(shifted, 10) << "dropped turns should be shifted out of the cache";
  EXPECT_LE(total_evaluated, total_new + 2 * 49);
}

}  // namespace
}  // namespace limarp
