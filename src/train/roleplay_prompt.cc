#include "train/roleplay_prompt.h"

#include "base/status.h"
#include "chat/limarp_prompt.h"
#include "chat/text_util.h"

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
    const int level = rule.level_for(measure(trim_whitespace(m.text)));
    out.reply_levels.push_back(level);
    m.length = static_cast<LengthLevel>(level);
  }
  const PromptOptions options{.modifier = rule.placement == LengthLabels::kNone ? ModifierPlacement::kNone
                                                                                 : ModifierPlacement::kTagged,
                              .examples = ExampleMode::kOmit,
                              .tail = PromptTail::kClosed};
  const RenderedPrompt rendered = render_limarp_prompt(labelled, options);

  auto untrained = [&](std::string_view text) {
    if (text.empty()) return;
    if (!out.segments.empty() && !out.segments.back().trained) out.segments.back().text += text;
    else out.segments.push_back({std::string(text), false});
  };
  const std::string prefix = effective_char_name(labelled) + ":";
  for (const PromptSegment& seg : rendered.segments) {
    const bool reply = seg.kind == SegmentKind::kMessage &&
                       labelled.messages[static_cast<size_t>(seg.message_index)].role == ChatRole::kChar;
    if (!reply) {
      untrained(seg.text);
      continue;
    }
    // "\n### Response: (length = X)\n{char}: {reply}\n": the header and name are context, the
    // reply is trained, the closing line break belongs to what follows.
    const size_t name_at = seg.text.find('\n', 1) + 1;
    LIMARP_CHECK(name_at > 0 && seg.text.compare(name_at, prefix.size(), prefix) == 0);
    const size_t reply_at = name_at + prefix.size();
    const size_t reply_end = seg.text.ends_with('\n') ? seg.text.size() - 1 : seg.text.size();
    untrained(std::string_view(seg.text).substr(0, reply_at));
    if (reply_end > reply_at) out.segments.push_back({seg.text.substr(reply_at, reply_end - reply_at), true});
    untrained(std::string_view(seg.text).substr(reply_end));
  }
  out.ends_with_reply = !labelled.messages.empty() && labelled.messages.back().role == ChatRole::kChar;
  return out;
}

}  // namespace limarp::train
