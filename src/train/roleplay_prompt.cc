#include "train/roleplay_prompt.h"

namespace limarp::train {

RenderedPrompt render_roleplay(const RoleplayConversation& c, const LengthLabelRule& rule, const LengthMeasure& measure) {
  RenderedPrompt out;
  auto input = [&](const std::string& text) {
    if (!out.segments.empty() && !out.segments.back().trained) out.segments.back().text += text;
    else out.segments.push_back({text, false});
  };
  std::string head = "### Instruction:\n";
  std::vector<std::string> paragraphs;
  if (!c.char_persona.empty()) paragraphs.push_back(c.char_name + "'s Persona: " + c.char_persona);
  if (!c.user_persona.empty()) paragraphs.push_back(c.user_name + "'s Persona: " + c.user_persona);
  if (!c.scenario.empty()) paragraphs.push_back("Scenario: " + c.scenario);
  paragraphs.push_back("Play the role of " + c.char_name + ". You must engage in a roleplaying chat with " +
                       c.user_name + " below this line. Do not write dialogues and narration for " + c.user_name + ".");
  for (size_t i = 0; i < paragraphs.size(); ++i) head += (i ? "\n\n" : "") + paragraphs[i];
  input(head);
  int last_reply = -1;
  for (size_t i = 0; i < c.messages.size(); ++i)
    if (c.messages[i].from_character) last_reply = static_cast<int>(i);
  for (size_t i = 0; i < c.messages.size(); ++i) {
    const RoleplayMessage& m = c.messages[i];
    if (!m.from_character) {
      input("\n\n### Input:\n" + c.user_name + ": " + m.text);
      continue;
    }
    std::string header = "\n\n### Response:";
    const bool labelled = rule.placement == LengthLabels::kEveryReply ||
                          (rule.placement == LengthLabels::kLastReply && static_cast<int>(i) == last_reply);
    if (labelled) {
      const int level = rule.level_for(measure(m.text));
      out.reply_levels.push_back(level);
      header += std::string(" (length = ") + kLengthLevelNames[level] + ")";
    }
    input(header + "\n" + c.char_name + ":");
    out.segments.push_back({" " + m.text, true});
  }
  out.ends_with_reply = !c.messages.empty() && c.messages.back().from_character;
  return out;
}

}  // namespace limarp::train
