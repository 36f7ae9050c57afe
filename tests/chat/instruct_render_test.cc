// The generic instruct-preset renderer: with LimaRP-Alpaca it must give the native LimaRP
// renderer's bytes, segment for segment, in every mode; other presets by their own rules.
#include <gtest/gtest.h>

#include "chat/instruct_render.h"
#include "chat/limarp_prompt.h"
#include "chat_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

std::vector<ChatState> render_cases() {
  std::vector<ChatState> out = {aqua_chat(), greeting_chat()};
  ChatState empty;
  out.push_back(empty);
  ChatState examples = aqua_chat();
  examples.examples = "<START>\n{{user}}: Heal me.\n{{char}}: *sigh* Fine.\n<START>\n{{char}}: Party!";
  out.push_back(examples);
  ChatState per_message = greeting_chat();
  per_message.messages.push_back({ChatRole::kChar, "Thanks, {{user}}.", LengthLevel::kHuge});
  out.push_back(per_message);
  ChatState no_persona = greeting_chat();
  no_persona.char_persona.clear();
  no_persona.scenario.clear();
  out.push_back(no_persona);
  return out;
}

TEST(InstructRender, LimaRpAlpacaGivesTheNativeBytesInEveryMode) {
  const InstructPreset preset = limarp_alpaca_preset();
  int compared = 0;
  for (const ChatState& chat : render_cases()) {
    for (auto modifier : {ModifierPlacement::kLast, ModifierPlacement::kEvery, ModifierPlacement::kNone}) {
      for (auto tail : {PromptTail::kOpenResponse, PromptTail::kContinueLast, PromptTail::kClosed}) {
        for (auto examples : {ExampleMode::kAsTurns, ExampleMode::kOmit}) {
          const PromptOptions o{.modifier = modifier, .examples = examples, .tail = tail};
          const RenderedPrompt native = render_limarp_prompt(chat, o);
          const RenderedPrompt generic = render_with_preset(chat, preset, o);
          ASSERT_EQ(generic.text(), native.text()) << "chat " << compared;
          ASSERT_EQ(generic.segments.size(), native.segments.size());
          for (size_t i = 0; i < native.segments.size(); ++i) {
            EXPECT_EQ(generic.segments[i].kind, native.segments[i].kind);
            EXPECT_EQ(generic.segments[i].text, native.segments[i].text);
            EXPECT_EQ(generic.segments[i].message_index, native.segments[i].message_index);
          }
          ++compared;
        }
      }
    }
  }
  EXPECT_EQ(compared, 6 * 3 * 3 * 2);
}

TEST(InstructRender, LengthModifierEditing) {
  const LengthLevel huge = LengthLevel::kHuge;
  EXPECT_EQ(set_length_modifier("\n### Response: (length = tiny)", &huge), "\n### Response: (length = huge)");
  EXPECT_EQ(set_length_modifier("\n### Response: (length = tiny)", nullptr), "\n### Response:");
  EXPECT_EQ(set_length_modifier("\n### Response:", &huge), "\n### Response:");
  EXPECT_TRUE(has_length_modifier("x (length = a)"));
  EXPECT_FALSE(has_length_modifier("x (length = a"));
}

InstructPreset chatml() {
  InstructPreset p;
  p.name = "ChatML";
  p.input_sequence = "<|im_start|>user";
  p.input_suffix = "<|im_end|>\n";
  p.output_sequence = "<|im_start|>assistant";
  p.output_suffix = "<|im_end|>\n";
  p.system_sequence = "<|im_start|>system";
  p.system_suffix = "<|im_end|>\n";
  p.stop_sequence = "<|im_end|>";
  p.names_behavior = NamesBehavior::kForce;
  return p;
}

const char* kMiraStory =
    "Mira's Persona: A shy librarian.\n"
    "\n"
    "Scenario: A quiet evening at the library.\n"
    "\n"
    "Play the role of Mira. You must engage in a roleplaying chat with Tom below this line. Do not write dialogues "
    "and narration for Tom.";

TEST(InstructRender, ChatMl) {
  const std::string expected = std::string("<|im_start|>system\n") + kMiraStory +
                               "<|im_end|>\n"
                               "<|im_start|>assistant\n"
                               "Oh! We're about to close...<|im_end|>\n"
                               "<|im_start|>user\n"
                               "Just returning a book.<|im_end|>\n"
                               "<|im_start|>assistant\n";
  EXPECT_EQ(render_with_preset(greeting_chat(), chatml()).text(), expected);
}

TEST(InstructRender, PlainAlpacaWithNamesAndSuffixes) {
  InstructPreset p;
  p.input_sequence = "### Instruction:";
  p.output_sequence = "### Response:";
  p.system_sequence = "### Input:";
  p.input_suffix = "\n\n";
  p.output_suffix = "\n\n";
  p.system_suffix = "\n\n";
  p.names_behavior = NamesBehavior::kAlways;
  const std::string expected = std::string("### Input:\n") + kMiraStory +
                               "\n\n"
                               "### Response:\n"
                               "Mira: Oh! We're about to close...\n\n"
                               "### Instruction:\n"
                               "Tom: Just returning a book.\n\n"
                               "### Response:\n"
                               "Mira:";
  EXPECT_EQ(render_with_preset(greeting_chat(), p).text(), expected);
}

TEST(InstructRender, NoWrap) {
  InstructPreset p;
  p.wrap = false;
  p.input_sequence = "[INST] ";
  p.input_suffix = " [/INST]";
  p.output_suffix = "</s>";
  p.names_behavior = NamesBehavior::kNone;
  const std::string expected =
      std::string(kMiraStory) + "Oh! We're about to close...</s>[INST] Just returning a book. [/INST]";
  EXPECT_EQ(render_with_preset(greeting_chat(), p).text(), expected);
}

TEST(InstructRender, FirstLastSequencesAndUserAlignment) {
  InstructPreset p = limarp_alpaca_preset();
  p.first_output_sequence = "\n### Response (first):";
  p.last_input_sequence = "\n### Input (last):";
  p.user_alignment_message = "Let's begin, {{char}}.";
  ChatState c = greeting_chat();
  c.messages.push_back({ChatRole::kChar, "Thanks.", std::nullopt});
  c.messages.push_back({ChatRole::kUser, "Bye.", std::nullopt});
  const RenderedPrompt r = render_with_preset(c, p);
  ASSERT_EQ(r.segments.size(), 6u);
  EXPECT_EQ(r.segments[1].text,
            "\n### Input:\nTom: Let's begin, Mira.\n"
            "\n### Response (first):\nMira: Oh! We're about to close...\n");
  EXPECT_EQ(r.segments[2].text, "\n### Input:\nTom: Just returning a book.\n");
  EXPECT_EQ(r.segments[4].text, "\n### Input (last):\nTom: Bye.\n");
  EXPECT_EQ(r.segments[5].text, "\n### Response: (length = short)\nMira:");
}

TEST(InstructRender, MacrosInSequences) {
  InstructPreset p;
  p.input_sequence = "<{{user}}>";
  p.output_sequence = "<{{name}}>";
  p.names_behavior = NamesBehavior::kNone;
  ChatState c = greeting_chat();
  c.messages.pop_back();
  EXPECT_EQ(render_with_preset(c, p).text(),
            std::string(kMiraStory) + "\n<Mira>\nOh! We're about to close...\n<Mira>\n");
  p.macro = false;
  EXPECT_NE(render_with_preset(c, p).text().find("<{{name}}>"), std::string::npos);
}

TEST(InstructRender, StopStringsLikeSillyTavern) {
  const auto stops = instruct_stop_strings(limarp_alpaca_preset(), aqua_chat());
  EXPECT_EQ(stops, (std::vector<std::string>{"\n### Input:", "\n### Response:", "\n### Response: (length = tiny)",
                                             "\n<<SYSTEM>>"}));
  EXPECT_EQ(instruct_stop_strings(chatml(), aqua_chat()),
            (std::vector<std::string>{"\n<|im_end|>", "\n<|im_start|>user", "\n<|im_start|>assistant",
                                      "\n<|im_start|>system"}));
}

}  // namespace
}  // namespace limarp
