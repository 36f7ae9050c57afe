// CHAT.json: load with field-named errors, save atomically, exact saved text.
#include <gtest/gtest.h>

#include <filesystem>

#include "chat/chat_file.h"
#include "chat_test_util.h"
#include "support/test_support.h"

namespace limarp {
namespace {

std::string error_of(const char* json) {
  auto r = chat_from_json(Json::parse(json), "chat.json");
  return r.ok() ? "(ok)" : r.error().message();
}

TEST(ChatFile, LoadsEveryField) {
  auto r = chat_from_json(Json::parse(R"({
    "char": "Aqua", "user": "Kazuma", "char_persona": "cp", "user_persona": "up", "scenario": "s",
    "examples": "<START>", "length": "long", "extra_key": [1, 2],
    "messages": [{"role": "user", "text": "Hi"}, {"role": "char", "text": "Yo", "length": "tiny"}]})"),
                          "chat.json");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->char_name, "Aqua");
  EXPECT_EQ(r->user_name, "Kazuma");
  EXPECT_EQ(r->char_persona, "cp");
  EXPECT_EQ(r->user_persona, "up");
  EXPECT_EQ(r->scenario, "s");
  EXPECT_EQ(r->examples, "<START>");
  EXPECT_EQ(r->length, LengthLevel::kLong);
  ASSERT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[1], (ChatMessage{ChatRole::kChar, "Yo", LengthLevel::kTiny}));
}

TEST(ChatFile, EverythingIsOptional) {
  auto r = chat_from_json(Json::parse("{}"), "chat.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, ChatState{});
  EXPECT_EQ(r->length, LengthLevel::kMedium);
}

TEST(ChatFile, malformed_fields_are_named) {
  EXPECT_EQ(error_of(R"({"char": 3})"), "chat.json: char must be a string, got 3");
  EXPECT_EQ(error_of(R"({"length": "big"})"),
            "chat.json: length: unknown length \"big\" (expected tiny, short, medium, long, huge, humongous, extreme or "
            "unlimited)");
  EXPECT_EQ(error_of(R"({"length": 2})"), "chat.json: length must be a string, got 2");
  EXPECT_EQ(error_of(R"({"messages": {}})"), "chat.json: messages must be an array, got {}");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "text": "a"}, 7]})"),
            "chat.json: messages[1] must be an object, got 7");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "narrator", "text": "a"}]})"),
            "chat.json: messages[0].role must be \"user\" or \"char\", got \"narrator\"");
  EXPECT_EQ(error_of(R"({"messages": [{"role": 1, "text": "a"}]})"),
            "chat.json: messages[0].role must be \"user\" or \"char\", got 1");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user"}]})"), "chat.json: messages[0].text is missing");
  EXPECT_EQ(error_of(R"({"messages": [{"text": "x"}]})"), "chat.json: messages[0].role is missing");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "char", "text": null, "length": "x"}]})"),
            "chat.json: messages[0].length: unknown length \"x\" (expected tiny, short, medium, long, huge, humongous, "
            "extreme or unlimited)");
  EXPECT_EQ(error_of("[]"), "chat.json: a chat must be a JSON object");
}

TEST(ChatFile, SavesExactlyAndAtomically) {
  ChatState c;
  c.char_name = "Aqua";
  c.user_name = "Kazuma";
  c.length = LengthLevel::kShort;
  c.messages = {{ChatRole::kUser, "Hi \"there\"\n", std::nullopt}, {ChatRole::kChar, "Yo", LengthLevel::kTiny}};
  const std::string expected =
      "{\n"
      "  \"char\": \"Aqua\",\n"
      "  \"user\": \"Kazuma\",\n"
      "  \"char_persona\": \"\",\n"
      "  \"user_persona\": \"\",\n"
      "  \"scenario\": \"\",\n"
      "  \"length\": \"short\",\n"
      "  \"messages\": [\n"
      "    {\n"
      "      \"role\": \"user\",\n"
      "      \"text\": \"Hi \\\"there\\\"\\n\"\n"
      "    },\n"
      "    {\n"
      "      \"role\": \"char\",\n"
      "      \"text\": \"Yo\",\n"
      "      \"length\": \"tiny\"\n"
      "    }\n"
      "  ]\n"
      "}\n";
  EXPECT_EQ(chat_to_json_text(c), expected);
  const std::string dir = testing::scratch_dir("chat_file");
  const std::string path = dir + "/chat.json";
  ASSERT_TRUE(save_chat_file(path, c).ok());
  EXPECT_EQ(testing::read_file(path), expected);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);  // no temporary left behind
  auto back = load_chat_file(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c);
  const ChatState aqua = testing::aqua_chat();
  ASSERT_TRUE(save_chat_file(path, aqua).ok());
  EXPECT_EQ(load_chat_file(path).value(), aqua);
}

TEST(ChatFile, truncated_or_missing_files_are_errors) {
  const std::string dir = testing::scratch_dir("chat_file_bad");
  testing::write_file(dir + "/cut.json", "{\"char\": \"Aq");
  auto cut = load_chat_file(dir + "/cut.json");
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message().find("cut.json: invalid JSON"), std::string::npos);
  EXPECT_FALSE(load_chat_file(dir + "/missing.json").ok());
  EXPECT_FALSE(save_chat_file(dir + "/no/such/dir/chat.json", ChatState{}).ok());
}

}  // namespace
}  // namespace limarp
