// Character cards: V1/V2/V3 JSON, PNG (tEXt chara / ccv3), mapping into a chat, and hostile
// files. PNG fixtures are built here with this file's own CRC and base64, independent of the
// code under test.
#include <gtest/gtest.h>

#include "base/rng.h"
#include "chat/character_card.h"
#include "chat/limarp_prompt.h"
#include "support/test_support.h"

namespace limarp {
namespace {

// Bitwise CRC-32 (PNG): the reader uses a table; this is the plain definition.
uint32_t crc32_bitwise(const std::string& bytes) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string chunk(const std::string& type, const std::string& data) {
  return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc32_bitwise(type + data));
}

std::string b64(const std::string& in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += a[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += std::string{a[(v >> 18) & 63], a[(v >> 12) & 63]} + "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += std::string{a[(v >> 18) & 63], a[(v >> 12) & 63], a[(v >> 6) & 63]} + "=";
  }
  return out;
}

const std::string kSignature = "\x89PNG\r\n\x1a\n";

// A 1x1 PNG (IHDR, IDAT, IEND) with the given extra chunks before IDAT.
std::string png_with(const std::vector<std::string>& extra) {
  std::string ihdr = be32(1) + be32(1) + std::string("\x08\x06\x00\x00\x00", 5);
  std::string out = kSignature + chunk("IHDR", ihdr);
  for (const auto& e : extra) out += e;
  out += chunk("IDAT", std::string("\x78\x9c\x63\x60\x00\x00\x00\x02\x00\x01", 10));
  out += chunk("IEND", "");
  return out;
}

std::string text_chunk(const std::string& keyword, const std::string& text) {
  return chunk("tEXt", keyword + std::string(1, '\0') + text);
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

const char* kV2 = R"({"spec": "chara_card_v2", "spec_version": "2.0", "data": {
  "name": "Aqua", "description": "{{char}} is a goddess of water.", "personality": "cheerful, vain",
  "scenario": "{{char}} meets <USER> at the guild.", "first_mes": "*waves* Hi, {{user}}!",
  "mes_example": "<START>\n{{user}}: Heal me.\n{{char}}: Fine.",
  "alternate_greetings": ["Hello again, {{user}}."], "tags": ["fantasy"], "creator": "someone",
  "system_prompt": "ignored", "post_history_instructions": "ignored", "extensions": {}}})";

TEST(CharacterCard, V2JsonMapsIntoTheChat) {
  auto card = parse_character_card_text(kV2, "aqua.json");
  ASSERT_TRUE(card.ok()) << card.error().message();
  EXPECT_EQ(card->spec, CardSpec::kV2);
  EXPECT_EQ(card->name, "Aqua");
  EXPECT_EQ(card->alternate_greetings.size(), 1u);
  EXPECT_EQ(card->tags, (std::vector<std::string>{"fantasy"}));

  const ChatState chat = chat_from_card(*card, {.user_name = "Kazuma", .user_persona = "A NEET."});
  EXPECT_EQ(chat.char_name, "Aqua");
  EXPECT_EQ(chat.user_name, "Kazuma");
  EXPECT_EQ(chat.char_persona, "Aqua is a goddess of water.\nPersonality: cheerful, vain");
  EXPECT_EQ(chat.scenario, "Aqua meets Kazuma at the guild.");
  ASSERT_EQ(chat.messages.size(), 1u);
  EXPECT_EQ(chat.messages[0].role, ChatRole::kChar);
  EXPECT_EQ(chat.messages[0].text, "*waves* Hi, Kazuma!");
  EXPECT_EQ(chat.examples, "<START>\n{{user}}: Heal me.\n{{char}}: Fine.");

  const std::string expected =
      "### Instruction:\n"
      "Aqua's Persona: Aqua is a goddess of water.\n"
      "Personality: cheerful, vain\n"
      "\n"
      "Kazuma's Persona: A NEET.\n"
      "\n"
      "Scenario: Aqua meets Kazuma at the guild.\n"
      "\n"
      "Play the role of Aqua. You must engage in a roleplaying chat with Kazuma below this line. Do not write "
      "dialogues and narration for Kazuma.\n"
      "\n"
      "### Input:\n"
      "Kazuma: Heal me.\n"
      "\n"
      "### Response:\n"
      "Aqua: Fine.\n"
      "\n"
      "### Response:\n"
      "Aqua: *waves* Hi, Kazuma!\n"
      "\n"
      "### Response: (length = medium)\n"
      "Aqua:";
  EXPECT_EQ(render_limarp_prompt(chat).text(), expected);

  CardChatOptions alt_options;
  alt_options.user_name = "Kazuma";
  alt_options.greeting = 1;
  EXPECT_EQ(chat_from_card(*card, alt_options).messages[0].text, "Hello again, Kazuma.");
  CardChatOptions out_of_range;
  out_of_range.greeting = 9;
  EXPECT_EQ(chat_from_card(*card, out_of_range).messages[0].text, "*waves* Hi, User!");
}

TEST(CharacterCard, V1AndV3) {
  auto v1 = parse_character_card_text(R"({"name": "Rin", "description": "A cat.", "first_mes": "Meow."})", "rin.json");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->spec, CardSpec::kV1);
  EXPECT_EQ(chat_from_card(*v1).char_persona, "A cat.");
  auto v3 = parse_character_card_text(
      R"({"spec": "chara_card_v3", "spec_version": "3.0", "data": {"name": "Io", "nickname": "I", "description": "d",
          "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}]}})",
      "io.json");
  ASSERT_TRUE(v3.ok()) << v3.error().message();
  EXPECT_EQ(v3->spec, CardSpec::kV3);
  EXPECT_EQ(v3->nickname, "I");
}

TEST(CharacterCard, MergeKeepsTheChatsOwnValues) {
  auto card = parse_character_card_text(kV2, "aqua.json");
  ASSERT_TRUE(card.ok());
  ChatState chat;
  chat.user_name = "Kazuma";
  chat.scenario = "My own scenario.";
  chat.messages = {{ChatRole::kUser, "Hi", std::nullopt}};
  merge_card_into_chat(*card, chat);
  EXPECT_EQ(chat.char_name, "Aqua");
  EXPECT_EQ(chat.scenario, "My own scenario.");
  EXPECT_EQ(chat.messages.size(), 1u);  // no greeting added to a chat in progress
}

TEST(CharacterCard, PngCharaChunk) {
  const std::string png = png_with({text_chunk("chara", b64(kV2))});
  auto card = read_character_card_png(bytes_of(png), "aqua.png");
  ASSERT_TRUE(card.ok()) << card.error().message();
  EXPECT_EQ(card->name, "Aqua");
  // Through a file, told apart from JSON by the signature.
  const std::string dir = testing::scratch_dir("card_png");
  testing::write_file(dir + "/aqua.png", png);
  testing::write_file(dir + "/aqua.json", kV2);
  EXPECT_EQ(load_character_card(dir + "/aqua.png").value().name, "Aqua");
  EXPECT_EQ(load_character_card(dir + "/aqua.json").value().name, "Aqua");
}

TEST(CharacterCard, PngCcv3Wins) {
  const std::string v3 = R"({"spec": "chara_card_v3", "spec_version": "3.0", "data": {"name": "Aqua V3"}})";
  const std::string png = png_with({text_chunk("chara", b64(kV2)), text_chunk("ccv3", b64(v3))});
  auto card = read_character_card_png(bytes_of(png), "aqua.png");
  ASSERT_TRUE(card.ok()) << card.error().message();
  EXPECT_EQ(card->name, "Aqua V3");
  EXPECT_EQ(card->spec, CardSpec::kV3);
}

TEST(CharacterCard, PngUncompressedItxt) {
  const std::string data = std::string("chara") + '\0' + '\0' + '\0' + "en" + '\0' + '\0' + b64(kV2);
  auto card = read_character_card_png(bytes_of(png_with({chunk("iTXt", data)})), "aqua.png");
  ASSERT_TRUE(card.ok()) << card.error().message();
  EXPECT_EQ(card->name, "Aqua");
}

TEST(CharacterCard, malformed_json_fields_are_named) {
  EXPECT_EQ(parse_character_card_text(R"({"spec": "chara_card_v2", "data": {"name": 5}})", "c.json").error().message(),
            "c.json: data.name must be a string, got 5");
  EXPECT_EQ(parse_character_card_text(R"({"spec": "chara_card_v2", "data": {"name": "A", "alternate_greetings": [1]}})",
                                      "c.json")
                .error()
                .message(),
            "c.json: data.alternate_greetings[0] must be a string");
  EXPECT_EQ(parse_character_card_text(R"({"spec": "chara_card_v2"})", "c.json").error().message(),
            "c.json: a chara_card_v2 card needs a \"data\" object");
  EXPECT_EQ(parse_character_card_text(R"({"spec": "chara_card_v9", "data": {}})", "c.json").error().message(),
            "c.json: unknown card spec \"chara_card_v9\" (expected chara_card_v2 or chara_card_v3)");
  EXPECT_EQ(parse_character_card_text(R"({"spec": "chara_card_v2", "data": {"description": "x"}})", "c.json")
                .error()
                .message(),
            "c.json: data.name is missing or empty");
  EXPECT_EQ(parse_character_card_text(R"({"hello": 1})", "c.json").error().message(),
            "c.json: not a character card (no spec, and no name/description/first_mes)");
  EXPECT_FALSE(parse_character_card_text("[1, 2]", "c.json").ok());
  EXPECT_FALSE(parse_character_card_text(R"({"name": "A", "description": )", "c.json").ok());
  // Nesting past the limit is refused before parsing.
  EXPECT_FALSE(parse_character_card_text(std::string(500, '[') + std::string(500, ']'), "deep.json").ok());
}

TEST(CharacterCard, malformed_png_payloads) {
  auto bad_b64 = read_character_card_png(bytes_of(png_with({text_chunk("chara", "not base64!")})), "x.png");
  ASSERT_FALSE(bad_b64.ok());
  EXPECT_NE(bad_b64.error().message().find("x.png (chara chunk): base64: invalid character"), std::string::npos);
  auto bad_json = read_character_card_png(bytes_of(png_with({text_chunk("chara", b64("{oops"))})), "x.png");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.error().message().find("invalid JSON"), std::string::npos);
  auto none = read_character_card_png(bytes_of(png_with({text_chunk("Comment", "hi")})), "x.png");
  EXPECT_EQ(none.error().message(), "x.png: this PNG holds no character card (no \"chara\" or \"ccv3\" text chunk)");
  const std::string ztxt = std::string("chara") + '\0' + '\0' + "\x78\x9c";
  auto compressed = read_character_card_png(bytes_of(png_with({chunk("zTXt", ztxt)})), "x.png");
  EXPECT_NE(compressed.error().message().find("zlib-compressed"), std::string::npos);
  EXPECT_EQ(read_character_card_png(bytes_of(std::string("GIF89a...")), "x.png").error().message(),
            "x.png: not a PNG file (bad signature)");
}

TEST(CharacterCard, hostile_chunk_headers) {
  // A length far past the end of the file.
  std::string huge = kSignature + be32(0x7ffffff0u) + "tEXt" + "abc";
  auto r = read_character_card_png(bytes_of(huge), "x.png");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("truncated chunk 0"), std::string::npos);
  // Over PNG's 2^31 - 1 limit.
  std::string over = kSignature + be32(0xffffffffu) + "tEXt";
  EXPECT_NE(read_character_card_png(bytes_of(over), "x.png").error().message().find("over the PNG limit"),
            std::string::npos);
  // A bad CRC.
  std::string png = png_with({text_chunk("chara", b64(kV2))});
  const size_t text_at = png.find("tEXt");
  png[text_at + 10] ^= 0x01;
  EXPECT_NE(read_character_card_png(bytes_of(png), "x.png").error().message().find("fails its CRC check"),
            std::string::npos);
  // A chunk type that is not letters.
  std::string bad_type = kSignature + chunk("I\x01" "DR", "");
  EXPECT_NE(read_character_card_png(bytes_of(bad_type), "x.png").error().message().find("invalid type"),
            std::string::npos);
  // A text chunk without a keyword terminator.
  auto no_keyword = read_character_card_png(bytes_of(png_with({chunk("tEXt", "charaXXXX")})), "x.png");
  EXPECT_NE(no_keyword.error().message().find("no valid keyword"), std::string::npos);
}

TEST(CharacterCard, truncated_at_every_length) {
  const std::string png = png_with({text_chunk("chara", b64(kV2))});
  for (size_t n = 0; n < png.size(); ++n) {
    auto r = read_character_card_png(bytes_of(png.substr(0, n)), "cut.png");
    EXPECT_FALSE(r.ok()) << "accepted a file cut at " << n << " of " << png.size();
  }
  EXPECT_TRUE(read_character_card_png(bytes_of(png), "whole.png").ok());
}

TEST(CharacterCard, mutated_bytes_never_crash) {
  const std::string png = png_with({text_chunk("chara", b64(kV2))});
  Rng rng(2024);
  int accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string m = png;
    const int flips = 1 + static_cast<int>(rng.next_u64() % 4);
    for (int f = 0; f < flips; ++f) m[rng.next_u64() % m.size()] = static_cast<char>(rng.next_u64());
    auto r = read_character_card_png(bytes_of(m), "mutant.png");
    accepted += r.ok();  // a flip in IDAT's payload is caught by its CRC; anything may pass or fail, never crash
  }
  EXPECT_LT(accepted, 3000);
}

}  // namespace
}  // namespace limarp
