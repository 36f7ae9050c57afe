// OpenAI chat messages to a LimaRP conversation: names, system paragraphs routed to persona
// and scenario, name prefixes removed, continuing a final assistant message, and errors that
// name the field.
#include <gtest/gtest.h>

#include "chat/limarp_prompt.h"
#include "server/chat_messages.h"

namespace limarp::server {
namespace {

Json body(const char* text) { return Json::parse(text); }

TEST(ChatMessages, SystemParagraphsFillTheInstructionBlock) {
  auto r = chat_from_messages(body(R"({
    "messages": [
      {"role": "system", "content": "### Instruction:\nAqua's Persona: A goddess of water.\n\nKazuma's Persona: A NEET.\n\nScenario: The guild hall.\n\nPlay the role of Aqua. You must engage..."},
      {"role": "user", "name": "Kazuma", "content": "We need a quest."},
      {"role": "assistant", "content": "Aqua: *slams the table* Then pick one!"},
      {"role": "user", "name": "Kazuma", "content": "Fine."}
    ],
    "length": "long", "temperature": 0.7, "unknown_key": {"deep": [1, 2]}})"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  const ChatState& c = r->chat;
  EXPECT_EQ(c.char_name, "Aqua");
  EXPECT_EQ(c.user_name, "Kazuma");
  EXPECT_EQ(c.char_persona, "A goddess of water.");
  EXPECT_EQ(c.user_persona, "A NEET.");
  EXPECT_EQ(c.scenario, "The guild hall.");
  EXPECT_EQ(c.length, LengthLevel::kLong);
  ASSERT_EQ(c.messages.size(), 3u);
  EXPECT_EQ(c.messages[1].text, "*slams the table* Then pick one!");
  EXPECT_EQ(r->tail, PromptTail::kOpenResponse);
  const std::string prompt = render_limarp_prompt(c).text();
  EXPECT_NE(prompt.find("### Instruction:\nAqua's Persona: A goddess of water.\n\nKazuma's Persona: A NEET.\n\nScenario: The guild hall."),
            std::string::npos)
      << prompt;
  EXPECT_TRUE(prompt.ends_with("### Response: (length = long)\nAqua:")) << prompt;
}

TEST(ChatMessages, ExplicitKeysWinAndUnlabelledSystemTextIsThePersona) {
  auto r = chat_from_messages(body(R"({
    "messages": [{"role": "developer", "content": "A cheerful knight."},
                 {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "there"}]}],
    "char_name": "Darkness", "user_name": "Kazuma", "scenario": "A field."})"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->chat.char_persona, "A cheerful knight.");
  EXPECT_EQ(r->chat.scenario, "A field.");
  EXPECT_EQ(r->chat.messages[0].text, "Hello\nthere");
  EXPECT_EQ(r->chat.char_name, "Darkness");
}

TEST(ChatMessages, AFinalAssistantMessageIsContinuedAndAnEmptyOneDropped) {
  auto cont = chat_from_messages(body(R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Well,"}]})"));
  ASSERT_TRUE(cont.ok());
  EXPECT_EQ(cont->tail, PromptTail::kContinueLast);
  auto fresh = chat_from_messages(body(R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]})"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->tail, PromptTail::kOpenResponse);
  EXPECT_EQ(fresh->chat.messages.size(), 1u);
}

TEST(ChatMessagesMalformed, WrongTypesNameTheField) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"({})", "messages is required"},
      {R"({"messages": "hi"})", "messages must be a non-empty array"},
      {R"({"messages": []})", "messages must be a non-empty array"},
      {R"({"messages": [5]})", "messages[0] must be an object"},
      {R"({"messages": [{"role": 1}]})", "messages[0].role must be a string"},
      {R"({"messages": [{"role": "narrator", "content": "x"}]})", "messages[0].role must be one of"},
      {R"({"messages": [{"role": "user", "content": 7}]})", "messages[0].content must be a string"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content[0]"},
      // A "type" that is a number once escaped as a JSON type error and aborted the server.
      {R"({"messages": [{"role": "user", "content": [{"type": 5, "text": "x"}]}]})", "messages[0].content[0]"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]})", "messages[0].content[0]"},
      {R"({"messages": [{"role": "user", "content": ["x"]}]})", "messages[0].content[0]"},
      {R"({"messages": [{"role": "user", "content": "x", "name": 3}]})", "messages[0].name must be a string"},
      {R"({"messages": [{"role": "user", "content": "x"}], "length": "gigantic"})", "length:"},
      {R"({"messages": [{"role": "user", "content": "x"}], "char_name": 5})", "char_name must be a string"},
  };
  for (const auto& [text, want] : cases) {
    auto r = chat_from_messages(body(text));
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message().find(want), std::string::npos) << text << " -> " << r.error().message();
  }
}

}  // namespace
}  // namespace limarp::server
