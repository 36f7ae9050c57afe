#include "server/chat_job.h"

#include "chat/chat_session.h"
#include "chat/limarp_stop_strings.h"
#include "server/request_fields.h"

namespace limarp::server {

Result<ChatJob> build_chat_job(const ChatState& chat, PromptTail tail, const Json& body, const ServerContext& ctx,
                               Dialect dialect) {
  ChatJob out;
  LIMARP_ASSIGN_OR_RETURN(out.spec, read_generation_fields(body, ctx, dialect));
  GenerationRequest& req = out.spec.request;
  req.trim_unfinished_sentence = true;
  LIMARP_TRY(RequestFields(body).boolean({"trim_unfinished_sentence"}, req.trim_unfinished_sentence));

  const int64_t context = ctx.scheduler->context();
  req.max_tokens = std::min(req.max_tokens, context / 2);
  PromptOptions options;
  options.tail = tail;
  if (tail == PromptTail::kContinueLast && (chat.messages.empty() || chat.messages.back().role != ChatRole::kChar))
    options.tail = PromptTail::kOpenResponse;
  LIMARP_ASSIGN_OR_RETURN(BudgetedPrompt prompt, budget_prompt(*ctx.tokenizer, chat, options, context - req.max_tokens));
  req.prompt = std::move(prompt.tokens);
  out.dropped_messages = prompt.dropped_messages;
  out.dropped_examples = prompt.dropped_examples;
  // The model continues the open message exactly (its first token brings its own space).
  req.continue_text = options.tail == PromptTail::kContinueLast;
  std::vector<std::string> stops = default_stop_strings(chat);
  stops.insert(stops.end(), req.stop.begin(), req.stop.end());
  req.stop = std::move(stops);
  return out;
}

}  // namespace limarp::server
