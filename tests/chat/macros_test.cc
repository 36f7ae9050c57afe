// Card macros and example dialogue parsing.
#include <gtest/gtest.h>

#include "chat/example_dialogue.h"
#include "chat/macros.h"

namespace limarp {
namespace {

TEST(Macros, SubstitutesAllSpellings) {
  const MacroNames n{"Aqua", "Kazuma"};
  EXPECT_EQ(substitute_macros("{{char}} & {{user}}; {{Char}} {{USER}} <BOT> <user> {{other}} {char}", n),
            "Aqua & Kazuma; Aqua Kazuma Aqua Kazuma {{other}} {char}");
  EXPECT_EQ(substitute_macros("{{char", n), "{{char");
  EXPECT_EQ(substitute_macros("", n), "");
}

TEST(ExampleDialogue, BlocksSpeakersAndContinuationLines) {
  const auto m = parse_example_dialogue(
      "{Example Dialogue:}\n<START>\n{{user}}: Hi\n{{char}}: Hello!\nHow are you?\n\n<start>\nnarration dropped\n"
      "<BOT>: Again.\r\n",
      {"Aqua", "Kazuma"});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].role, ChatRole::kUser);
  EXPECT_EQ(m[0].text, "Hi");
  EXPECT_EQ(m[1].role, ChatRole::kChar);
  EXPECT_EQ(m[1].text, "Hello!\nHow are you?");
  EXPECT_EQ(m[2].text, "Again.");
  EXPECT_TRUE(parse_example_dialogue("", {"A", "B"}).empty());
}

}  // namespace
}  // namespace limarp
