// SillyTavern character cards ("Tavern cards"): V1 (flat JSON), V2 (chara_card_v2) and V3
// (chara_card_v3), as JSON files or inside PNG images (tEXt "chara" = base64 JSON; a "ccv3"
// chunk, when present, wins).
//
//   LIMARP_ASSIGN_OR_RETURN(CharacterCard card, load_character_card("Aqua.png"));
//   ChatState chat = chat_from_card(card, {.user_name = "Kazuma"});
//
// Mapping to the LimaRP prompt: name → char name; description, then personality on a line of
// its own as "Personality: ..." → char persona; scenario → scenario; first_mes (or an
// alternate greeting) → the first char message; mes_example → the chat's example dialogue.
// {{char}} / {{user}} / <BOT> / <USER> are substituted with the names. system_prompt,
// post_history_instructions, creator_notes and the rest are kept on the card but not rendered:
// the LimaRP format has no place for them.
// Untrusted input: sizes and nesting are capped, and every failure says which file, which
// chunk or which field.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_util.h"
#include "base/status.h"
#include "chat/chat_state.h"

namespace limarp {

enum class CardSpec { kV1, kV2, kV3 };
const char* card_spec_name(CardSpec spec);  // "v1" | "v2" | "v3"

struct CharacterCard {
  CardSpec spec = CardSpec::kV2;
  std::string name;
  std::string description;
  std::string personality;
  std::string scenario;
  std::string first_mes;
  std::string mes_example;
  std::string creator_notes;
  std::string system_prompt;
  std::string post_history_instructions;
  std::vector<std::string> alternate_greetings;
  std::vector<std::string> tags;
  std::string creator;
  std::string character_version;
  std::string nickname;  // V3
  Json raw;              // the whole card as read
};

Result<CharacterCard> parse_character_card(const Json& json, std::string_view source);
Result<CharacterCard> parse_character_card_text(std::string_view json_text, std::string_view source);
Result<CharacterCard> read_character_card_png(std::span<const uint8_t> bytes, std::string_view source);
// PNG or JSON, told apart by the PNG signature.
Result<CharacterCard> load_character_card(const std::string& path);

struct CardChatOptions {
  std::string user_name;     // empty: "User"
  std::string user_persona;
  LengthLevel length = kDefaultLengthLevel;
  // 0: first_mes; i >= 1: alternate_greetings[i - 1]. Out of range falls back to first_mes.
  size_t greeting = 0;
};
ChatState chat_from_card(const CharacterCard& card, const CardChatOptions& options = {});

// Fills the character side of `chat` from the card where the chat leaves it empty (name,
// persona, scenario, examples), and adds the greeting when the chat has no messages. The chat's
// own values win: a saved chat keeps its edits.
void merge_card_into_chat(const CharacterCard& card, ChatState& chat, size_t greeting = 0);

}  // namespace limarp
