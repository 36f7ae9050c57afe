#include "chat/chat_session.h"

#include "chat/limarp_prompt.h"
#include "chat/limarp_stop_strings.h"
#include "chat/prompt_tokens.h"

namespace limarp {

Result<BudgetedPrompt> budget_prompt(const Tokenizer& tok, const ChatState& chat, const PromptOptions& options,
                                     int64_t budget) {
  const RenderedPrompt prompt = render_limarp_prompt(chat, options);
  const auto segments = encode_segments(tok, prompt);
  std::vector<bool> keep(segments.size(), true);
  int64_t total = 0;
  for (const auto& s : segments) total += static_cast<int64_t>(s.size());
  BudgetedPrompt out;
  // Drop examples first, then messages oldest first, never the newest message.
  int last_message = -1;
  for (const auto& s : prompt.segments)
    if (s.kind == SegmentKind::kMessage) last_message = std::max(last_message, s.message_index);
  for (int pass = 0; pass < 2 && total > budget; ++pass) {
    for (size_t i = 0; i < segments.size() && total > budget; ++i) {
      const PromptSegment& seg = prompt.segments[i];
      const bool droppable = pass == 0 ? seg.kind == SegmentKind::kExample
                                       : seg.kind == SegmentKind::kMessage && seg.message_index != last_message;
      if (!droppable || !keep[i]) continue;
      keep[i] = false;
      total -= static_cast<int64_t>(segments[i].size());
      if (pass == 0) out.dropped_examples = true;
      else ++out.dropped_messages;
    }
  }
  if (total > budget)
    return make_error("the instruction block and the newest message need {} tokens, but only {} fit (context minus "
                      "the reply's reserve); shorten the persona or scenario, or raise --ctx",
                      total, budget);
  for (size_t i = 0; i < segments.size(); ++i)
    if (keep[i]) out.tokens.insert(out.tokens.end(), segments[i].begin(), segments[i].end());
  return out;
}

ChatSession::ChatSession(const LlamaModel& model, const Tokenizer& tokenizer, ThreadPool& pool, ChatSettings settings,
                         const LinearAdapter* adapter)
    : model_(model),
      tok_(tokenizer),
      forward_(model, pool, settings.backend, settings.backend_layers),
      session_(model, settings.context > 0 ? settings.context : model.config().usable_context(), settings.kv_type,
               forward_),
      settings_(std::move(settings)),
      rng_(make_sampler_rng(settings_.sampler)),
      adapter_(adapter) {
  if (settings_.sampler.dry_multiplier > 0) token_texts_ = token_text_table(tok_);
}

Result<ChatReply> ChatSession::reply(const TextCallback& on_text) {
  const int64_t reserve = std::min(settings_.max_reply_tokens, session_.context() / 2);
  LIMARP_ASSIGN_OR_RETURN(BudgetedPrompt prompt,
                          budget_prompt(tok_, chat_, settings_.prompt, session_.context() - reserve));
  GenerationRequest req;
  req.prompt = std::move(prompt.tokens);
  req.max_tokens = settings_.max_reply_tokens;
  req.sampler = settings_.sampler;
  req.stop = default_stop_strings(chat_);
  req.stop.insert(req.stop.end(), settings_.extra_stops.begin(), settings_.extra_stops.end());
  req.trim_unfinished_sentence = settings_.trim_unfinished_sentence;
  req.adapter = adapter_;
  req.sync.shift = settings_.shift;
  req.token_texts = token_texts_;
  req.speculative = settings_.speculative;
  if (!token_texts_ && req.sampler.dry_multiplier > 0) token_texts_ = req.token_texts = token_text_table(tok_);
  LIMARP_ASSIGN_OR_RETURN(GenerationResult gen, generate_text(session_, forward_, tok_, req, on_text, &rng_));
  if (!gen.text.empty() || gen.reason != StopReason::kCancelled)
    chat_.messages.push_back({ChatRole::kChar, gen.text, std::nullopt});
  return ChatReply{std::move(gen), prompt.dropped_messages};
}

Result<ChatReply> ChatSession::regenerate(const TextCallback& on_text) {
  if (chat_.messages.empty() || chat_.messages.back().role != ChatRole::kChar)
    return make_error("nothing to regenerate: the last message is not the character's");
  chat_.messages.pop_back();
  return reply(on_text);
}

bool ChatSession::undo() {
  if (chat_.messages.empty()) return false;
  if (chat_.messages.back().role == ChatRole::kChar) chat_.messages.pop_back();
  if (!chat_.messages.empty() && chat_.messages.back().role == ChatRole::kUser) chat_.messages.pop_back();
  return true;
}

}  // namespace limarp
