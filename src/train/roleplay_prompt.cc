#include "train/roleplay_prompt.h"

#include "base/status.h"
#include "base/text_util.h"
#include "chat/limarp_prompt.h"

namespace limarp::train {

TrainingPrompt render_training_prompt(const ChatState& chat, const LengthLabelRule& rule, const LengthMeasure& measure) {
  TrainingPrompt out;
  ChatState labelled = chat;
  int last_reply = -1;
  for (size_t i = 0; i < labelled.messages.size(); ++i)
    if (labelled.messages[i].role == ChatRole::kChar) last_reply = static_cast<int>(i);
  for (size_t i = 0; i < labelled.messages.size(); ++i) {
    ChatMessage& m = labelled.messages[i];
    m.length.reset();
    if (m.role != ChatRole::kChar) continue;
    const bool tagged = rule.placement == LengthLabels::kEveryReply ||
                        (rule.placement == LengthLabels::kLastReply && static_cast<int>(i) == last_reply);
    if (!tagged) continue;
    const LengthLevel level = rule.level_for(measure(trim_whitespace(m.text)));
    out.reply_levels.push_back(level);
    m.length = level;
  }
  const PromptOptions options{.modifier = rule.placement == LengthLabels::kNone ? ModifierPlacement::kNone
                                                                                 : ModifierPlacement::kTagged,
                              .examples = ExampleMode::kOmit,
                              .tail = PromptTail::kClosed};
  const RenderedPrompt rendered = render_limarp_prompt(labelled, options);

  auto untrained = [&](std::string_view text) {
    if (text.empty()) return;
    if (!out.segments.empty() && !out.segments.back().trained) out.segments.back().text += text;
    else out.segments.push_back({.text = std::string(text)});
  };
  const std::string prefix = effective_char_name(labelled) + ":";
  bool after_reply = false;
  for (const PromptSegment& seg : rendered.segments) {
    const bool message = seg.kind == SegmentKind::kMessage;
    const bool reply = message && labelled.messages[static_cast<size_t>(seg.message_index)].role == ChatRole::kChar;
    if (!reply) {
      // After a reply the model must close its turn: the blank line and the "### Input:" header
      // that the chat's stop strings end a reply on are trained; the user's words are not.
      const size_t header_end = after_reply && message ? seg.text.find('\n', 1) : std::string::npos;
      if (header_end != std::string::npos) {
        TrainingSegment turn_end{.text = "\n", .trained = true, .turn_end = true};
        turn_end.text.append(seg.text, 0, header_end);
        out.segments.push_back(std::move(turn_end));
        untrained(std::string_view(seg.text).substr(header_end));
      } else {
        if (after_reply) untrained("\n");
        untrained(seg.text);
      }
      after_reply = false;
      continue;
    }
    if (after_reply) untrained("\n");
    // "\n### Response: (length = X)\n{char}: {reply}\n": the header and name are context, the
    // reply is trained, the closing line break goes with what follows.
    const size_t name_at = seg.text.find('\n', 1) + 1;
    LIMARP_CHECK(name_at > 0 && seg.text.compare(name_at, prefix.size(), prefix) == 0);
    const size_t reply_at = name_at + prefix.size();
    const bool closed = seg.text.ends_with('\n');
    const size_t reply_end = closed ? seg.text.size() - 1 : seg.text.size();
    untrained(std::string_view(seg.text).substr(0, reply_at));
    if (reply_end > reply_at)
      out.segments.push_back({.text = seg.text.substr(reply_at, reply_end - reply_at), .trained = true, .reply = true});
    after_reply = closed;
  }
  if (after_reply) untrained("\n");
  out.ends_with_reply = !labelled.messages.empty() && labelled.messages.back().role == ChatRole::kChar;
  return out;
}

}  // namespace limarp::train
