// A live chat with a model: the conversation (ChatState), its KV-cache session, and the
// settings that turn the conversation into replies. Each reply renders the LimaRP prompt,
// fits it into the context by dropping whole oldest turns (examples first) while always
// keeping the instruction block and the newest turns, syncs it into the session (only new
// tokens are evaluated; dropped turns are shifted out of the cache), and generates with the
// chat's stop strings.
//
//   ChatSession chat(model, tokenizer, pool, settings);
//   chat.chat() = load_chat_file("chat.json").value();
//   chat.chat().messages.push_back({ChatRole::kUser, "Hello!"});
//   LIMARP_ASSIGN_OR_RETURN(ChatReply r, chat.reply(print_piece));
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/rng.h"
#include "chat/chat_state.h"
#include "chat/rendered_prompt.h"
#include "infer/generation.h"

namespace limarp {

struct ChatSettings {
  int64_t context = 0;              // 0: the model's trained context
  DType kv_type = DType::kF16;      // of the KV cache (model/kv_cache.h)
  Backend* backend = nullptr;       // where the model runs (null: the CPU, on the pool)
  int64_t backend_layers = -1;      // layers on `backend` (-1: all; the rest on the CPU)
  int64_t max_reply_tokens = 256;   // also reserved in the context for the reply
  SamplerSettings sampler;
  PromptOptions prompt;
  ShiftPolicy shift = ShiftPolicy::kAllowed;
  bool trim_unfinished_sentence = true;
  std::vector<std::string> extra_stops;
  SpeculativeOptions speculative;  // its drafter, when set, outlives the session
};

struct BudgetedPrompt {
  std::vector<int32_t> tokens;
  int dropped_messages = 0;   // oldest messages left out
  bool dropped_examples = false;
};

// The prompt for `chat` within `budget` tokens: examples go first, then whole oldest messages;
// the instruction block, the newest message and the open header always stay (an error says
// so when even those do not fit).
Result<BudgetedPrompt> budget_prompt(const Tokenizer& tok, const ChatState& chat, const PromptOptions& options,
                                     int64_t budget);

struct ChatReply {
  GenerationResult generation;
  int dropped_messages = 0;
};

class ChatSession {
 public:
  ChatSession(const LlamaModel& model, const Tokenizer& tokenizer, ThreadPool& pool, ChatSettings settings,
              const LinearAdapter* adapter = nullptr);

  ChatState& chat() { return chat_; }
  const ChatState& chat() const { return chat_; }
  ChatSettings& settings() { return settings_; }
  const Session& session() const { return session_; }

  // Generates the character's next message, streams it, and appends it to the chat (a
  // cancelled reply is kept when it has any text).
  Result<ChatReply> reply(const TextCallback& on_text);
  // Replaces the character's last message with a new reply (the sampler draws anew).
  Result<ChatReply> regenerate(const TextCallback& on_text);
  // Removes the last exchange: the character's last reply and the user message before it.
  // Returns false when there is nothing to undo.
  bool undo();

 private:
  const LlamaModel& model_;
  const Tokenizer& tok_;
  Forward forward_;
  Session session_;
  ChatSettings settings_;
  ChatState chat_;
  Rng rng_;
  std::shared_ptr<const TokenTexts> token_texts_;
  const LinearAdapter* adapter_;
};

}  // namespace limarp
